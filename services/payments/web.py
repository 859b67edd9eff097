"""HTTP handlers of the payments service: position search, position page, recording payments."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contracts import PaymentReceived
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.logs import correlation_var
from services.kernel.web import ctx, is_htmx, page, require_role, templates_for
from services.payments import domain, repository

templates = templates_for(Path(__file__).parent)
templates.env.filters["balance_status"] = lambda p: domain.balance_status(p.amount_cents, p.paid_cents)
ROME = ZoneInfo("Europe/Rome")
WEB_ROLES = ("operator", "supervisor", "platform_admin")
PAGE_SIZE = 25


def _uow(request: Request, ident: Identity) -> UnitOfWork:
    return ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "")


def _position_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["position_id"])
    except ValueError:
        raise NotFound() from None


def _page_no(raw: str | None) -> int:
    try:
        return max(int(raw or "1"), 1)
    except ValueError:
        return 1


async def search(request: Request) -> Response:
    ident = require_role(request, *WEB_ROLES)
    query = request.query_params.get("q", "")[:100]
    page_no = _page_no(request.query_params.get("page"))
    async with _uow(request, ident) as uow:
        rows = await repository.search_positions(
            uow, ident.tenant_id, query, PAGE_SIZE + 1, (page_no - 1) * PAGE_SIZE
        )
        if rows:
            detail = f"q={query} page={page_no}"
            await repository.access.record(
                uow, ident.tenant_id, ident.user_id, "search_positions", None, detail
            )
            await uow.commit()
    context = {"q": query, "rows": rows[:PAGE_SIZE], "page_no": page_no, "has_next": len(rows) > PAGE_SIZE}
    return page(templates, request, "search.html", context, block="results")


async def position_page(request: Request) -> Response:
    ident = require_role(request, *WEB_ROLES)
    position_id = _position_id(request)
    async with _uow(request, ident) as uow:
        position = await repository.get_position(uow, ident.tenant_id, position_id)
        if position is None:
            raise NotFound()
        history = await repository.payments_of(uow, ident.tenant_id, position_id)
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_position", position_id)
        await uow.commit()
    context = {
        "position": position,
        "history": history,
        "residual": domain.residual_cents(position.amount_cents, position.paid_cents),
        "recorded": request.query_params.get("registrato") == "1",
        # One key per rendered form: submitting the same form twice records one payment.
        "idempotency_key": uuid.uuid4().hex,
    }
    return page(templates, request, "position.html", context)


async def record_payment(
    uow: UnitOfWork,
    ident: Identity,
    position_id: uuid.UUID,
    amount: object,
    paid_on: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Validate and store a payment, update the balance and publish `PaymentReceived`, in one transaction.

    With an idempotency key, a repeated request (a client retry, a double-submitted form) returns
    the payment already recorded instead of recording it twice.
    """
    position = await repository.get_position(uow, ident.tenant_id, position_id)
    if position is None:
        raise NotFound()
    key = domain.check_idempotency_key(idempotency_key)
    if key is not None and (previous := await repository.payment_by_key(uow, ident.tenant_id, key)):
        return _replayed(previous, position, position_id)
    today = datetime.now(ROME).date()
    payment = domain.validate_payment(amount, paid_on, position.amount_cents, position.paid_cents, today)
    updated = await repository.add_to_paid(uow, ident.tenant_id, position_id, payment.amount_cents)
    if updated is None:
        await _explain_refused(uow, ident, position_id, payment.amount_cents, amount)
    payment_id = await repository.insert_payment(
        uow,
        ident.tenant_id,
        position_id,
        position.debtor_id,
        payment.amount_cents,
        payment.paid_on,
        ident.user_id,
        key,
    )
    if payment_id is None:  # a concurrent request with the same key committed first
        raise Conflict("Questo pagamento è già stato registrato.")
    event = PaymentReceived(
        payment_id=str(payment_id),
        position_id=str(position_id),
        debtor_id=str(position.debtor_id),
        amount_cents=payment.amount_cents,
        paid_on=payment.paid_on.isoformat(),
        recorded_by=ident.user_id,
    )
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    return {
        "payment_id": str(payment_id),
        "position_id": str(position_id),
        "amount_cents": payment.amount_cents,
        "paid_on": payment.paid_on.isoformat(),
        "paid_cents": updated.paid_cents,
        "residual_cents": domain.residual_cents(updated.amount_cents, updated.paid_cents),
    }


def _replayed(previous: Any, position: Any, position_id: uuid.UUID) -> dict[str, Any]:
    if previous.position_id != position_id:
        raise Conflict("La chiave di idempotenza è già stata usata per un altro pagamento.")
    return {
        "payment_id": str(previous.id),
        "position_id": str(position_id),
        "amount_cents": previous.amount_cents,
        "paid_on": previous.paid_on.isoformat(),
        "paid_cents": position.paid_cents,
        "residual_cents": domain.residual_cents(position.amount_cents, position.paid_cents),
        "replayed": True,
    }


async def _explain_refused(
    uow: UnitOfWork, ident: Identity, position_id: uuid.UUID, amount_cents: int, amount: object
) -> NoReturn:
    """A concurrent payment got in first: report the residual as it is now."""
    current = await repository.get_position(uow, ident.tenant_id, position_id)
    if current is None:
        raise NotFound()
    field = "amount" if isinstance(amount, str) else "amount_cents"
    domain.check_amount(amount_cents, current.amount_cents, current.paid_cents, field)
    raise Conflict("Il saldo della posizione è cambiato: riprova.")


async def record_payment_web(request: Request) -> Response:
    ident = require_role(request, *WEB_ROLES)
    position_id = _position_id(request)
    form = await request.form()
    async with _uow(request, ident) as uow:
        await record_payment(
            uow,
            ident,
            position_id,
            str(form.get("amount", "")),
            str(form.get("paid_on", "")),
            str(form.get("idempotency_key", "")) or None,
        )
        await uow.commit()
    url = f"/t/{ident.tenant_slug}/payments/positions/{position_id}?registrato=1"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def record_payment_api(request: Request) -> Response:
    ident = require_role(request, "api")
    position_id = _position_id(request)
    body = await _json_object(request)
    paid_on = body.get("paid_on")
    if not isinstance(paid_on, str):
        raise DomainError("Indica la data del pagamento (aaaa-mm-gg).", field="paid_on")
    async with _uow(request, ident) as uow:
        result = await record_payment(
            uow, ident, position_id, body.get("amount_cents"), paid_on, request.headers.get("idempotency-key")
        )
        await uow.commit()
    return JSONResponse(result, status_code=200 if result.get("replayed") else 201)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise DomainError("Il corpo della richiesta non è un JSON valido.") from None
    if not isinstance(body, dict):
        raise DomainError("Il corpo della richiesta deve essere un oggetto JSON.")
    return body


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/payments"
    return [
        Route(f"{prefix}/", search, methods=["GET"]),
        Route(f"{prefix}/positions/{{position_id}}", position_page, methods=["GET"]),
        Route(f"{prefix}/positions/{{position_id}}/payments", record_payment_web, methods=["POST"]),
        Route("/api/v1/payments/positions/{position_id}/payments", record_payment_api, methods=["POST"]),
    ]
