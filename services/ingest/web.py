"""Views of batches (HTMX pages): each parses the request, calls a handler and renders.

The JSON API of batches is in `web_api`; debtors, contacts and tracing in `web_tracing`; `routes()`
gathers them all. Every view runs in the unit of work its `endpoint` opens and commits.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.ingest import exports, handlers, web_api, web_tracing
from services.ingest.web_common import (
    UPLOAD_ROLES,
    VIEW_ROLES,
    XLSX,
    batch_id_param,
    receive_upload,
    remove_raw_file,
    templates,
)
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, endpoint, is_htmx, page


def _batch_url(ident: Identity, batch_id: uuid.UUID) -> str:
    return f"/t/{ident.tenant_slug}/ingest/batches/{batch_id}"


# ---------------------------------------------------------------- pages


@endpoint(*VIEW_ROLES)
async def index(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    batches = await handlers.list_batches(uow, ident.tenant_id)
    closed = await uow.closure()  # the mandate ended: nothing more is loaded
    can_upload = ident.has_role(*UPLOAD_ROLES) and closed is None
    context = {"batches": batches, "can_upload": can_upload, "mandate_closed": closed}
    return page(templates, request, "ingest_index.html", context)


@endpoint(*UPLOAD_ROLES)
async def upload(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    batch_id = await receive_upload(request, ident, uow)
    url = _batch_url(ident, batch_id)
    if is_htmx(request):
        return Response(status_code=201, headers={"HX-Redirect": url, "Location": url})
    return RedirectResponse(url, status_code=303)


@endpoint(*VIEW_ROLES)
async def batch_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    status = await handlers.batch_status(uow, ident, batch_id_param(request))
    context = {
        "batch": status.batch,
        "rows": status.rows,
        "progress": status.progress,
        "earlier": status.earlier,
        # The status polled while the file is read: the line of its format comes along.
        "polled": is_htmx(request),
    }
    return page(templates, request, "ingest_batch.html", context, block="status")


# ---------------------------------------------------------------- column mapping


async def _waiting_choices(request: Request, ident: Identity, uow: UnitOfWork) -> tuple[Any, dict[int, str]]:
    """The batch waiting for its columns and the user's choice (column index -> field) in the form."""
    batch = await handlers.waiting_batch(uow, ident.tenant_id, batch_id_param(request))
    async with request.form(max_fields=200) as form:
        choices = {i: str(form.get(f"col_{i}") or "") for i in range(len(batch.layout["header"]))}
    return batch, choices


@endpoint(*UPLOAD_ROLES)
async def mapping_preview(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    batch, choices = await _waiting_choices(request, ident, uow)
    preview = await handlers.preview_mapping(uow, ident, batch, choices)
    context = {"batch": batch, "rows": preview.rows, "missing": preview.missing, "mapping": preview.mapping}
    return templates.TemplateResponse(request, "ingest_preview.html", context)


@endpoint(*UPLOAD_ROLES)
async def mapping_confirm(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    batch, choices = await _waiting_choices(request, ident, uow)
    await handlers.apply_mapping(uow, ident, batch, choices)
    url = _batch_url(ident, batch.id)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@endpoint(*UPLOAD_ROLES)
async def discard(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    """A batch waiting for its columns discarded (a wrong file); its raw file removed after commit."""
    batch = await handlers.discard_batch(uow, ident, batch_id_param(request))

    async def done() -> Response:
        await remove_raw_file(request, ident, batch)
        url = _batch_url(ident, batch.id)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    return AfterCommit(done)


# ---------------------------------------------------------------- error report (pages and API)


def _report_name(batch: Any, extension: str, prefix: str = "errori") -> str:
    stem = PurePosixPath(batch.filename).stem or "caricamento"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80]
    return f"{prefix}-{safe}.{extension}"


async def _error_report(
    request: Request,
    ident: Identity,
    uow: UnitOfWork,
    extension: str,
    media_type: str,
    warnings: bool = False,
) -> AfterCommit:
    """A batch's rows that were not registered, as a file the Comune corrects and uploads again
    (or, `warnings`, the rows registered with warnings: what to check in its own records);
    rendered once the reading (and its access-log entry) is committed."""
    batch_id = batch_id_param(request)
    which, prefix, action = (
        ("warning", "avvertenze", "warnings") if warnings else ("problem", "errori", "errors")
    )
    batch, rows = await handlers.problem_rows(uow, ident, batch_id, f"download_{action}_{extension}", which)
    render = exports.csv_report if extension == "csv" else exports.xlsx_report
    render_warnings = exports.csv_warnings if extension == "csv" else exports.xlsx_warnings

    async def respond() -> Response:
        header = list((batch.layout or {}).get("header", []))
        body = render_warnings(rows) if warnings else render(header, rows)
        disposition = f'attachment; filename="{_report_name(batch, extension, prefix)}"'
        return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})

    return AfterCommit(respond)


