"""Views of the payments service: position search, position page, recording payments."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import ImmutableMultiDict
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
    check_installments,
    check_plan_installments,
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
    return page(templates, request, "search.html", context, block="results")


@endpoint(*READ_ROLES)
async def position_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    view = await handlers.view_position(uow, ident, _position_id(request))
    context = {
        "acts": ident.has_role(*WEB_ROLES),
        "position": view.position,
        "history": view.history,
        "residual": view.residual_cents,
        "plan": view.plan,
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


_WHOLE = re.compile(r"-?[0-9]{1,3}")


def _plan_fields(fields: ImmutableMultiDict[str, Any]) -> dict[str, Any]:
    """The plan builder's fields (its query string, or its form when it creates the plan), as the
    simulation and the plan request read them."""
    body: dict[str, Any] = {"position_ids": [str(p) for p in fields.getlist("position_id")][:50]}
    installments = str(fields.get("installments") or "").strip()
    if installments:  # a number as typed (the builder and the plan refuse it by name), or the text
        body["installments"] = int(installments) if _WHOLE.fullmatch(installments) else installments[:20]
    if fields.get("first_due_date"):
        body["first_due_date"] = str(fields.get("first_due_date"))
    body["income_declared"] = fields.get("income_declared") == "1"
    # Positions of several revenue types: the one to put in a plan, as the operator chose.
    if fields.get("revenue_type") in REVENUE_TYPES:
        body["revenue_type"] = str(fields.get("revenue_type"))
    return body


async def _one_revenue_type(uow: UnitOfWork, ident: Identity, body: dict[str, Any]) -> dict[str, list[str]]:
    """The positions by revenue type; when there are several and the operator chose one, the plan
    is for that one's positions only (a plan covers one revenue type)."""
    ids = position_ids_of(body)
    by_type = await handlers.revenue_types_of(uow, ident.tenant_id, ids) if ids else {}
    chosen = body.get("revenue_type")
    if len(by_type) > 1 and chosen in by_type:
        body["position_ids"] = by_type[str(chosen)]
    return by_type


