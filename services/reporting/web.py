"""Views of the reporting service: dashboard, relazione di scarico, settings and the JSON API."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.identity import Identity
from services.kernel.roles import ANY_ROLE
from services.kernel.web import ctx, endpoint, is_htmx, page, templates_for
from services.reporting import domain, handlers, handlers_portal, portal_content
from services.reporting import repository as repo

templates = templates_for(Path(__file__).parent)
REPORT_ROLES = ("comune_admin", "supervisor", "platform_admin")
SETTINGS_ROLES = ("comune_admin", "platform_admin")
READ_REPORT_ROLES = ("comune_viewer", "comune_admin", "supervisor", "platform_admin")


def _percent(value: Any) -> str:
    return f"{str(value).replace('.', ',')}%"


# --- dashboard ---------------------------------------------------------------------------------


async def _dashboard_context(uow: UnitOfWork, ident: Identity) -> dict[str, Any]:
    board = await handlers.dashboard(uow, ident.tenant_id)
    return {
        "summary": board.summary,
        "collected_percent": _percent(board.summary.totals.collected_percent),
        "by_type": [(g, _percent(g.totals.collected_percent)) for g in board.by_type],
        "aggio_rate": domain.format_rate(board.aggio_rate_bp),
        "aggio_cents": board.aggio_cents,
        "reports": board.reports,
        "can_generate": ident.has_role(*REPORT_ROLES),
        "can_configure": ident.has_role(*SETTINGS_ROLES),
    }


@endpoint(*ANY_ROLE)
async def dashboard(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return page(templates, request, "dashboard.html", await _dashboard_context(uow, ident))


@endpoint(*ANY_ROLE)
async def summary_fragment(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    context = await _dashboard_context(uow, ident)
    return page(templates, request, "dashboard.html", context, block="summary")


@endpoint(*ANY_ROLE)
async def reports_fragment(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    context = await _dashboard_context(uow, ident)
    return page(templates, request, "dashboard.html", context, block="reports")


# --- relazione di scarico ----------------------------------------------------------------------


@endpoint(*REPORT_ROLES)
async def create_report(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    await handlers.generate_report(ctx(request).db, ctx(request).storage, who)
    if not is_htmx(request):
        return RedirectResponse(f"/t/{who.tenant_slug}/reporting/", status_code=303)
    context = await _dashboard_context(uow, who)
    return page(templates, request, "dashboard.html", context, block="reports")


# The relazione lists every debtor: operators, who work one debtor at a time, do not download it.
@endpoint(*READ_REPORT_ROLES)
async def download_report(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    """Stream the stored PDF after checking the object still carries the recorded SHA-256."""
    try:
        report_id = uuid.UUID(request.path_params["report_id"])
    except ValueError as exc:
        raise NotFound() from exc
    storage = ctx(request).storage
    record = await handlers.open_report(uow, storage, who, report_id)
    stamp = record.generated_at.astimezone(domain.ROME).strftime("%Y%m%d-%H%M")
    headers = {
        "Content-Disposition": f'attachment; filename="relazione-scarico-{stamp}.pdf"',
        "Content-Length": str(record.size),
        "X-Content-SHA256": record.sha256,
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(
        storage.stream(who.tenant_id, record.object_key), media_type="application/pdf", headers=headers
    )


# --- settings ----------------------------------------------------------------------------------


@endpoint(*SETTINGS_ROLES)
async def settings_page(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    rate = await handlers.aggio_rate(uow, who.tenant_id)
    return page(templates, request, "settings.html", {"aggio_percent": domain.format_rate(rate)[:-1]})


@endpoint(*SETTINGS_ROLES)
async def save_settings(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    form = await request.form()
    rate = domain.parse_rate_percent(str(form.get("aggio_percent", "")))
    await handlers.save_aggio_rate(uow, who, rate)
    context = {"aggio_percent": domain.format_rate(rate)[:-1], "saved": True}
    return page(templates, request, "settings.html", context, block="settings_form")


# --- JSON API ----------------------------------------------------------------------------------


def _report_json(record: repo.ReportRecord, slug: str) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "kind": record.kind,
        "object_key": record.object_key,
        "sha256": record.sha256,
        "size": record.size,
        "generated_at": record.generated_at.isoformat(),
        "generated_by": record.generated_by,
        "assigned_cents": record.assigned_cents,
        "collected_cents": record.collected_cents,
        "residual_cents": record.residual_cents,
        "aggio_cents": record.aggio_cents,
        "aggio_rate_bp": record.aggio_rate_bp,
        "download_url": f"/t/{slug}/reporting/reports/{record.id}/pdf",
    }


@endpoint(*ANY_ROLE)
async def api_summary(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    board = await handlers.dashboard(uow, ident.tenant_id, with_reports=False)
    summary, by_type, rate = board.summary, board.by_type, board.aggio_rate_bp
    today = ctx(request).clock().astimezone(domain.ROME).date()
    portal = portal_content.summary_json(await handlers_portal.portal(uow, ident.tenant_id, today))
    t = summary.totals
    return JSONResponse(
        {
            "assigned_cents": t.assigned_cents,
            "collected_cents": t.collected_cents,
            "residual_cents": t.residual_cents,
            "collected_percent": str(t.collected_percent),
            "positions": summary.positions,
            "payments": summary.payments,
            "outcomes": summary.outcomes,
            "debtors_contacted": summary.debtors_contacted,
            "aggio_rate_bp": rate,
            "aggio_cents": board.aggio_cents,
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


# The Comune's own software (API key) may generate the report, like its administrators.
@endpoint(*REPORT_ROLES, "api")
async def api_create_report(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    record = await handlers.generate_report(ctx(request).db, ctx(request).storage, who)
    return JSONResponse(_report_json(record, who.tenant_slug), status_code=201)


@endpoint(*ANY_ROLE)
async def api_list_reports(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    records = await handlers.list_reports(uow, who.tenant_id)
    return JSONResponse({"reports": [_report_json(r, who.tenant_slug) for r in records]})


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting"
    return [
        Route(f"{web}/", dashboard),
        Route(f"{web}/summary", summary_fragment),
        Route(f"{web}/reports", reports_fragment, methods=["GET"]),
        Route(f"{web}/reports", create_report, methods=["POST"]),
        Route(f"{web}/reports/{{report_id}}/pdf", download_report),
        Route(f"{web}/settings", settings_page, methods=["GET"]),
        Route(f"{web}/settings", save_settings, methods=["POST"]),
        Route("/api/v1/reporting/summary", api_summary),
        Route("/api/v1/reporting/reports", api_list_reports, methods=["GET"]),
        Route("/api/v1/reporting/reports", api_create_report, methods=["POST"]),
    ]
