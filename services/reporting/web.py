"""Views of the reporting service: dashboard and the JSON API (the relazione di scarico:
`web_relazione`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.contracts import REVENUE_TYPE_NAMES
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.roles import ANY_ROLE
from services.kernel.web import ctx, endpoint, page, templates_for
from services.reporting import domain, handlers, handlers_portal, portal_content

templates = templates_for(Path(__file__).parent)
# The revenue types by their names (the aggio's contract and its form).
templates.env.globals["type_names"] = REVENUE_TYPE_NAMES
REPORT_ROLES = ("comune_admin", "supervisor", "platform_admin")
READ_REPORT_ROLES = ("comune_viewer", "comune_admin", "supervisor", "platform_admin")


def _percent(value: Any) -> str:
    return f"{str(value).replace('.', ',')}%"


# --- dashboard ---------------------------------------------------------------------------------


async def _dashboard_context(request: Request, uow: UnitOfWork, ident: Identity) -> dict[str, Any]:
    today = ctx(request).clock().astimezone(domain.ROME).date()
    board = await handlers.dashboard(uow, ident.tenant_id, today)
    return {
        "summary": board.summary,
        "collected_percent": _percent(board.summary.totals.collected_percent),
        "by_type": [(g, _percent(g.totals.collected_percent)) for g in board.by_type],
        "aggio": board.aggio,
        "cases_waiting": board.cases_waiting,
        "barred_positions": board.barred[0],
        "barred_cents": board.barred[1],
        "can_generate": ident.has_role(*REPORT_ROLES),
        "mandate_closed": await uow.closure(),
    }


@endpoint(*ANY_ROLE)
async def dashboard(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return page(templates, request, "dashboard.html", await _dashboard_context(request, uow, ident))


@endpoint(*ANY_ROLE)
async def summary_fragment(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    context = await _dashboard_context(request, uow, ident)
    return page(templates, request, "dashboard.html", context, block="summary")


# --- JSON API ----------------------------------------------------------------------------------


@endpoint(*ANY_ROLE)
async def api_summary(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    today = ctx(request).clock().astimezone(domain.ROME).date()
    board = await handlers.dashboard(uow, ident.tenant_id, today)
    summary, by_type, aggio = board.summary, board.by_type, board.aggio
    portal = portal_content.summary_json(await handlers_portal.portal(uow, ident.tenant_id, today))
    t = summary.totals
    return JSONResponse(
        {
            "assigned_cents": t.assigned_cents,
            "collected_cents": t.collected_cents,
            "residual_cents": t.residual_cents,
            # Of the residual, what is already time-barred (`kernel.limitation`).
            "time_barred_cents": board.barred[1],
            "collected_percent": str(t.collected_percent),
            "positions": summary.positions,
            "payments": summary.payments,
            "outcomes": summary.outcomes,
            "debtors_contacted": summary.debtors_contacted,
            # The aggio contract's on what was collected since it began (GET /api/v1/reporting/aggio
            # for a period, per revenue type); null before the contract is entered.
            "aggio_cents": aggio.cents if aggio else None,
            "aggio_basis": aggio.label if aggio else None,
            "by_revenue_type": [
                {
                    "revenue_type": g.revenue_type,
                    "positions": g.positions,
                    "assigned_cents": g.totals.assigned_cents,
                    "collected_cents": g.totals.collected_cents,
                    "residual_cents": g.totals.residual_cents,
                }
                for g in by_type
            ],
            "portal": portal,
        }
    )


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting"
    return [
        Route(f"{web}/", dashboard),
        Route(f"{web}/summary", summary_fragment),
        Route("/api/v1/reporting/summary", api_summary),
    ]
