"""Views of the relazione di scarico: the page that requests one (interim or final, a period) and
lists them, the progress fragment it polls, the downloads, and the JSON API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.roles import ANY_ROLE
from services.kernel.web import AfterCommit, after_closure, ctx, endpoint, json_object, page, stored_download
from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting import handlers_relazione
from services.reporting.domain import ROME
from services.reporting.repository_relazione import Report

# READ_REPORT_ROLES: the relazione lists every debtor; operators, one debtor at a time, do not read it.
from services.reporting.web import READ_REPORT_ROLES, REPORT_ROLES, templates

PAGE = "relazioni.html"


def _report_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["report_id"])
    except ValueError:
        raise NotFound() from None


def _format(request: Request) -> str:
    """The file's format, from the path's suffix (`/<id>.pdf`, `.xlsx`, `.csv`)."""
    fmt = request.url.path.rsplit(".", 1)[-1]
    if fmt not in rel.FORMATS:
        raise NotFound()
    return fmt


def _view(r: Report) -> dict[str, Any]:
    period = (
        f"dal {rel.format_date(r.period_from)} al {rel.format_date(r.period_to)}" if r.period_from else "-"
    )
    label = f"Relazione {rel.KINDS[r.kind]}" if r.kind in rel.KINDS else "Relazione (solo totali)"
    percent = (100 * r.done_rows // r.total_rows) if r.total_rows else 0
    return {"r": r, "label": label, "period": period, "percent": percent}


def _today(request: Request) -> date:
    return ctx(request).clock().astimezone(ROME).date()


async def _page_context(request: Request, uow: UnitOfWork, who: Identity, **extra: Any) -> dict[str, Any]:
    today = _today(request)
    context = {
        "reports": [_view(r) for r in await handlers_relazione.reports(uow, who.tenant_id)],
        "can_generate": who.has_role(*REPORT_ROLES),
        "can_download": who.has_role(*READ_REPORT_ROLES),
        "values": {
            "kind": "interim",
            "period_from": date(today.year, 1, 1).isoformat(),
            "period_to": today.isoformat(),
        },
        "problem": None,
    }
    return {**context, **extra}


@endpoint(*ANY_ROLE)
async def reports_page(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    """The relazioni: the request form (for those who may ask) and every version so far."""
    return page(templates, request, PAGE, await _page_context(request, uow, who), block="reports")


# A relazione changes no data: it may be asked after the mandate ended (a final one that failed).
@endpoint(*REPORT_ROLES)
@after_closure
async def request_report(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in ("kind", "period_from", "period_to")}
    try:
        wanted = frame.parse_request(
            values["kind"], values["period_from"], values["period_to"], _today(request)
        )
    except DomainError as exc:
        context = await _page_context(request, uow, who, values=values, problem=exc)
        return page(templates, request, PAGE, context, block="request_form", status_code=exc.status)
    report_id = await handlers_relazione.request_report(uow, who, wanted)
    found = await handlers_relazione.report(uow, who.tenant_id, report_id)
    # The form again, ready for another request, above the list that now holds this one (its
    # status polled there): the whole section is swapped.
    context = await _page_context(request, uow, who, queued=_view(found))
    response = page(templates, request, PAGE, context, block="reports")
    response.headers["HX-Retarget"] = "#relazioni"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@endpoint(*READ_REPORT_ROLES)
async def report_status(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    """A relazione's page; its status and progress alone are the fragment it polls until done, or
    (`riga=1`) its row of the list, totals included once it is ready."""
    found = await handlers_relazione.report(uow, who.tenant_id, _report_id(request))
    context = {"item": _view(found), "can_download": who.has_role(*READ_REPORT_ROLES)}
    if request.query_params.get("riga") == "1":
        return page(templates, request, PAGE, context, block="row")
    return page(templates, request, "relazione.html", context, block="status")


@endpoint("api", *READ_REPORT_ROLES)
async def download(request: Request, who: Identity, uow: UnitOfWork) -> AfterCommit:
    """The stored file, after checking its SHA-256; the download is recorded."""
    storage = ctx(request).storage
    _, stored = await handlers_relazione.open_file(uow, storage, who, _report_id(request), _format(request))
    name = stored.object_key.rsplit("/", 1)[-1]
    return stored_download(
        request, who.tenant_id, stored.object_key, name, handlers_relazione.MEDIA_TYPES[stored.format]
    )


# --- JSON API ----------------------------------------------------------------------------------


def report_json(r: Report, base: str) -> dict[str, Any]:
    links = {f.format: f"{base}/{r.id}.{f.format}" for f in r.files}
    return {
        "id": str(r.id),
        "kind": r.kind,
        "period_from": r.period_from.isoformat() if r.period_from else None,
        "period_to": r.period_to.isoformat() if r.period_to else None,
        "version": r.version,
        "status": r.status,
        "progress": {"done": r.done_rows, "total": r.total_rows},
        "error": r.error or None,
        "requested_at": r.requested_at.isoformat(),
        "generated_at": r.generated_at.isoformat() if r.generated_at else None,
        "generated_by": r.generated_by,
        # assigned is net of the office's sgravi (cancelled) and rettifiche (corrected), as the
        # portal's; original = assigned + cancelled + corrected (null before they were recorded).
        "original_cents": r.original_cents,
        "assigned_cents": r.assigned_cents,
        "cancelled_cents": r.cancelled_cents,
        "corrected_cents": r.corrected_cents,
        "collected_cents": r.collected_cents,
        "residual_cents": r.residual_cents,
        "aggio_cents": r.aggio_cents,
        "aggio_rate_bp": r.aggio_rate_bp,
        "files": {f.format: {"sha256": f.sha256, "size": f.size, "url": links[f.format]} for f in r.files},
    }


API = "/api/v1/reporting/reports"


# The Comune's own software (API key) may request the relazione, like its administrators.
@endpoint("api", *REPORT_ROLES)
@after_closure
async def api_request_report(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    body = await json_object(request)
    wanted = frame.parse_request(
        body.get("kind"), body.get("period_from"), body.get("period_to"), _today(request)
    )
    report_id = await handlers_relazione.request_report(uow, who, wanted)
    found = await handlers_relazione.report(uow, who.tenant_id, report_id)
    return JSONResponse(report_json(found, API), status_code=202)


@endpoint("api", *READ_REPORT_ROLES)
async def api_report(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    found = await handlers_relazione.report(uow, who.tenant_id, _report_id(request))
    return JSONResponse(report_json(found, API))


@endpoint("api", *READ_REPORT_ROLES)
async def api_reports(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    found = await handlers_relazione.reports(uow, who.tenant_id)
    return JSONResponse({"reports": [report_json(r, API) for r in found]})


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting/reports"
    return [
        Route(web, reports_page, methods=["GET"]),
        Route(web, request_report, methods=["POST"]),
        # The files before the page: `{report_id}` alone would take "<id>.pdf" too.
        *(Route(f"{web}/{{report_id}}.{fmt}", download, methods=["GET"]) for fmt in rel.FORMATS),
        Route(f"{web}/{{report_id}}", report_status, methods=["GET"]),
        Route(API, api_reports, methods=["GET"]),
        Route(API, api_request_report, methods=["POST"]),
        *(Route(f"{API}/{{report_id}}.{fmt}", download, methods=["GET"]) for fmt in rel.FORMATS),
        Route(f"{API}/{{report_id}}", api_report, methods=["GET"]),
    ]
