"""The legal interest rate table: a page listing every rate with its decree and who added it when,
where the firm's platform administrator adds the rate of a new decree from a date; and the read-only
API for the Comune's software."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, errors_of
from services.kernel.identity import Identity
from services.kernel.web import endpoint, page, templates_for
from services.payments import handlers_legal_rates
from services.payments.domain_legal_rates import rate_text

templates = templates_for(Path(__file__).parent)
templates.env.filters["legal_rate"] = lambda raw: rate_text(Decimal(raw))
ROME = ZoneInfo("Europe/Rome")
EDITOR = handlers_legal_rates.EDITOR_ROLE
# The Comune's admin sees the rates its plans use; only the platform administrator adds one.
READERS = ("comune_admin", EDITOR)


def _today() -> date:
    return datetime.now(ROME).date()


async def _context(uow: UnitOfWork, ident: Identity, today: date) -> dict[str, Any]:
    rates = await handlers_legal_rates.rate_history(uow)
    for r in rates:
        r["day"] = date.fromisoformat(r["valid_from"])
        r["at"] = datetime.fromisoformat(r["created_at"]).astimezone(ROME)
    in_force = [r for r in rates if r["day"] <= today]
    return {
        "rates": rates,
        "in_force": in_force[-1] if in_force else None,
        "today": today,
        "can_edit": ident.has_role(EDITOR),
    }


@endpoint(*READERS)
async def legal_rates_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    today = _today()
    context = await _context(uow, ident, today)
    context["form"] = {"valid_from": "", "rate": "", "decree": ""}
    context["saved"] = request.query_params.get("salvato") == "1"
    return page(templates, request, "legal_rates.html", context)


@endpoint(EDITOR)
async def add_legal_rate_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    today = _today()
    async with request.form(max_fields=10) as form:
        fields = {k: str(form.get(k) or "").strip()[:300] for k in ("valid_from", "rate", "decree")}
    try:
        await handlers_legal_rates.add_rate(uow, ident, fields, today)
    except DomainError as problem:  # shown above the form and at each field, with what was typed
        context = await _context(uow, ident, today)
        context.update(form=fields, problem=problem, errors=errors_of(problem))
        return page(templates, request, "legal_rates.html", context, status_code=problem.status)
    return RedirectResponse(f"/t/{ident.tenant_slug}/payments/legal-rates?salvato=1", status_code=303)


@endpoint("api")
async def legal_rates_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """Every legal rate (percent a year) with the day it applies from; a day after the last one
    takes the last one."""
    return JSONResponse({"legal_rates": await handlers_legal_rates.rate_history(uow)})


def routes() -> list[BaseRoute]:
    return [
        Route("/t/{tenant}/payments/legal-rates", legal_rates_page, methods=["GET"]),
        Route("/t/{tenant}/payments/legal-rates", add_legal_rate_web, methods=["POST"]),
        Route("/api/v1/payments/legal-rates", legal_rates_api, methods=["GET"]),
    ]
