"""Views of the plan builder an operator uses on the phone (a page, or the fragment the contact
service's debtor card embeds): the preview of what the rules allow, the plan created from its form,
and the sending of an active plan's notices."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contracts import REVENUE_TYPES
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import endpoint, is_htmx, page, query_int
from services.payments import handlers, handlers_answer_preview, handlers_delivery, handlers_plans
from services.payments.domain_answers import decision
from services.payments.domain_lapse import ROME
from services.payments.domain_simulation import (
    check_installments,
    check_plan_installments,
    position_ids_of,
    read_plan_request,
    read_simulation,
)
from services.payments.roles import ANSWER_ROLES, WEB_ROLES
from services.payments.web import templates

_WHOLE = re.compile(r"-?[0-9]{1,3}")


def _plan_fields(fields: ImmutableMultiDict[str, Any]) -> dict[str, Any]:
    """The plan builder's fields (its query string, or its form when it creates the plan), as the
    simulation and the plan request read them."""
    body: dict[str, Any] = {"position_ids": [str(p) for p in fields.getlist("position_id")][:50]}
    installments = str(fields.get("installments") or "").strip()
    if installments:  # a number as typed (the builder and the plan refuse it by name), or the text
        body["installments"] = int(installments) if _WHOLE.fullmatch(installments) else installments[:20]
    if fields.get("first_due_date"):  # the date field's ISO day, or a day typed as Italians write it
        typed = str(fields.get("first_due_date")).strip()
        body["first_due_date"] = _iso_day(typed)
    body["income_declared"] = fields.get("income_declared") == "1"
    # Positions of several revenue types: the one to put in a plan, as the operator chose.
    if fields.get("revenue_type") in REVENUE_TYPES:
        body["revenue_type"] = str(fields.get("revenue_type"))
    return body


def _iso_day(typed: str) -> str:
    """«31/01/2027» as «2027-01-31»; anything else as typed (the simulation refuses it by name)."""
    try:
        return datetime.strptime(typed, "%d/%m/%Y").date().isoformat()
    except ValueError:
        return typed


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
    plan, position_id, owed, schedule = await handlers_plans.sendable_plan(uow, ident.tenant_id, plan_id)
    reachable = await handlers_delivery.reachable_at(uow, ident.tenant_id, [position_id])
    context = {"plan": plan, "position_id": position_id, "owed": owed, "schedule": schedule, **reachable}
    context["fragment"] = is_htmx(request)  # in the card's «Pagamento» section: headings a level down
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
    await _before_limitation(uow, ident, context, body, sim_request, today)
    # What the operator typed stays in the field, even when it was refused.
    typed = request.query_params.get("installments") or ""
    context["installments_value"] = typed[:20] or (context["sim"]["installments"] if "sim" in context else "")
    return page(templates, request, "plan_builder.html", context, block="builder")


async def _before_limitation(
    uow: UnitOfWork, ident: Identity, context: dict[str, Any], body: dict[str, Any], asked: Any, today: date
) -> None:
    """A first installment on or after the day a position becomes time-barred is too late to
    interrupt it: when the operator chose no date, the builder brings it forward to the last month's
    end before that day (saying so); a date they chose is kept, with the warning (`barring`)."""
    refused = context.get("problem")
    if refused is not None and refused.field == "first_due_date":  # its own limit is the one to tell
        context["barring"] = None
        return
    barring = _first_due_too_late(context.get("sim"), asked.first_due)
    if barring is not None and "first_due_date" not in body and barring[1] > today:
        earlier = read_simulation({**body, "first_due_date": barring[1].isoformat()}, today)
        context["sim"] = await handlers.simulate_plan(uow, ident.tenant_id, earlier)
        context["first_due"], context["brought_forward"], barring = barring[1].isoformat(), barring, None
    context["barring"] = barring


def _first_due_too_late(sim: dict[str, Any] | None, first_due: date) -> tuple[date, date] | None:
    """When the first installment falls on or after the day a position becomes time-barred (its
    payment would come too late to interrupt it): that day and the last month's end before it."""
    if not sim or not sim.get("barred_on"):
        return None
    barred_on = date.fromisoformat(sim["barred_on"])
    if first_due < barred_on:
        return None
    eve = barred_on - timedelta(days=1)
    latest = eve if (eve + timedelta(days=1)).day == 1 else eve.replace(day=1) - timedelta(days=1)
    return barred_on, latest


def _with_range(refused: DomainError, typed: Any, sim: dict[str, Any] | None) -> DomainError:
    """A refused number said against the range the rules allow when there is one (0 or -1 when
    the Comune allows 5 to 12); 1 keeps its own words (one payment is a notice)."""
    if sim is None or type(typed) is not int:
        return refused
    try:
        check_installments(
            typed, (sim["allowed"]["min"], sim["allowed"]["max"]), sim.get("allowed_reason", "")
        )
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


@endpoint(*ANSWER_ROLES)
async def plans_after_answer(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The fragment the Ufficio tributi's «Conferma la risposta» embeds: each active plan of the
    answer's positions as the answer would leave it. `esito` cancelled or corrected, `posizione`
    (repeated), `importo` the corrected amount in cents; nothing is recorded."""
    q = request.query_params
    amount = query_int(request, "importo", 0)
    try:
        decided = decision(q.get("esito", ""), q.getlist("posizione")[:50], amount)
    except ValueError:
        raise DomainError("Posizione non valida.", field="posizione") from None
    shown = await handlers_answer_preview.answer_preview(uow, ident, decided) if decided else []
    return page(templates, request, "plans_after_answer.html", {"plans": shown}, block="plans")


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/payments"
    return [
        Route(f"{prefix}/plans/builder", plan_builder, methods=["GET"]),
        Route(f"{prefix}/plans/after-answer", plans_after_answer, methods=["GET"]),
        Route(f"{prefix}/plans/{{plan_id}}/send", plan_sender, methods=["GET"]),
        Route(f"{prefix}/plans", create_plan_web, methods=["POST"]),
    ]
