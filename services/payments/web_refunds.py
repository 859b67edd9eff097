"""Refunds: the Comune's administrator (or the firm's admin) records that part or all of a payment
was given back; the page lists a position's payments with what each may still be refunded."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import endpoint, is_htmx, page
from services.payments import handlers_refunds
from services.payments.web import ROME, templates

REFUND_ROLES = ("comune_admin", "platform_admin")
FIELDS = ("amount", "refunded_on", "reason", "idempotency_key")


def _uuid(request: Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise NotFound() from None


async def _context(uow: UnitOfWork, ident: Identity, position_id: uuid.UUID) -> dict[str, Any]:
    view = await handlers_refunds.refunds_view(uow, ident, position_id)
    return {
        "position": view.position,
        "residual": view.residual_cents,
        "lines": view.payments,
        "refunds": view.refunds,
        "idempotency_key": uuid.uuid4().hex,
        "errors": {},
        "typed": {},
    }


@endpoint(*REFUND_ROLES)
async def refunds_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    context = await _context(uow, ident, _uuid(request, "position_id"))
    context["refunded"] = request.query_params.get("rimborsato") == "1"
    return page(templates, request, "refunds.html", context)


@endpoint(*REFUND_ROLES)
async def record_refund(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """A refund cannot be undone: the form's first sending shows what it will do and asks to
    confirm it (`conferma=1` records it, `modifica=1` brings the form back as typed)."""
    payment_id = _uuid(request, "payment_id")
    async with request.form(max_fields=12) as form:
        values = {k: str(form.get(k, "")) for k in FIELDS}
        step = "record" if form.get("conferma") == "1" else "edit" if form.get("modifica") == "1" else "check"
    today = datetime.now(ROME).date()
    try:
        if step == "edit":
            return await _form_again(request, ident, uow, payment_id, values, {})
        if step == "check":
            preview = await handlers_refunds.preview_refund(uow, ident, payment_id, values, today)
            context = {"preview": preview, "typed": values, "position": preview.view.position}
            return page(templates, request, "refund_confirm.html", context)
        done = await handlers_refunds.record_refund(uow, ident, payment_id, values, today)
    except DomainError as problem:
        if problem.status != 400 or not problem.field:
            raise
        # Shown at its field in the payment's form, with what was typed; nothing was written.
        errors = {problem.field: problem.message}
        return await _form_again(request, ident, uow, payment_id, values, errors, status=400)
    url = f"/t/{ident.tenant_slug}/payments/positions/{done['position_id']}/rimborsi?rimborsato=1"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _form_again(
    request: Request,
    ident: Identity,
    uow: UnitOfWork,
    payment_id: uuid.UUID,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    """The position's refunds page with the payment's form as typed (and its error, if any)."""
    position_id = await handlers_refunds.position_of(uow, ident, payment_id)
    context = await _context(uow, ident, position_id)
    context.update(errors=errors, typed={"payment_id": payment_id, **values})
    return page(templates, request, "refunds.html", context, status_code=status)


@endpoint(*REFUND_ROLES)
async def refund_form_again(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The address a refused form (sent without HTMX) leaves in the browser: reloading it opens the
    payment's position's refunds again instead of a 405."""
    position_id = await handlers_refunds.position_of(uow, ident, _uuid(request, "payment_id"))
    return RedirectResponse(
        f"/t/{ident.tenant_slug}/payments/positions/{position_id}/rimborsi", status_code=303
    )


@endpoint(*REFUND_ROLES)
async def not_owed_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The positions holding the debtors' money that they are not owed, each with its refunds."""
    found, receipts = await handlers_refunds.money_not_owed_list(uow, ident)
    context = {
        "found": found,
        "total": sum(f.cents for f in found),
        "receipts": receipts,
        "receipts_open": sum(r.not_owed_cents for r in receipts if r.status == "open"),
        "limit": handlers_refunds.NOT_OWED_LIMIT,
    }
    return page(templates, request, "not_owed.html", context)


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/payments"
    return [
        Route(f"{prefix}/rimborsi", not_owed_page, methods=["GET"]),
        Route(f"{prefix}/positions/{{position_id}}/rimborsi", refunds_page, methods=["GET"]),
        Route(f"{prefix}/payments/{{payment_id}}/rimborsi", record_refund, methods=["POST"]),
        Route(f"{prefix}/payments/{{payment_id}}/rimborsi", refund_form_again, methods=["GET"]),
    ]