@endpoint(*WEB_ROLES)
async def plan_sender(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The «send the plan's notices» of an active plan, the fragment the contact card embeds."""
    try:
        plan_id = uuid.UUID(request.path_params["plan_id"])
    except ValueError:
        raise NotFound() from None
    plan, position_id = await handlers_plans.sendable_plan(uow, ident.tenant_id, plan_id)
    reachable = await handlers_delivery.reachable_at(uow, ident.tenant_id, [position_id])
    context = {"plan": plan, "position_id": position_id, **reachable}
    return page(templates, request, "plan_send.html", context, block="sender")


@endpoint(*WEB_ROLES)
async def plan_builder(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The plan builder (a page, or the fragment the contact service's debtor card embeds): what
    the rules allow for the positions and a preview of the schedule; nothing is recorded."""
    body = _plan_fields(request.query_params)
    typed_number = body.get("installments")
    refused = _refused_installments(body)  # not a plan's number: the preview of what is allowed
    today = datetime.now(ROME).date()
    context: dict[str, Any] = {
        # Every position offered (the form keeps them all, so another revenue type can be chosen).
        "position_ids": list(body["position_ids"]),
        "income_declared": body["income_declared"],
        # Embedded in the contact service's debtor card: the plan is created and sent in place.
        "embedded": request.query_params.get("embedded") == "1",
    }
    if context["embedded"]:  # the sending form is only in the card's builder
        ids = context["position_ids"]
        context.update(await handlers_delivery.reachable_at(uow, ident.tenant_id, ids))
    by_type = await _one_revenue_type(uow, ident, body)
    context["revenue_types"] = list(by_type) if len(by_type) > 1 else []
    context["chosen_type"] = body.get("revenue_type", "")
    sim_request = read_simulation(body, today)
    context["first_due"] = sim_request.first_due.isoformat()
    try:
        context["sim"] = await handlers.simulate_plan(uow, ident.tenant_id, sim_request)
        context["revenue_type"] = context["sim"]["revenue_type"]
    except DomainError as problem:  # shown beside the form; the simulation writes nothing
        context["problem"], context["needs_income"] = problem, problem.field == "income_declared"
        context["revenue_type"] = "CDS" if context["needs_income"] else ""
        await _preview_despite(uow, ident, context, body, problem.field, today)
    if refused is not None and "problem" not in context:
        context["problem"] = _with_range(refused, typed_number, context.get("sim"))
    # What the operator typed stays in the field, even when it was refused.
    typed = request.query_params.get("installments") or ""
    context["installments_value"] = typed[:20] or (context["sim"]["installments"] if "sim" in context else "")
    return page(templates, request, "plan_builder.html", context, block="builder")


def _with_range(refused: DomainError, typed: Any, sim: dict[str, Any] | None) -> DomainError:
    """A refused number said against the range the rules allow when there is one (0 or -1 when
    the Comune allows 5 to 12); 1 keeps its own words (one payment is a notice)."""
    if sim is None or type(typed) is not int:
        return refused
    try:
        check_installments(typed, (sim["allowed"]["min"], sim["allowed"]["max"]))
    except DomainError as problem:
        return problem
    return refused


def _refused_installments(body: dict[str, Any]) -> DomainError | None:
    """Why the builder's number of installments cannot be a plan's (taken out of `body`, so the
    preview shows what the rules allow), or None."""
    if "installments" not in body:
        return None
    try:
        check_plan_installments(body["installments"])
    except DomainError as problem:
        del body["installments"]
        return problem
    return None


async def _preview_despite(
    uow: UnitOfWork,
    ident: Identity,
    context: dict[str, Any],
    body: dict[str, Any],
    field: str | None,
    today: date,
) -> None:
    """After a refused number of installments or first due date, the preview of what is allowed
    (the most installments, or the default first due date), so the range stays on screen; before a
    CDS fine's income declaration, what it would allow once declared."""
    retries: dict[str, dict[str, Any]] = {
        "installments": {"installments": None},
        "first_due_date": {"first_due_date": None},
        # A CDS fine before the income declaration: the amount and the installments it would allow.
        "income_declared": {"income_declared": True},
    }
    retry = retries.get(field or "")
    if retry is None:
        return
    try:
        context["sim"] = await handlers.simulate_plan(
            uow, ident.tenant_id, read_simulation({**body, **retry}, today)
        )
    except DomainError as beyond:
        if field != "income_declared" or beyond.field != "installments":
            return
        # Before the declaration and beyond its range (99 when 21 is the most): the number is
        # what to fix first, said at its field against the range the declaration would allow.
        context["problem"] = beyond
        await _preview_despite(uow, ident, context, {**body, **retry}, "installments", today)
        return
    context["revenue_type"] = context["sim"]["revenue_type"]


@endpoint(*WEB_ROLES)
async def create_plan_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_fields=60) as form:
        body = _plan_fields(form)
        embedded = form.get("embedded") == "1"
    await _one_revenue_type(uow, ident, body)
    if "installments" in body:  # a number that cannot be a plan's, refused in words the form uses
        check_plan_installments(body["installments"])
    plan = await handlers_plans.create_plan(uow, ident, read_plan_request(body), datetime.now(ROME).date())
    url = f"/t/{ident.tenant_slug}/payments/positions/{body['position_ids'][0]}?piano={plan.plan_id}"
    if is_htmx(request) and embedded:  # in the operator's card: stay, and offer to send it now
        ids = body["position_ids"]
        reachable = await handlers_delivery.reachable_at(uow, ident.tenant_id, ids)
        context = {"created": plan, "plan": {"id": plan.plan_id}, "position_ids": ids, **reachable}
        done = page(templates, request, "plan_created.html", context, block="created")
        done.headers.update({"HX-Retarget": "#plan-builder", "HX-Reswap": "outerHTML"})
        return done
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


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
        Route(f"{prefix}/plans/builder", plan_builder, methods=["GET"]),
        Route(f"{prefix}/plans/{{plan_id}}/send", plan_sender, methods=["GET"]),
        Route(f"{prefix}/plans", create_plan_web, methods=["POST"]),
    ]
