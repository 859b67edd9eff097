"""HTTP handlers of the reporting service: dashboard, relazione di scarico, settings and the JSON API."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.logs import correlation_var
from services.kernel.storage import ObjectNotFound, tenant_key
from services.kernel.web import ctx, identity, is_htmx, page, require_role, templates_for
from services.reporting import domain, pdf
from services.reporting import repository as repo

log = logging.getLogger(__name__)
templates = templates_for(Path(__file__).parent)
REPORT_ROLES = ("comune_admin", "supervisor", "platform_admin")
SETTINGS_ROLES = ("comune_admin", "platform_admin")
READ_REPORT_ROLES = ("comune_viewer", "comune_admin", "supervisor", "platform_admin")
PDF_FILENAME = "relazione-scarico.pdf"


class StoredReportCorrupted(DomainError):
    status = 500

    def __init__(self) -> None:
        super().__init__(
            "Il documento archiviato non corrisponde all'impronta registrata: contattare l'assistenza."
        )


def _uow(request: Request) -> Any:
    return ctx(request).db.unit_of_work(identity(request).tenant_id, correlation_var.get() or "")


def _percent(value: Any) -> str:
    return f"{str(value).replace('.', ',')}%"


# --- dashboard ---------------------------------------------------------------------------------


async def _dashboard_context(request: Request) -> dict[str, Any]:
    tenant = identity(request).tenant_id
    async with _uow(request) as uow:
        summary = await repo.summary(uow, tenant)
        by_type = await repo.totals_by_type(uow, tenant)
        rate = await repo.aggio_rate_bp(uow, tenant)
        reports = await repo.list_reports(uow, tenant)
    return {
        "summary": summary,
        "collected_percent": _percent(summary.totals.collected_percent),
        "by_type": [(g, _percent(g.totals.collected_percent)) for g in by_type],
        "aggio_rate": domain.format_rate(rate),
        "aggio_cents": domain.aggio_cents(summary.totals.collected_cents, rate),
        "reports": reports,
        "can_generate": identity(request).has_role(*REPORT_ROLES),
        "can_configure": identity(request).has_role(*SETTINGS_ROLES),
    }


async def dashboard(request: Request) -> Response:
    return page(templates, request, "dashboard.html", await _dashboard_context(request))


async def summary_fragment(request: Request) -> Response:
    return page(templates, request, "dashboard.html", await _dashboard_context(request), block="summary")


async def reports_fragment(request: Request) -> Response:
    return page(templates, request, "dashboard.html", await _dashboard_context(request), block="reports")


# --- relazione di scarico ----------------------------------------------------------------------


async def generate_report(request: Request, who: Identity) -> repo.ReportRecord:
    """Read the projections, render the PDF, store it, then record key, size and SHA-256.

    The object is written before the row, so a row never points at a missing object; the PDF is
    rendered outside any transaction so no connection is held while reportlab works.
    """
    context, tenant = ctx(request), who.tenant_id
    report_id, now = uuid.uuid4(), datetime.now(UTC)
    async with _uow(request) as uow:
        positions = await repo.all_positions(uow, tenant)
        rate = await repo.aggio_rate_bp(uow, tenant)
        first = await repo.first_registration(uow, tenant)
    start = first.astimezone(domain.ROME).date() if first else None
    data = domain.build_report(report_id, who.tenant_name, now, who.display_name, start, rate, positions)
    body = await asyncio.to_thread(pdf.render, data)
    key = tenant_key(tenant, "reporting", str(report_id), PDF_FILENAME)
    stored = await context.storage.put_bytes(tenant, key, body, "application/pdf")
    record = repo.ReportRecord(
        id=report_id,
        kind=domain.REPORT_KIND,
        object_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        generated_at=now,
        generated_by=who.display_name,
        assigned_cents=data.totals.assigned_cents,
        collected_cents=data.totals.collected_cents,
        residual_cents=data.totals.residual_cents,
        aggio_cents=data.aggio_cents,
        aggio_rate_bp=data.aggio_rate_bp,
    )
    async with _uow(request) as uow:
        await repo.insert_report(uow, tenant, record)
        await uow.commit()
    log.info("report generated", extra={"fields": {"report_id": str(report_id), "size": stored.size}})
    return record


async def create_report(request: Request) -> Response:
    who = require_role(request, *REPORT_ROLES)
    await generate_report(request, who)
    if not is_htmx(request):
        return RedirectResponse(f"/t/{who.tenant_slug}/reporting/", status_code=303)
    return await reports_fragment(request)


async def _find_report(request: Request) -> repo.ReportRecord:
    try:
        report_id = uuid.UUID(request.path_params["report_id"])
    except ValueError as exc:
        raise NotFound() from exc
    async with _uow(request) as uow:
        record = await repo.get_report(uow, identity(request).tenant_id, report_id)
    if record is None:
        raise NotFound()
    return record


async def download_report(request: Request) -> Response:
    """Stream the stored PDF after checking the object still carries the recorded SHA-256."""
    # The relazione lists every debtor: operators, who work one debtor at a time, do not download it.
    require_role(request, *READ_REPORT_ROLES)
    record = await _find_report(request)
    storage, tenant = ctx(request).storage, identity(request).tenant_id
    try:
        head = await storage.head(tenant, record.object_key)
    except ObjectNotFound as exc:
        raise NotFound("Il documento non è più disponibile.") from exc
    if head.sha256 != record.sha256 or head.size != record.size:
        log.error("stored report does not match its record", extra={"fields": {"report_id": str(record.id)}})
        raise StoredReportCorrupted()
    async with _uow(request) as uow:
        await repo.access.record(uow, tenant, identity(request).user_id, "download_relazione", record.id)
        await uow.commit()
    stamp = record.generated_at.astimezone(domain.ROME).strftime("%Y%m%d-%H%M")
    headers = {
        "Content-Disposition": f'attachment; filename="relazione-scarico-{stamp}.pdf"',
        "Content-Length": str(record.size),
        "X-Content-SHA256": record.sha256,
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(
        storage.stream(tenant, record.object_key), media_type="application/pdf", headers=headers
    )


# --- settings ----------------------------------------------------------------------------------


async def settings_page(request: Request) -> Response:
    require_role(request, *SETTINGS_ROLES)
    async with _uow(request) as uow:
        rate = await repo.aggio_rate_bp(uow, identity(request).tenant_id)
    return page(templates, request, "settings.html", {"aggio_percent": domain.format_rate(rate)[:-1]})


async def save_settings(request: Request) -> Response:
    who = require_role(request, *SETTINGS_ROLES)
    form = await request.form()
    rate = domain.parse_rate_percent(str(form.get("aggio_percent", "")))
    async with _uow(request) as uow:
        await repo.save_aggio_rate(uow, who.tenant_id, rate, who.user_id)
        await uow.commit()
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


async def api_summary(request: Request) -> Response:
    tenant = identity(request).tenant_id
    async with _uow(request) as uow:
        summary = await repo.summary(uow, tenant)
        by_type = await repo.totals_by_type(uow, tenant)
        rate = await repo.aggio_rate_bp(uow, tenant)
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
            "aggio_cents": domain.aggio_cents(t.collected_cents, rate),
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
        }
    )


async def api_create_report(request: Request) -> Response:
    # The Comune's own software (API key) may generate the report, like its administrators.
    who = require_role(request, *REPORT_ROLES, "api")
    record = await generate_report(request, who)
    return JSONResponse(_report_json(record, who.tenant_slug), status_code=201)


async def api_list_reports(request: Request) -> Response:
    who = identity(request)
    async with _uow(request) as uow:
        records = await repo.list_reports(uow, who.tenant_id)
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