@endpoint(*VIEW_ROLES)
async def error_report_csv(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    return await _error_report(request, ident, uow, "csv", "text/csv; charset=utf-8")


@endpoint(*VIEW_ROLES)
async def error_report_xlsx(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    return await _error_report(request, ident, uow, "xlsx", XLSX)


@endpoint(*VIEW_ROLES)
async def warning_report_csv(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    return await _error_report(request, ident, uow, "csv", "text/csv; charset=utf-8", warnings=True)


@endpoint(*VIEW_ROLES)
async def warning_report_xlsx(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    return await _error_report(request, ident, uow, "xlsx", XLSX, warnings=True)


def routes() -> list[BaseRoute]:
    one = "/t/{tenant}/ingest/batches/{batch_id}"
    api = web_api
    tracing = web_tracing
    return [
        Route("/t/{tenant}/ingest/", index, methods=["GET"]),
        Route("/t/{tenant}/ingest/batches", upload, methods=["POST"]),
        Route(one, batch_page, methods=["GET"]),
        Route(f"{one}/mapping/preview", mapping_preview, methods=["POST"]),
        Route(f"{one}/mapping", mapping_confirm, methods=["POST"]),
        Route(f"{one}/discard", discard, methods=["POST"]),
        Route(f"{one}/errors.csv", error_report_csv, methods=["GET"]),
        Route(f"{one}/errors.xlsx", error_report_xlsx, methods=["GET"]),
        Route(f"{one}/warnings.csv", warning_report_csv, methods=["GET"]),
        Route(f"{one}/warnings.xlsx", warning_report_xlsx, methods=["GET"]),
        Route("/api/v1/ingest/batches", api.api_upload, methods=["POST"]),
        Route("/api/v1/ingest/batches/{batch_id}", api.api_batch, methods=["GET"]),
        Route("/api/v1/ingest/batches/{batch_id}/rows", api.api_rows, methods=["GET"]),
        Route("/api/v1/ingest/batches/{batch_id}/mapping", api.api_mapping, methods=["POST"]),
        Route("/api/v1/ingest/batches/{batch_id}/discard", api.api_discard, methods=["POST"]),
        Route("/api/v1/ingest/batches/{batch_id}/errors.csv", error_report_csv, methods=["GET"]),
        Route("/api/v1/ingest/batches/{batch_id}/errors.xlsx", error_report_xlsx, methods=["GET"]),
        Route("/t/{tenant}/ingest/tracing", tracing.tracing_page, methods=["GET"]),
        Route("/t/{tenant}/ingest/tracing/import", tracing.tracing_import, methods=["POST"]),
        Route("/t/{tenant}/ingest/debtors/{debtor_id}", tracing.debtor_page, methods=["GET"]),
        Route("/t/{tenant}/ingest/debtors/{debtor_id}/contacts", tracing.add_contact, methods=["POST"]),
        Route("/t/{tenant}/ingest/contacts/{contact_id}/wrong", tracing.mark_wrong, methods=["POST"]),
        Route("/t/{tenant}/ingest/cleaning-report.pdf", tracing.cleaning_report_pdf, methods=["GET"]),
        Route("/t/{tenant}/ingest/cleaning-report.xlsx", tracing.cleaning_report_xlsx, methods=["GET"]),
        Route("/api/v1/ingest/tracing/import", tracing.tracing_import, methods=["POST"]),
        Route("/api/v1/ingest/debtors/{debtor_id}", tracing.api_debtor, methods=["GET"]),
        Route("/api/v1/ingest/debtors/{debtor_id}/contacts", tracing.add_contact, methods=["POST"]),
        Route("/api/v1/ingest/contacts/{contact_id}/wrong", tracing.mark_wrong, methods=["POST"]),
        Route("/api/v1/ingest/cleaning-report.pdf", tracing.cleaning_report_pdf, methods=["GET"]),
        Route("/api/v1/ingest/cleaning-report.xlsx", tracing.cleaning_report_xlsx, methods=["GET"]),
    ]
