"""Views of the payments service: position search, position page, recording payments."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contracts import REVENUE_TYPES
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import (
    MAX_PAGE,
    AfterCommit,
    endpoint,
    is_htmx,
    json_object,
    page,
    query_int,
    templates_for,
)
from services.payments import (
    domain,
    handlers,
    handlers_delivery,
    handlers_notices,
    handlers_plans,
    handlers_positions,
    handlers_rules,
    pdf_notice,
)
from services.payments.domain_notices import is_valid_notice_number, printed
from services.payments.domain_plans import CDS_INCOME_LIMIT_CENTS, CDS_INCOME_PER_MEMBER_CENTS, bands_json
from services.payments.domain_simulation import (
    plan_id_of,
    position_ids_of,
    read_plan_request,
    read_rule_set,
    read_simulation,
    schedule_json,
)
from services.payments.roles import READ_ROLES, WEB_ROLES

templates = templates_for(Path(__file__).parent)
ROME = ZoneInfo("Europe/Rome")
templates.env.filters["balance_status"] = lambda p: domain.balance_status(
    p.amount_cents, p.paid_cents, getattr(p, "state", "open")
)
templates.env.filters["recorder"] = lambda p: domain.recorder_label(p.recorded_by, p.recorded_by_name)
templates.env.filters["avviso"] = printed
templates.env.globals["cds_income"] = (CDS_INCOME_LIMIT_CENTS, CDS_INCOME_PER_MEMBER_CENTS)
PAGE_SIZE = 25


def _position_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["position_id"])
    except ValueError:
        raise NotFound() from None


@endpoint(*WEB_ROLES)
async def search(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    query = request.query_params.get("q", "")[:100]
    page_no = query_int(request, "page", 1, least=1, most=MAX_PAGE)
    found = await handlers.search_positions(uow, ident, query, page_no, PAGE_SIZE)
    context = {"q": query, "rows": found.rows, "page_no": page_no, "has_next": found.has_next}
    context["barred"] = found.barred
    return page(templates, request, "search.html", context, block="results")


@endpoint(*READ_ROLES)
async def position_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    view = await handlers.view_position(uow, ident, _position_id(request))
    served = await handlers_positions.served_days(uow, ident.tenant_id, view.position.id)
    barred_on = handlers_positions.barred_on(view.position, view.history, served)
    context = {
        "acts": ident.has_role(*WEB_ROLES),
        # Past it, the Comune can no longer collect the position: no plan nor notice is offered.
        "barred_on": barred_on,
        "barred": barred_on <= datetime.now(ROME).date(),
        # The day a single notice issued today falls due (`handlers_notices`): after the limitation
        # day, its payment would come too late to interrupt it.
        "notice_due": handlers_notices.single_due(datetime.now(ROME).date()),
        "position": view.position,
        "history": view.history,
        "residual": view.residual_cents,
        "plan": view.plan,
        "plan_owed": view.plan_owed_cents,
        "plan_schedule": view.plan_schedule,
        **{name: getattr(view, name) or [] for name in ("plan_positions", "options", "gpd", "replaced")},
        "plan_created": bool(request.query_params.get("piano")),
        "recorded": request.query_params.get("registrato") == "1",
        "notices_issued": request.query_params.get("avvisi") == "1",
        # One key per rendered form: submitting the same form twice records one payment.
        "idempotency_key": uuid.uuid4().hex,
        **await handlers_delivery.reachable_at(uow, ident.tenant_id, [view.position.id]),
    }
    return page(templates, request, "position.html", context)


@endpoint("api", *WEB_ROLES)
async def simulate_plan_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    sim = read_simulation(await json_object(request), datetime.now(ROME).date())
    return JSONResponse(await handlers.simulate_plan(uow, ident.tenant_id, sim))


@endpoint("api", *WEB_ROLES)
async def issue_notices_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    body = await json_object(request)
    plan_id = plan_id_of(body)
    position_ids = position_ids_of(body)
    if plan_id is not None:
        issued = await handlers_notices.issue_plan_notices(uow, ident, plan_id)
    elif position_ids:
        issued = await handlers_notices.issue_notices(uow, ident, position_ids, datetime.now(ROME).date())
    else:
        raise DomainError(
            "Indica le posizioni («position_ids») o il piano («plan_id»).", field="position_ids"
        )
    options = [
        {
            "nav": o.nav,
            "iuv": o.iuv,
            "position_id": str(o.position_id) if o.position_id else None,
            "plan_id": str(o.plan_id) if o.plan_id else None,
            "installment": o.installment,
            "kind": o.kind,
            "amount_cents": o.amount_cents,
            "due_date": o.due_date.isoformat(),
            "creditor_fiscal_code": o.creditor_fiscal_code,
            "pdf_url": f"/api/v1/payments/notices/{o.nav}/pdf",
        }
        for o in issued
    ]
    return JSONResponse({"options": options}, status_code=201)


@endpoint(*WEB_ROLES)
async def issue_notices_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The position page's button: the notices of its active plan, or of the position alone."""
    position_id = _position_id(request)
    await handlers_notices.notices_for_position(uow, ident, position_id, datetime.now(ROME).date())
    url = f"/t/{ident.tenant_slug}/payments/positions/{position_id}?avvisi=1"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@endpoint("api", *READ_ROLES)
