"""Views of debtors, their contacts and tracing (pages and API), and of the cleaning report: each
parses the request, calls a handler of `handlers_tracing` and renders."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.ingest import exports, handlers_tracing
from services.ingest.dates import today
from services.ingest.domain_tracing import MANUAL_FIELDS
from services.ingest.handlers_tracing import DebtorView, TracingState
from services.ingest.labels import GRADES
from services.ingest.web_common import (
    TRACING_ROLES,
    VIEW_ROLES,
    XLSX,
    UploadTooLarge,
    int_param,
    is_api,
    templates,
    uuid_param,
)
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.formats import format_phone
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, endpoint, is_htmx, page

MAX_TRACING_BYTES = 5 * 1024 * 1024
NO_DEBTOR = "Debitore non trovato."


def contact_json(c: Any) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "kind": c.kind,
        "value": c.value,
        "source": c.source,
        "found_on": c.found_on.isoformat(),
        "entered_by": c.entered_by,
        "confidence": c.confidence,
        "active": c.active,
        "wrong": c.wrong,
    }


def _debtor_context(ident: Identity, view: DebtorView) -> dict[str, Any]:
    return {
        "debtor": view.debtor,
        "contacts": view.contacts,
        "positions": view.positions,
        "can_trace": ident.has_role(*TRACING_ROLES),
        "today": today(),
    }


# ---------------------------------------------------------------- debtors and contacts


@endpoint(*VIEW_ROLES)
async def debtor_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    debtor_id = uuid_param(request, "debtor_id", NO_DEBTOR)
    view = await handlers_tracing.read_debtor(uow, ident, debtor_id, "view_debtor")
    return page(templates, request, "ingest_debtor.html", _debtor_context(ident, view), block="contacts")


@endpoint(*VIEW_ROLES)
async def api_debtor(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    debtor_id = uuid_param(request, "debtor_id", NO_DEBTOR)
    view = await handlers_tracing.read_debtor(uow, ident, debtor_id, "api_debtor")
    debtor = view.debtor
    return JSONResponse(
        {
            "id": str(debtor.id),
            "fiscal_code": debtor.fiscal_code,
            "name": debtor.name,
            "grade": debtor.grade,
            "positions": [
                {
                    "id": str(p.id),
                    "revenue_type": p.revenue_type,
                    "year": p.year,
                    "act_number": p.act_number,
                    "amount_cents": p.amount_cents,
                }
                for p in view.positions
            ],
            "contacts": [contact_json(c) for c in view.contacts],
        }
    )


@endpoint(*TRACING_ROLES)
async def add_contact(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """Manual entry by an operator, with its provenance."""
    debtor_id = uuid_param(request, "debtor_id", NO_DEBTOR)
    async with request.form(max_fields=20) as form:
        fields = {k: str(form.get(k) or "") for k in MANUAL_FIELDS}
    try:
        view = await handlers_tracing.add_contact(uow, ident, debtor_id, fields)
    except DomainError as problem:  # refused before anything is written
        if is_api(request) or problem.status == 404:
            raise
        # The section again with what was typed and the message at its field, not in its place.
        try:
            view = await handlers_tracing.read_debtor(uow, ident, debtor_id, "view_debtor")
        except NotFound:
            raise problem from None  # no debtor to show the form for: the entry's own refusal
        extra = {"problem": problem, "typed": fields}
        return _contacts_fragment(request, ident, view, status=problem.status, extra=extra)
    added = f"Recapito «{format_phone(view.added.value)}» aggiunto."
    return _contacts_fragment(request, ident, view, status=201, extra={"notice": added})


@endpoint(*TRACING_ROLES)
async def mark_wrong(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    contact_id = uuid_param(request, "contact_id", "Recapito non trovato.")
    view = await handlers_tracing.mark_wrong(uow, ident, contact_id)
    gone = next((c for c in view.contacts if c.id == contact_id), None)
    notice = (
        f"Recapito «{format_phone(gone.value)}» segnalato errato." if gone else "Recapito segnalato errato."
    )
    return _contacts_fragment(request, ident, view, extra={"notice": notice})


def _contacts_fragment(
    request: Request,
    ident: Identity,
    view: DebtorView,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:
    if is_api(request):
        return JSONResponse(
            {"grade": view.debtor.grade, "contacts": [contact_json(c) for c in view.contacts]}, status
        )
    context = _debtor_context(ident, view) | (extra or {})
    return page(templates, request, "ingest_debtor.html", context, block="contacts", status_code=status)


# ---------------------------------------------------------------- tracing


def _tracing_context(state: TracingState) -> dict[str, Any]:
    return {"queue": state.queue, "grades": state.grades, "grade_labels": GRADES, "offset": state.offset}


@endpoint(*VIEW_ROLES)
async def tracing_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    offset = int_param(request, "offset", 0)
    state = await handlers_tracing.tracing_state(uow, ident, offset)
    context = {**_tracing_context(state), "can_trace": ident.has_role(*TRACING_ROLES)}
    return page(templates, request, "ingest_tracing.html", context)


@endpoint(*TRACING_ROLES)
async def tracing_import(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """A tracing provider's CSV, all or nothing (`handlers_tracing.import_tracing`)."""
    async with request.form(max_files=1, max_fields=5, max_part_size=MAX_TRACING_BYTES) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise DomainError("Seleziona il file del rintraccio.", field="file")
        data = await upload.read(MAX_TRACING_BYTES + 1)
    if len(data) > MAX_TRACING_BYTES:
        raise UploadTooLarge("Il file del rintraccio supera 5 MB: dividerlo in più parti.", "file")
    result = await handlers_tracing.import_tracing(uow, ident, data)
    status = 400 if result.errors else 200
    if is_api(request):
        body: dict[str, Any] = {"added": result.added, "rows": result.rows}
        if result.errors:
            body["error"] = "Nessun recapito importato: correggi le righe indicate e ricarica il file."
            body["errors"] = [{"line": n, "reason": m} for n, m in result.errors]
        return JSONResponse(body, status_code=status)
    context = {"added": result.added, "errors": result.errors, "rows": result.rows}
    if result.added and is_htmx(request):  # the page's counts and queue change with it
        context.update(_tracing_context(await handlers_tracing.tracing_state(uow, ident, 0)))
    return page(templates, request, "ingest_tracing_result.html", context, status_code=status)


# ---------------------------------------------------------------- cleaning report


@endpoint(*VIEW_ROLES)
async def cleaning_report_pdf(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    report = await handlers_tracing.cleaning_report(uow, ident, "download_cleaning_pdf")

    async def respond() -> Response:  # rendered after the commit: no connection held meanwhile
        body = await asyncio.to_thread(exports.cleaning_pdf, report)
        headers = {"Content-Disposition": 'attachment; filename="bonifica-dati.pdf"'}
        return Response(body, media_type="application/pdf", headers=headers)

    return AfterCommit(respond)


@endpoint(*VIEW_ROLES)
async def cleaning_report_xlsx(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    report = await handlers_tracing.cleaning_report(uow, ident, "download_cleaning_xlsx")

    async def respond() -> Response:
        body = await asyncio.to_thread(exports.cleaning_xlsx, report)
        headers = {"Content-Disposition": 'attachment; filename="bonifica-dati.xlsx"'}
        return Response(body, media_type=XLSX, headers=headers)

    return AfterCommit(respond)
