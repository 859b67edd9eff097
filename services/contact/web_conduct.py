"""The page of a Comune's calling rules, for supervisors and the Comune's admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.contact import handlers_conduct
from services.contact.domain_conduct import DEFAULT_WEIGHTS, ROME, WEEKDAYS, WEIGHT_LABELS
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, errors_of
from services.kernel.identity import Identity
from services.kernel.web import ctx, endpoint, page, templates_for

templates = templates_for(Path(__file__).parent)
templates.env.globals["weekdays"] = WEEKDAYS
templates.env.globals["weight_labels"] = WEIGHT_LABELS
FIELDS = (
    *(f"{edge}_{day}" for day in range(6) for edge in ("from", "to")),
    "daily_cap",
    "weekly_cap",
    "promise_days",
    "sip_template",
    *(f"weight_{name}" for name in DEFAULT_WEIGHTS),
    "patron_day",
    "patron_saint",
)


@endpoint(*handlers_conduct.EDITORS)
async def conduct_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    today = ctx(request).clock().astimezone(ROME).date()
    context = {**await handlers_conduct.rules_page(uow, ident, today), "errors": {}}
    return page(templates, request, "conduct.html", context)


@endpoint(*handlers_conduct.EDITORS)
async def save_conduct(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_fields=40) as form:
        # Only what the form sent: a field left out takes its default, one sent empty is refused.
        raw = {name: str(form.get(name) or "").strip() for name in FIELDS if name in form}
    today = ctx(request).clock().astimezone(ROME).date()
    try:
        await handlers_conduct.save_rules(uow, ident, raw)
    except DomainError as problem:  # shown beside its field; nothing was written
        shown = await handlers_conduct.rules_page(uow, ident, today)
        context: dict[str, Any] = {**shown, "values": raw, "errors": errors_of(problem)}
        return page(templates, request, "conduct.html", context, block="conduct_form", status_code=400)
    context = {**await handlers_conduct.rules_page(uow, ident, today), "errors": {}, "saved": True}
    return page(templates, request, "conduct.html", context, block="conduct_form")


def routes() -> list[BaseRoute]:
    return [
        Route("/t/{tenant}/contact/conduct", conduct_page, methods=["GET"]),
        Route("/t/{tenant}/contact/conduct", save_conduct, methods=["POST"]),
    ]