async def notice_pdf(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    nav = request.path_params["nav"]
    if not is_valid_notice_number(nav):
        raise NotFound("Avviso non trovato.")
    notice = await handlers_notices.notice_for(uow, ident, nav)

    async def respond() -> Response:  # rendered after the commit: no connection held meanwhile
        body = await asyncio.to_thread(pdf_notice.render, notice)
        headers = {
            "Content-Disposition": f'inline; filename="avviso-{nav}.pdf"',
            "Cache-Control": "private, no-store",
        }
        return Response(body, media_type="application/pdf", headers=headers)

    return AfterCommit(respond)


@endpoint("api", *WEB_ROLES)
async def create_plan_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    plan_request = read_plan_request(await json_object(request))
    plan = await handlers_plans.create_plan(uow, ident, plan_request, datetime.now(ROME).date())
    body = {
        "plan_id": str(plan.plan_id),
        "amount_cents": plan.amount_cents,
        "revenue_type": plan.revenue_type,
        "allowed": {"min": plan.allowed[0], "max": plan.allowed[1]},
        "installments": len(plan.schedule),
        "schedule": schedule_json(plan.schedule),
        "charges_cents": plan.charges_cents,
    }
    return JSONResponse(body, status_code=201)


@endpoint("api", "comune_admin", "platform_admin")
async def save_rules_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    revenue_type = request.path_params["revenue_type"].upper()
    if revenue_type not in REVENUE_TYPES:
        raise NotFound("Tipo di entrata sconosciuto.")
    today = datetime.now(ROME).date()
    valid_from, rules = read_rule_set(await json_object(request), today)
    await handlers_rules.save_rules(uow, ident, revenue_type, valid_from, rules, today)
    body = {
        "revenue_type": revenue_type,
        "valid_from": valid_from.isoformat(),
        "bands": bands_json(rules.bands),
    }
    return JSONResponse(body, status_code=201)


@endpoint("api", "comune_viewer", "comune_admin", *WEB_ROLES)
async def rules_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return JSONResponse({"rules": await handlers_rules.rules_history(uow, ident.tenant_id)})


@endpoint("api")
async def positions_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    status = request.query_params.get("status") or None
    if status is not None and status not in handlers_positions.STATUSES:
        raise DomainError(f"«status» è uno tra {', '.join(handlers_positions.STATUSES)}.", field="status")
    fiscal_code = (request.query_params.get("fiscal_code") or "").strip().upper()[:16] or None
    limit = max(query_int(request, "limit", 100, most=500), 1)
    offset = query_int(request, "offset", 0, most=10_000_000)
    return JSONResponse(
        await handlers_positions.list_positions(uow, ident, fiscal_code, status, limit, offset)
    )


@endpoint("api")
async def position_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return JSONResponse(await handlers_positions.position_detail(uow, ident, _position_id(request)))


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/payments"
    return [
        Route(f"{prefix}/", search, methods=["GET"]),
        Route(f"{prefix}/positions/{{position_id}}", position_page, methods=["GET"]),
        Route("/api/v1/payments/plans/simulate", simulate_plan_api, methods=["POST"]),
        Route("/api/v1/payments/plans", create_plan_api, methods=["POST"]),
        Route("/api/v1/payments/positions", positions_api, methods=["GET"]),
        Route("/api/v1/payments/positions/{position_id}", position_api, methods=["GET"]),
        Route("/api/v1/payments/rules", rules_api, methods=["GET"]),
        Route("/api/v1/payments/rules/{revenue_type}", save_rules_api, methods=["PUT"]),
        Route("/api/v1/payments/notices", issue_notices_api, methods=["POST"]),
        Route(f"{prefix}/positions/{{position_id}}/notices", issue_notices_web, methods=["POST"]),
        Route("/api/v1/payments/notices/{nav}/pdf", notice_pdf, methods=["GET"]),
        Route(f"{prefix}/notices/{{nav}}/pdf", notice_pdf, methods=["GET"]),
    ]
