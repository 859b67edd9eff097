"""HTTP handlers of the contact service: work queue, next debtor, debtor card, outcomes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contact import domain, repository
from services.contracts import OutcomeRecorded
from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.logs import correlation_var
from services.kernel.web import ctx, is_htmx, page, require_role, templates_for, tenant_id

templates = templates_for(Path(__file__).parent)
templates.env.globals["status_labels"] = domain.STATUS_LABELS
templates.env.globals["outcome_labels"] = domain.OUTCOME_LABELS
templates.env.globals["contact_kind_labels"] = domain.CONTACT_KIND_LABELS
templates.env.globals["source_labels"] = domain.SOURCE_LABELS
templates.env.tests["e164"] = domain.is_e164
ROLES = ("operator", "supervisor", "platform_admin")
SUPERVISORS = ("supervisor", "platform_admin")
PAGE_SIZE = 25


def _day(value: date | datetime | None) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(domain.ROME).date()
    return value.strftime("%d/%m/%Y") if value else ""


templates.env.filters["day"] = _day


def _base(request: Request) -> str:
    return f"/t/{request.path_params['tenant']}/contact"


def _debtor_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["debtor_id"])
    except ValueError:
        raise NotFound() from None


def _uow(request: Request) -> UnitOfWork:
    return ctx(request).db.unit_of_work(tenant_id(request), correlation_var.get() or "")


def _redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def work_queue(request: Request) -> Response:
    require_role(request, *ROLES)
    status = request.query_params.get("status") or None
    if status not in (None, *domain.STATUS_LABELS):
        status = None
    page_no = domain.parse_page(request.query_params.get("page"))
    tid = tenant_id(request)
    async with _uow(request) as uow:
        counts = await repository.status_counts(uow, tid)
        rows = await repository.list_debtors(
            uow, tid, status, PAGE_SIZE + 1, domain.page_offset(page_no, PAGE_SIZE)
        )
    context = {
        "counts": counts,
        "debtors": rows[:PAGE_SIZE],
        "status": status,
        "page_no": page_no,
        "has_next": len(rows) > PAGE_SIZE,
        "empty": request.query_params.get("vuota") == "1",
    }
    return page(templates, request, "queue.html", context, block="debtor_list")


async def next_debtor(request: Request) -> Response:
    ident = require_role(request, *ROLES)
    async with _uow(request) as uow:
        debtor_id = await repository.take_next(uow, ident.tenant_id, ident.user_id)
        await uow.commit()
    if debtor_id is None:
        if is_htmx(request):
            return page(templates, request, "queue.html", {"empty": True}, block="next_result")
        return RedirectResponse(f"{_base(request)}/?vuota=1", status_code=303)
    return _redirect(request, f"{_base(request)}/debtors/{debtor_id}")


async def debtor_card(request: Request) -> Response:
    ident = require_role(request, *ROLES)
    debtor_id = _debtor_id(request)
    async with _uow(request) as uow:
        debtor = await repository.get_debtor(uow, ident.tenant_id, debtor_id)
        if debtor is None:
            raise NotFound()
        positions = await repository.debtor_positions_of(uow, ident.tenant_id, debtor_id)
        history = await repository.contact_history(uow, ident.tenant_id, debtor_id)
        reachable = await repository.active_contacts(uow, ident.tenant_id, debtor_id)
        await repository.log_access(uow, ident.tenant_id, ident.user_id, debtor_id, "view_card")
        await uow.commit()
    context = {
        "debtor": debtor,
        "positions": positions,
        "history": history,
        "reachable": reachable,
        "recorded": request.query_params.get("registrato") == "1",
    }
    return page(templates, request, "debtor.html", context)


async def record_outcome(request: Request) -> Response:
    ident = require_role(request, *ROLES)
    debtor_id = _debtor_id(request)
    form = await request.form()
    now = datetime.now(UTC)
    decision = domain.decide_outcome(
        domain.parse_outcome(str(form.get("outcome", ""))),
        str(form.get("note", "")),
        domain.parse_callback(str(form.get("callback_at", ""))),
        now,
    )
    async with _uow(request) as uow:
        debtor = await repository.get_debtor(uow, ident.tenant_id, debtor_id, lock=True)
        if debtor is None:
            raise NotFound()
        domain.check_can_record(
            debtor.assigned_to, debtor.locked_until, ident.user_id, now, ident.has_role(*SUPERVISORS)
        )
        contact_id = await repository.record_outcome(
            uow, ident.tenant_id, debtor_id, ident.user_id, decision, now
        )
        event = OutcomeRecorded(
            contact_id=str(contact_id),
            debtor_id=str(debtor_id),
            outcome=decision.outcome.value,
            operator=ident.user_id,
            recorded_at=now.isoformat(),
        )
        await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
        await uow.commit()
    return _redirect(request, f"{_base(request)}/debtors/{debtor_id}?registrato=1")


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/contact"
    return [
        Route(f"{prefix}/", work_queue, methods=["GET"]),
        Route(f"{prefix}/next", next_debtor, methods=["POST"]),
        Route(f"{prefix}/debtors/{{debtor_id}}", debtor_card, methods=["GET"]),
        Route(f"{prefix}/debtors/{{debtor_id}}/outcomes", record_outcome, methods=["POST"]),
    ]
