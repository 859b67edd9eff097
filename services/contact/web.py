"""Views of the contact service: work queue, next debtor, debtor card, outcomes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contact import (
    domain,
    domain_conduct,
    domain_lists,
    domain_messages,
    handlers,
    handlers_evidence,
    handlers_lists,
    handlers_outcomes,
    web_board,
    web_conduct,
    web_evidence,
    web_lists,
    web_scripts,
    web_search,
)
from services.contact.roles import ROLES
from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.formats import format_day
from services.kernel.identity import Identity
from services.kernel.web import MAX_PAGE, ctx, endpoint, is_htmx, page, query_int, templates_for

templates = templates_for(Path(__file__).parent)
templates.env.globals["status_labels"] = domain.STATUS_LABELS
templates.env.globals["outcome_labels"] = domain.OUTCOME_LABELS
templates.env.globals["message_labels"] = domain_messages.MESSAGE_LABELS
templates.env.globals["contact_kind_labels"] = domain.CONTACT_KIND_LABELS
templates.env.globals["source_labels"] = domain.SOURCE_LABELS
templates.env.tests["e164"] = domain.is_e164
templates.env.filters["sip"] = lambda number, template: domain_conduct.sip_uri(template, number) or ""
PAGE_SIZE = 25
# How near the day a position becomes time-barred the card warns of it (a payment before interrupts).
BARRING_SOON_DAYS = 180


templates.env.filters["day"] = format_day


def _base(request: Request) -> str:
    return f"/t/{request.path_params['tenant']}/contact"


def _debtor_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["debtor_id"])
    except ValueError:
        raise NotFound() from None


def _redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@endpoint(*ROLES)
async def work_queue(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    status = request.query_params.get("status") or None
    if status not in (None, *domain.STATUS_LABELS):
        status = None
    page_no = query_int(request, "page", 1, least=1, most=MAX_PAGE)
    now = ctx(request).clock()
    queue = await handlers.work_queue(uow, ident, status, page_no, PAGE_SIZE, now)
    context = {
        "now": now,
        "counts": queue.counts,
        "debtors": queue.debtors,
        "time_barred": queue.time_barred,
        "barred_count": queue.barred_count,
        "status": status,
        "page_no": page_no,
        "has_next": queue.has_next,
        "empty": request.query_params.get("vuota") == "1",
        "recorded": request.query_params.get("registrato") == "1",
        "own_list": await handlers_lists.own_list(uow, ident),
        "mandate_closed": await uow.closure(),
    }
    return page(templates, request, "queue.html", context, block="debtor_list")


@endpoint(*ROLES)
async def next_debtor(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    leased = await handlers.take_next(uow, ident, ctx(request).clock())
    if leased.debtor_id is None:
        if is_htmx(request):
            own = await handlers_lists.own_list(uow, ident)
            context = {"empty": True, "closed": leased.closed, "own_list": own}
            return page(templates, request, "queue.html", context, block="next_result")
        return RedirectResponse(f"{_base(request)}/?vuota=1", status_code=303)
    return _redirect(request, f"{_base(request)}/debtors/{leased.debtor_id}")


def _to_offer(card: handlers.DebtorCard, today: date) -> tuple[list[Any], list[Any], int]:
    """The positions still unpaid outside an active plan (paid through it), those of them the
    builder offers (not time-barred: `kernel.limitation`, the Comune can no longer collect them),
    and what the others still owe."""
    barred = card.barred or {}
    unpaid = [
        p.position_id
        for p in card.positions
        if p.paid_cents < p.amount_cents and p.plan_status != "active" and p.state == "open"
    ]
    owed = [p for p in unpaid if barred.get(p, date.max) > today]
    barred_cents = sum(
        p.amount_cents - p.paid_cents
        for p in card.positions
        if p.position_id in unpaid and p.position_id not in owed
    )
    return unpaid, owed, barred_cents


@endpoint(*ROLES)
async def debtor_card(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    debtor_id = _debtor_id(request)
    previous = request.query_params.get("da")
    now = ctx(request).clock()
    card = await handlers.debtor_card(uow, ident, debtor_id, now, previous)
    today, barred = now.astimezone(domain.ROME).date(), card.barred or {}
    unpaid, owed, barred_cents = _to_offer(card, today)
    # A plan made earlier (a reload, a callback): the payments service's «send its notices».
    in_plan = [p for p in card.positions if p.plan_status == "active" and p.plan_id and p.state == "open"]
    held = (card.debtor.assigned_to, card.debtor.assigned_name, card.debtor.locked_until)
    context = {
        # Another operator works this debtor now: the card is to read, the outcome is theirs to record.
        "held_by": None
        if ident.has_role(*handlers.SUPERVISORS)
        else domain_lists.held_by_other(held, ident.user_id, now),
        # The call this card's outcome form records (a form sent twice records one call).
        "attempt": uuid.uuid4(),
        # The mandate ended: the card is to read, nothing is offered to record or send.
        "mandate_closed_at": card.closed_at,
        "active_plan": in_plan[0] if in_plan else None,
        "rules": card.rules,
        "hours": domain_conduct.hours_text(card.rules),
        "refusal": card.refusal,
        "promises": card.promises,
        "script": card.script,
        # The Comune's names of the outcomes (the select and the history).
        "outcome_labels": card.labels,
        # The payments service's plan builder, embedded for the positions still owed and in time.
        "open_positions": owed,
        "all_barred": bool(unpaid) and not owed,
        "barred_cents": barred_cents,
        "barred": barred,
        "today": today,
        "soon": today + timedelta(days=BARRING_SOON_DAYS),
        "builder_query": urlencode([("position_id", str(p)) for p in owed]),
        "debtor": card.debtor,
        "positions": card.positions,
        "history": card.history,
        # The files attached to each «Dice di aver già pagato» call, by the call's id.
        "claims": card.claims,
        "reachable": card.reachable,
        # The outcome just recorded: on this debtor ("1"), or on the previous one ("precedente",
        # named by `da`); the page then drops these one-shot words from its address.
        "recorded": request.query_params.get("registrato"),
        "previous_name": card.previous_name,
        "marked_wrong": request.query_params.get("errato") == "1",
        "attached": request.query_params.get("allegato") == "1",
    }
    return page(templates, request, "debtor.html", context)


@endpoint(*ROLES)
async def record_outcome(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    debtor_id = _debtor_id(request)
    # Multipart when HTMX sends it: «Dice di aver già pagato» may come with the receipt.
    async with web_evidence.evidence_form(request) as form:
        call = handlers.Call(
            domain.parse_outcome(str(form.get("outcome", ""))),
            str(form.get("note", "")),
            domain.parse_callback(str(form.get("callback_at", ""))),
            do_not_call=form.get("do_not_call") == "1",
            override_reason=str(form.get("override_reason", "")),
            promise_amount=str(form.get("promise_amount", "")),
            promise_due=str(form.get("promise_due", "")),
            datum_id=str(form.get("datum_id", "")),
            callback_mine=form.get("callback_mine") == "1",
            attempt=_attempt(form.get("tentativo")),
        )
        files = await web_evidence.checked_files(form, call.outcome)
        then_next = form.get("poi") == "prossimo"
    now = ctx(request).clock()
    async with web_evidence.kept(request, ident, debtor_id, files) as stored:
        contact_id = await handlers.record_outcome(uow, ident, debtor_id, call, now)
        if stored:
            await handlers_evidence.attach(uow, ident, debtor_id, contact_id, stored, now)
    if not then_next:
        return _redirect(request, f"{_base(request)}/debtors/{debtor_id}?registrato=1")
    # «Registra e passa al prossimo»: the next debtor leased in the same transaction.
    leased = await handlers.take_next(uow, ident, now)
    if leased.debtor_id is None:
        return _redirect(request, f"{_base(request)}/?vuota=1&registrato=1")
    return _redirect(
        request, f"{_base(request)}/debtors/{leased.debtor_id}?registrato=precedente&da={debtor_id}"
    )


def _attempt(raw: object) -> uuid.UUID | None:
    """The id the card's form gave the call (`tentativo`); none, or not an id: a new one."""
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


