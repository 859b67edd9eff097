"""HTTP handlers of the ingest service: upload pages (HTMX) and the JSON API."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive

from services.contracts import BatchReceived, DebtorContactUpdated
from services.ingest import exports, repository
from services.ingest.domain import (
    CONTACT_KINDS,
    GRADES,
    MAPPABLE_FIELDS,
    CellError,
    ColumnMapping,
    MappingError,
    TracedContacts,
    UnreadableFile,
    header_signature,
    mapping_from_choices,
    normalise_contact,
    parse_confidence,
    parse_date,
    parse_traced,
    row_values,
    tracing_mapping,
    validate,
)
from services.ingest.exports import CleaningReport
from services.ingest.reader import ENCODINGS
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.logs import correlation_var
from services.kernel.storage import tenant_key
from services.kernel.web import ctx, is_htmx, page, require_role, templates_for

templates = templates_for(Path(__file__).parent)
ROME = ZoneInfo("Europe/Rome")
UPLOAD_ROLES = ("comune_admin", "operator", "supervisor", "platform_admin", "api")
VIEW_ROLES = ("comune_viewer", *UPLOAD_ROLES)
STATUS_LABELS = {
    "received": "Ricevuto, in attesa di elaborazione",
    "processing": "In elaborazione",
    "needs_mapping": "In attesa di conferma delle colonne",
    "completed": "Elaborato",
    "failed": "Non elaborabile",
}
REASON_LABELS = {
    "taxpayer": "Codice fiscale / partita IVA non valido",
    "amount": "Importo non valido",
    "revenue_type": "Tipo di entrata non riconosciuto",
    "year": "Anno di riferimento non valido",
    "act_number": "Numero atto mancante",
    "nothing_due": "Nessun importo residuo",
}
FIELD_LABELS = {
    "taxpayer": "Codice fiscale / P.IVA",
    "amount": "Importo",
    "revenue_type": "Tipo entrata",
    "year": "Anno",
    "act_number": "Numero atto",
}
WARNING_LABELS = {
    "phone": "Telefono non utilizzabile",
    "email": "E-mail non valida",
    "address": "Indirizzo incompleto",
    "limitation": "Atto oltre i cinque anni (prescrizione)",
    "formula": "Testo che inizia con = + - @",
    "date": "Data non leggibile",
}
ROW_FILTERS = ("accepted", "duplicate", "conflict", "rejected", "warning", "problem")
FORM_OVERHEAD = 64 * 1024


class UploadTooLarge(DomainError):
    status = 413


def _verdict_label(verdict: str) -> str:
    if verdict.startswith("rejected:"):
        return "Scartata"
    return {"duplicate": "Duplicata", "conflict": "In conflitto", "accepted": "Accettata"}.get(
        verdict, verdict
    )


templates.env.filters["verdict_label"] = _verdict_label
templates.env.globals.update(
    status_labels=STATUS_LABELS,
    reason_labels=REASON_LABELS,
    field_labels=FIELD_LABELS,
    warning_labels=WARNING_LABELS,
    mappable_fields=MAPPABLE_FIELDS,
    encodings=ENCODINGS,
    contact_kinds=CONTACT_KINDS,
    grade_labels=GRADES,
)


# ---------------------------------------------------------------- upload (shared by page and API)


async def receive_upload(request: Request) -> uuid.UUID:
    """Store the upload, record the batch and queue its processing, in one transaction."""
    ident = require_role(request, *UPLOAD_ROLES)
    context = ctx(request)
    limit = context.settings.max_upload_bytes
    too_large = UploadTooLarge(f"Il file supera la dimensione massima di {_megabytes(limit)}.", "file")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise too_large
    # The body is counted as it streams in, so an endless upload is cut off at the limit.
    limited = Request(request.scope, _limited_receive(request.receive, limit + FORM_OVERHEAD, too_large))
    async with limited.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise DomainError("Seleziona un file da caricare.", field="file")
        if upload.size is not None and upload.size > limit:
            raise too_large
        if upload.size == 0:
            raise DomainError("Il file è vuoto.", field="file")
        encoding, sheet = _choices(form.get("encoding"), form.get("sheet"))
        batch_id = uuid.uuid4()
        key = tenant_key(ident.tenant_id, "ingest", str(batch_id), "raw")
        content_type = upload.content_type or "application/octet-stream"
        stored = await context.storage.put(ident.tenant_id, key, upload.file, content_type)
        filename = _safe_filename(upload.filename)
    if stored.size == 0:
        await context.storage.delete(ident.tenant_id, key)
        raise DomainError("Il file è vuoto.", field="file")
    correlation = correlation_var.get() or ""
    async with context.db.unit_of_work(ident.tenant_id, correlation) as uow:
        await repository.insert_batch(uow, ident.tenant_id, batch_id, filename, stored, ident.display_name)
        await repository.set_choices(uow, ident.tenant_id, batch_id, encoding, sheet)
        await uow.publish([BatchReceived(batch_id=str(batch_id)).envelope(ident.tenant_id, correlation)])
        await uow.commit()
    return batch_id


def _megabytes(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def _limited_receive(receive: Receive, limit: int, error: Exception) -> Callable[[], Awaitable[Message]]:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise error
        return message

    return limited


def _choices(encoding: object, sheet: object) -> tuple[str | None, str | None]:
    chosen = str(encoding or "").strip().lower()
    if chosen in ("", "auto"):
        chosen_encoding = None
    elif chosen in ENCODINGS:
        chosen_encoding = chosen
    else:
        raise DomainError(
            "Codifica non supportata: scegliere UTF-8, Windows-1252 o ISO-8859-1.", field="encoding"
        )
    chosen_sheet = str(sheet or "").strip()[:100] or None
    return chosen_encoding, chosen_sheet


def _safe_filename(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:200] or "file"


def _batch_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["batch_id"])
    except ValueError as exc:
        raise NotFound("Caricamento non trovato.") from exc


async def _load_batch(request: Request, with_rows: bool) -> tuple[Any, list[Any]]:
    ident = require_role(request, *VIEW_ROLES)
    batch_id = _batch_id(request)
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        batch = await repository.get_batch(uow, ident.tenant_id, batch_id)
        if batch is None:
            raise NotFound("Caricamento non trovato.")
        rows = await repository.list_problem_rows(uow, ident.tenant_id, batch_id) if with_rows else []
        # Rejected rows, or the sample rows of a file waiting for its columns, are personal data.
        if rows or (with_rows and batch.status == "needs_mapping"):
            await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_batch_rows", batch_id)
            await uow.commit()
    return batch, rows


# ---------------------------------------------------------------- pages


async def index(request: Request) -> Response:
    ident = require_role(request, *VIEW_ROLES)
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        batches = await repository.list_batches(uow, ident.tenant_id)
    can_upload = ident.has_role(*UPLOAD_ROLES)
    return page(templates, request, "ingest_index.html", {"batches": batches, "can_upload": can_upload})


async def upload(request: Request) -> Response:
    batch_id = await receive_upload(request)
    url = f"/t/{require_role(request, *UPLOAD_ROLES).tenant_slug}/ingest/batches/{batch_id}"
    if is_htmx(request):
        return Response(status_code=201, headers={"HX-Redirect": url, "Location": url})
    return RedirectResponse(url, status_code=303)


async def batch_page(request: Request) -> Response:
    batch, rows = await _load_batch(request, with_rows=True)
    progress = None
    if batch.status in ("received", "processing"):
        ident = require_role(request, *VIEW_ROLES)
        async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
            progress = await repository.get_progress(uow, ident.tenant_id, batch.id)
    context = {"batch": batch, "rows": rows, "progress": progress}
    return page(templates, request, "ingest_batch.html", context, block="status")


# ---------------------------------------------------------------- column mapping


def _choices_from_form(form: Any, width: int) -> dict[int, str]:
    return {i: str(form.get(f"col_{i}") or "") for i in range(width)}


async def _waiting_batch(request: Request) -> tuple[Any, Any]:
    ident = require_role(request, *UPLOAD_ROLES)
    batch, _ = await _load_batch(request, with_rows=False)
    if batch.status != "needs_mapping" or not batch.layout:
        raise Conflict("Questo caricamento non è in attesa di conferma delle colonne.")
    return ident, batch


async def mapping_preview(request: Request) -> Response:
    _, batch = await _waiting_batch(request)
    header = list(batch.layout["header"])
    async with request.form(max_fields=200) as form:
        choices = _choices_from_form(form, len(header))
    columns = {name: i for i, name in sorted(choices.items()) if name}
    ident = require_role(request, *UPLOAD_ROLES)
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_mapping_preview", batch.id)
        await uow.commit()
    mapping = ColumnMapping(columns)
    missing = mapping.missing()
    rows = []
    if not missing:
        sample = [(n + 1, list(cells)) for n, cells in enumerate(batch.layout["sample"])]
        rows = validate(sample, mapping, 0, datetime.now(ROME).year).verdicts
    context = {"batch": batch, "rows": rows, "missing": missing, "mapping": mapping}
    return templates.TemplateResponse(request, "ingest_preview.html", context)


async def apply_mapping(request: Request, batch: Any, choices: dict[int, str]) -> None:
    """Check the user's mapping, save it for the tenant's header and send the batch back to the queue."""
    ident = require_role(request, *UPLOAD_ROLES)
    header = list(batch.layout["header"])
    try:
        mapping = mapping_from_choices(choices, len(header))
    except MappingError as exc:
        raise DomainError(exc.message, field="mapping") from exc
    correlation = correlation_var.get() or ""
    chosen = {"header_line": batch.layout["header_line"], "columns": mapping.columns}
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation) as uow:
        if not await repository.confirm_mapping(uow, ident.tenant_id, batch.id, chosen):
            raise Conflict("Questo caricamento non è in attesa di conferma delle colonne.")
        signature = header_signature(header)
        await repository.save_mapping(
            uow, ident.tenant_id, signature, header, mapping.columns, ident.display_name
        )
        await uow.publish([BatchReceived(batch_id=str(batch.id)).envelope(ident.tenant_id, correlation)])
        await uow.commit()


async def mapping_confirm(request: Request) -> Response:
    _, batch = await _waiting_batch(request)
    async with request.form(max_fields=200) as form:
        choices = _choices_from_form(form, len(batch.layout["header"]))
    await apply_mapping(request, batch, choices)
    url = f"/t/{require_role(request, *UPLOAD_ROLES).tenant_slug}/ingest/batches/{batch.id}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def api_mapping(request: Request) -> Response:
    _, batch = await _waiting_batch(request)
    try:
        body = await request.json()
        columns = {str(k): int(v) for k, v in dict(body["columns"]).items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise DomainError(
            'Corpo non valido: atteso {"columns": {"campo": indice di colonna}}.', "mapping"
        ) from exc
    await apply_mapping(request, batch, {index: name for name, index in columns.items()})
    return JSONResponse({"id": str(batch.id), "status": "received"}, status_code=202)


# ---------------------------------------------------------------- error report


async def _problem_rows(request: Request, action: str) -> tuple[Any, list[Any]]:
    ident = require_role(request, *VIEW_ROLES)
    batch_id = _batch_id(request)
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        batch = await repository.get_batch(uow, ident.tenant_id, batch_id)
        if batch is None:
            raise NotFound("Caricamento non trovato.")
        rows: list[Any] = []
        after = 0
        while page_rows := await repository.list_rows(
            uow, ident.tenant_id, batch_id, "problem", after=after, limit=5000
        ):
            rows.extend(page_rows)
            after = page_rows[-1].row_number
        await repository.access.record(
            uow, ident.tenant_id, ident.user_id, action, batch_id, f"{len(rows)} righe"
        )
        await uow.commit()
    return batch, rows


def _report_name(batch: Any, extension: str) -> str:
    stem = PurePosixPath(batch.filename).stem or "caricamento"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80]
    return f"errori-{safe}.{extension}"


async def error_report_csv(request: Request) -> Response:
    batch, rows = await _problem_rows(request, "download_errors_csv")
    body = exports.csv_report(list((batch.layout or {}).get("header", [])), rows)
    disposition = f'attachment; filename="{_report_name(batch, "csv")}"'
    return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})


async def error_report_xlsx(request: Request) -> Response:
    batch, rows = await _problem_rows(request, "download_errors_xlsx")
    body = exports.xlsx_report(list((batch.layout or {}).get("header", [])), rows)
    disposition = f'attachment; filename="{_report_name(batch, "xlsx")}"'
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


# ---------------------------------------------------------------- API


def batch_json(batch: Any) -> dict[str, Any]:
    return {
        "id": str(batch.id),
        "status": batch.status,
        "filename": batch.filename,
        "format": batch.format,
        "encoding": batch.encoding,
        "sheet": batch.sheet,
        "data_rows": batch.data_rows,
        "accepted": batch.accepted,
        "accepted_total_cents": batch.accepted_total_cents,
        "duplicates": batch.duplicates,
        "conflicts": batch.conflicts,
        "rejected": dict(batch.rejected or {}),
        "warnings": batch.warnings,
        "registered": batch.registered,
        "raw_sha256": batch.raw_sha256,
        "error": batch.error,
        "mapping": _mapping_json(batch),
    }


def _mapping_json(batch: Any) -> dict[str, Any] | None:
    if batch.status != "needs_mapping" or not batch.layout:
        return None
    keys = ("header_line", "header", "proposal", "missing", "ambiguous")
    return {k: batch.layout.get(k) for k in keys}


def row_json(row: Any) -> dict[str, Any]:
    return {
        "row_number": row.row_number,
        "line_number": row.line_number,
        "verdict": row.verdict,
        "field": row.field,
        "reason": row.reason_it,
        "warnings": list(row.warnings or []),
        "warnings_text": row.warnings_it,
        "fiscal_code": row.fiscal_code,
        "revenue_type": row.revenue_type,
        "year": row.year,
        "act_number": row.act_number,
        "amount_cents": row.amount_cents,
        "phone": row.phone,
        "email": row.email,
    }


async def api_upload(request: Request) -> Response:
    batch_id = await receive_upload(request)
    return JSONResponse({"id": str(batch_id), "status": "received"}, status_code=202)


async def api_batch(request: Request) -> Response:
    batch, _ = await _load_batch(request, with_rows=False)
    return JSONResponse(batch_json(batch))


async def api_rows(request: Request) -> Response:
    """Rows with their verdicts; `verdict` filters, `after` (a row number) pages, `limit` ≤ 1000."""
    ident = require_role(request, *VIEW_ROLES)
    batch_id = _batch_id(request)
    verdict = request.query_params.get("verdict") or None
    if verdict is not None and verdict not in ROW_FILTERS and not verdict.startswith("rejected:"):
        raise DomainError(f"Filtro non valido: usare uno tra {', '.join(ROW_FILTERS)}.", field="verdict")
    after, limit = _int_param(request, "after", 0), min(max(_int_param(request, "limit", 500), 1), 1000)
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        if await repository.get_batch(uow, ident.tenant_id, batch_id) is None:
            raise NotFound("Caricamento non trovato.")
        rows = await repository.list_rows(uow, ident.tenant_id, batch_id, verdict, after, limit)
        detail = f"verdict={verdict or ''} after={after} rows={len(rows)}"
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "api_rows", batch_id, detail)
        await uow.commit()
    next_after = rows[-1].row_number if len(rows) == limit else None
    return JSONResponse({"rows": [row_json(r) for r in rows], "next_after": next_after})


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        raise DomainError(f"Parametro «{name}» non valido.", field=name)
    return int(value)


# ---------------------------------------------------------------- debtors, contacts, tracing

TRACING_ROLES = ("comune_admin", "operator", "supervisor", "platform_admin", "api")
MAX_TRACING_BYTES = 5 * 1024 * 1024
MAX_TRACING_ROWS = 50_000
EVENTS_PER_WRITE = 5_000


def _uuid_param(request: Request, name: str, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError as exc:
        raise NotFound(message) from exc


async def _debtor_view(uow: Any, tenant: uuid.UUID, debtor_id: uuid.UUID) -> dict[str, Any]:
    debtor = await repository.get_debtor(uow, tenant, debtor_id)
    if debtor is None:
        raise NotFound("Debitore non trovato.")
    return {
        "debtor": debtor,
        "contacts": await repository.debtor_contacts(uow, tenant, debtor_id),
        "positions": await repository.debtor_positions(uow, tenant, debtor_id),
    }


async def debtor_page(request: Request) -> Response:
    ident = require_role(request, *VIEW_ROLES)
    debtor_id = _uuid_param(request, "debtor_id", "Debitore non trovato.")
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        view = await _debtor_view(uow, ident.tenant_id, debtor_id)
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_debtor", debtor_id)
        await uow.commit()
    view |= {"can_trace": ident.has_role(*TRACING_ROLES), "today": datetime.now(ROME).date()}
    return page(templates, request, "ingest_debtor.html", view, block="contacts")


async def api_debtor(request: Request) -> Response:
    ident = require_role(request, *VIEW_ROLES)
    debtor_id = _uuid_param(request, "debtor_id", "Debitore non trovato.")
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        view = await _debtor_view(uow, ident.tenant_id, debtor_id)
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "api_debtor", debtor_id)
        await uow.commit()
    debtor = view["debtor"]
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
                for p in view["positions"]
            ],
            "contacts": [contact_json(c) for c in view["contacts"]],
        }
    )


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


async def _contact_changed(uow: Any, tenant: uuid.UUID, debtor: Any, contact: Any) -> None:
    await _contacts_changed(uow, tenant, {debtor.id: debtor}, [contact])


async def _contacts_changed(
    uow: Any, tenant: uuid.UUID, debtors: dict[uuid.UUID, Any], changed: list[Any]
) -> None:
    """Regrade the debtors of the changed contacts and tell the other services, one event per
    contact (with its debtor's grade and active phones after all the changes), in the caller's
    transaction; a few thousand events are built at a time (a tracing file may add 200,000)."""
    ids = list({c.debtor_id for c in changed})
    grades = await repository.regrade_some(uow, tenant, ids)
    phones = await repository.active_phones_of(uow, tenant, ids)
    for start in range(0, len(changed), EVENTS_PER_WRITE):
        events = [
            DebtorContactUpdated(
                debtor_id=str(contact.debtor_id),
                fiscal_code=debtors[contact.debtor_id].fiscal_code,
                contact_id=str(contact.id),
                kind=contact.kind,
                value=contact.value,
                source=contact.source,
                active=contact.active,
                grade=grades[contact.debtor_id],
                active_phones=tuple(phones.get(contact.debtor_id, ())),
                found_on=contact.found_on.isoformat(),
                confidence=contact.confidence,
            ).envelope(tenant, uow.correlation_id)
            for contact in changed[start : start + EVENTS_PER_WRITE]
        ]
        await uow.publish(events)


async def add_contact(request: Request) -> Response:
    """Manual entry by an operator, with its provenance."""
    ident = require_role(request, *TRACING_ROLES)
    debtor_id = _uuid_param(request, "debtor_id", "Debitore non trovato.")
    async with request.form(max_fields=20) as form:
        fields = {k: str(form.get(k) or "") for k in ("kind", "value", "source", "found_on", "confidence")}
    today = datetime.now(ROME).date()
    try:
        datum = normalise_contact(fields["kind"], fields["value"])
        confidence = parse_confidence(fields["confidence"], 80)
    except CellError as exc:
        raise DomainError(exc.message, field="value" if exc.reason == fields["kind"] else exc.reason) from exc
    found_on = parse_date(fields["found_on"]) if fields["found_on"] else today
    if found_on is None or found_on > today:
        raise DomainError("Data di reperimento non valida.", field="found_on")
    source = " ".join(fields["source"].split())[:100] or "operatore"
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        debtor = await repository.get_debtor(uow, ident.tenant_id, debtor_id)
        if debtor is None:
            raise NotFound("Debitore non trovato.")
        contact = await repository.add_contact(
            uow, ident.tenant_id, debtor_id, datum, source, found_on, ident.display_name, confidence
        )
        if contact is None:
            raise Conflict("Questo recapito è già registrato per il debitore (anche se segnalato errato).")
        await _contact_changed(uow, ident.tenant_id, debtor, contact)
        view = await _debtor_view(uow, ident.tenant_id, debtor_id)
        await uow.commit()
    return _contacts_fragment(request, ident, view, status=201)


async def mark_wrong(request: Request) -> Response:
    ident = require_role(request, *TRACING_ROLES)
    contact_id = _uuid_param(request, "contact_id", "Recapito non trovato.")
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        contact = await repository.deactivate_contact(uow, ident.tenant_id, contact_id, ident.display_name)
        if contact is None:
            raise NotFound("Recapito non trovato o già disattivato.")
        debtor = await repository.get_debtor(uow, ident.tenant_id, contact.debtor_id)
        await _contact_changed(uow, ident.tenant_id, debtor, contact)
        view = await _debtor_view(uow, ident.tenant_id, contact.debtor_id)
        await uow.commit()
    return _contacts_fragment(request, ident, view)


def _contacts_fragment(request: Request, ident: Any, view: dict[str, Any], status: int = 200) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"grade": view["debtor"].grade, "contacts": [contact_json(c) for c in view["contacts"]]}, status
        )
    context = {**view, "can_trace": ident.has_role(*TRACING_ROLES), "today": datetime.now(ROME).date()}
    return page(templates, request, "ingest_debtor.html", context, block="contacts", status_code=status)


async def tracing_page(request: Request) -> Response:
    ident = require_role(request, *VIEW_ROLES)
    offset = _int_param(request, "offset", 0)
    context = {**await _tracing_state(request, ident, offset), "can_trace": ident.has_role(*TRACING_ROLES)}
    return page(templates, request, "ingest_tracing.html", context)


async def _tracing_state(request: Request, ident: Any, offset: int) -> dict[str, Any]:
    """The grade counts and a page of the tracing queue, whose reading is recorded (personal data)."""
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        queue = await repository.tracing_queue(uow, ident.tenant_id, offset=offset)
        grades = await repository.grade_counts(uow, ident.tenant_id)
        detail = f"offset={offset}"
        await repository.access.record(
            uow, ident.tenant_id, ident.user_id, "view_tracing_queue", None, detail
        )
        await uow.commit()
    return {"queue": queue, "grades": grades, "grade_labels": GRADES, "offset": offset}


async def tracing_import(request: Request) -> Response:
    """A tracing provider's CSV: its contacts are added with their provenance, all or nothing.

    A file with any unusable row changes nothing and lists every such row, so the provider's file can
    be corrected and sent again as a whole (nothing is half-imported, nothing is imported twice).
    """
    ident = require_role(request, *TRACING_ROLES)
    async with request.form(max_files=1, max_fields=5, max_part_size=MAX_TRACING_BYTES) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise DomainError("Seleziona il file del rintraccio.", field="file")
        data = await upload.read(MAX_TRACING_BYTES + 1)
    if len(data) > MAX_TRACING_BYTES:
        raise UploadTooLarge("Il file del rintraccio supera 5 MB: dividerlo in più parti.", "file")
    try:
        header, rows = tracing_rows(data)
        mapping = tracing_mapping(header)
    except UnreadableFile as exc:
        raise DomainError(exc.message, field="file") from exc
    today = datetime.now(ROME).date()
    errors: list[tuple[int, str]] = []
    traced: list[tuple[int, TracedContacts]] = []
    for line, cells in rows:
        try:
            traced.append((line, parse_traced(row_values(cells, mapping), today)))
        except CellError as exc:
            errors.append((line, exc.message))
    added = 0
    async with ctx(request).db.unit_of_work(ident.tenant_id, correlation_var.get() or "") as uow:
        known = await repository.debtors_by_fiscal_code(
            uow, ident.tenant_id, [t.fiscal_code for _, t in traced]
        )
        for line, row in traced:
            if row.fiscal_code not in known:
                errors.append((line, f"Contribuente {row.fiscal_code} non presente tra i debitori."))
        if not errors:
            new = [
                repository.NewContact(
                    known[row.fiscal_code].id, datum, row.source, row.found_on, row.confidence
                )
                for _, row in traced
                for datum in row.contacts
            ]
            inserted = await repository.add_contacts(uow, ident.tenant_id, ident.display_name, new)
            await _contacts_changed(uow, ident.tenant_id, {d.id: d for d in known.values()}, inserted)
            await uow.commit()
            added = len(inserted)
    errors.sort()
    status = 400 if errors else 200
    context = {"added": added, "errors": errors, "rows": len(rows)}
    if request.url.path.startswith("/api/"):
        body: dict[str, Any] = {"added": added, "rows": len(rows)}
        if errors:
            body["error"] = "Nessun recapito importato: correggi le righe indicate e ricarica il file."
            body["errors"] = [{"line": n, "reason": m} for n, m in errors]
        return JSONResponse(body, status_code=status)
    if added and is_htmx(request):  # the page's counts and queue change with it
        context.update(await _tracing_state(request, ident, 0))
    return page(templates, request, "ingest_tracing_result.html", context, status_code=status)


def tracing_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not data.strip():
        raise UnreadableFile("Il file del rintraccio è vuoto.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        rows = [(reader.line_num, cells) for cells in itertools.islice(reader, MAX_TRACING_ROWS + 1)]
    except csv.Error as exc:
        raise UnreadableFile(f"Il file del rintraccio non è un CSV leggibile: {exc}.") from exc
    if len(rows) > MAX_TRACING_ROWS:
        raise UnreadableFile(
            f"Il file del rintraccio supera {MAX_TRACING_ROWS} righe: dividerlo in più parti."
        )
    return header, [(n, c) for n, c in rows if any(x.strip() for x in c)]


async def _cleaning_report(request: Request, action: str) -> CleaningReport:
    ident = require_role(request, *VIEW_ROLES)
    tid = ident.tenant_id
    async with ctx(request).db.unit_of_work(tid, correlation_var.get() or "") as uow:
        unreachable = [
            d for d in await repository.tracing_queue(uow, tid, limit=100_000) if d.grade == "none"
        ]
        report = CleaningReport(
            comune=ident.tenant_name,
            generated_on=datetime.now(ROME).date(),
            normalised_phones=await repository.normalised_phone_count(uow, tid),
            warnings=await repository.warning_counts(uow, tid),
            grades=await repository.grade_counts(uow, tid),
            contact_counts=await repository.contact_counts(uow, tid),
            traced=await repository.traced_contacts(uow, tid),
            unreachable=unreachable,
        )
        await repository.access.record(uow, tid, ident.user_id, action)
        await uow.commit()
    return report


async def cleaning_report_pdf(request: Request) -> Response:
    report = await _cleaning_report(request, "download_cleaning_pdf")
    body = await asyncio.to_thread(exports.cleaning_pdf, report)
    headers = {"Content-Disposition": 'attachment; filename="bonifica-dati.pdf"'}
    return Response(body, media_type="application/pdf", headers=headers)


async def cleaning_report_xlsx(request: Request) -> Response:
    report = await _cleaning_report(request, "download_cleaning_xlsx")
    body = await asyncio.to_thread(exports.cleaning_xlsx, report)
    headers = {"Content-Disposition": 'attachment; filename="bonifica-dati.xlsx"'}
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers=headers)


def routes() -> list[BaseRoute]:
    one = "/t/{tenant}/ingest/batches/{batch_id}"
    return [
        Route("/t/{tenant}/ingest/", index, methods=["GET"]),
        Route("/t/{tenant}/ingest/batches", upload, methods=["POST"]),
        Route(one, batch_page, methods=["GET"]),
        Route(f"{one}/mapping/preview", mapping_preview, methods=["POST"]),
        Route(f"{one}/mapping", mapping_confirm, methods=["POST"]),
        Route(f"{one}/errors.csv", error_report_csv, methods=["GET"]),
        Route(f"{one}/errors.xlsx", error_report_xlsx, methods=["GET"]),
        Route("/api/v1/ingest/batches", api_upload, methods=["POST"]),
        Route("/api/v1/ingest/batches/{batch_id}", api_batch, methods=["GET"]),
        Route("/api/v1/ingest/batches/{batch_id}/rows", api_rows, methods=["GET"]),
        Route("/api/v1/ingest/batches/{batch_id}/mapping", api_mapping, methods=["POST"]),
        Route("/api/v1/ingest/batches/{batch_id}/errors.csv", error_report_csv, methods=["GET"]),
        Route("/api/v1/ingest/batches/{batch_id}/errors.xlsx", error_report_xlsx, methods=["GET"]),
        Route("/t/{tenant}/ingest/tracing", tracing_page, methods=["GET"]),
        Route("/t/{tenant}/ingest/tracing/import", tracing_import, methods=["POST"]),
        Route("/t/{tenant}/ingest/debtors/{debtor_id}", debtor_page, methods=["GET"]),
        Route("/t/{tenant}/ingest/debtors/{debtor_id}/contacts", add_contact, methods=["POST"]),
        Route("/t/{tenant}/ingest/contacts/{contact_id}/wrong", mark_wrong, methods=["POST"]),
        Route("/t/{tenant}/ingest/cleaning-report.pdf", cleaning_report_pdf, methods=["GET"]),
        Route("/t/{tenant}/ingest/cleaning-report.xlsx", cleaning_report_xlsx, methods=["GET"]),
        Route("/api/v1/ingest/tracing/import", tracing_import, methods=["POST"]),
        Route("/api/v1/ingest/debtors/{debtor_id}", api_debtor, methods=["GET"]),
        Route("/api/v1/ingest/debtors/{debtor_id}/contacts", add_contact, methods=["POST"]),
        Route("/api/v1/ingest/contacts/{contact_id}/wrong", mark_wrong, methods=["POST"]),
        Route("/api/v1/ingest/cleaning-report.pdf", cleaning_report_pdf, methods=["GET"]),
        Route("/api/v1/ingest/cleaning-report.xlsx", cleaning_report_xlsx, methods=["GET"]),
    ]