@endpoint(*ROLES)
async def mark_wrong(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """«Segna come errato» beside a contact datum on the card."""
    debtor_id = _debtor_id(request)
    try:
        contact_id = uuid.UUID(request.path_params["contact_id"])
    except ValueError:
        raise NotFound() from None
    await handlers_outcomes.mark_wrong(uow, ident, debtor_id, contact_id, ctx(request).clock())
    return _redirect(request, f"{_base(request)}/debtors/{debtor_id}?errato=1")


@endpoint(*ROLES)
async def queue_summary(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The fragment of this Comune on the operator's home (the gateway's page embeds it)."""
    summary = await handlers.queue_summary(uow, ident, ctx(request).clock())
    context = {"summary": summary, "mandate_closed": await uow.closure()}
    return page(templates, request, "summary.html", context, block="summary")


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/contact"
    return [
        Route(f"{prefix}/", work_queue, methods=["GET"]),
        Route(f"{prefix}/next", next_debtor, methods=["POST"]),
        Route(f"{prefix}/summary", queue_summary, methods=["GET"]),
        Route(f"{prefix}/debtors/{{debtor_id}}", debtor_card, methods=["GET"]),
        Route(f"{prefix}/debtors/{{debtor_id}}/outcomes", record_outcome, methods=["POST"]),
        Route(f"{prefix}/debtors/{{debtor_id}}/contacts/{{contact_id}}/wrong", mark_wrong, methods=["POST"]),
        *web_conduct.routes(),
        *web_board.routes(),
        *web_scripts.routes(),
        *web_evidence.routes(),
        *web_lists.routes(),
        *web_search.routes(),
    ]
