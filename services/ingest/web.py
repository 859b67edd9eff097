"""HTTP handlers of the ingest service: upload pages (HTMX) and the JSON API."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contracts import BatchReceived
from services.ingest import repository
from services.kernel.errors import DomainError, NotFound
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


class UploadTooLarge(DomainError):
    status = 413


def _rome(value: datetime | None) -> str:
    return value.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if value else ""


def _verdict_label(verdict: str) -> str:
    if verdict.startswith("rejected:"):
        return "Scartata"
    return {"duplicate": "Duplicata", "conflict": "In conflitto", "accepted": "Accettata"}.get(
        verdict, verdict
    )


templates.env.filters["rome"] = _rome
templates.env.filters["verdict_label"] = _verdict_label
templates.env.globals.update(
    status_labels=STATUS_LABELS, reason_labels=REASON_LABELS, field_labels=FIELD_LABELS
)


# ---------------------------------------------------------------- upload (shared by page and API)


async def receive_upload(request: Request) -> uuid.UUID:
    """Store the upload, record the batch and queue its processing, in one transaction."""
    ident = require_role(request, *UPLOAD_ROLES)
    context = ctx(request)
    limit = context.settings.max_upload_bytes
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise DomainError("Seleziona un file da caricare.", field="file")
        if upload.size is not None and upload.size > limit:
            raise UploadTooLarge(
                f"Il file supera la dimensione massima di {limit // (1024 * 1024)} MB.", "file"
            )
        if upload.size == 0:
            raise DomainError("Il file è vuoto.", field="file")
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
        await uow.publish([BatchReceived(batch_id=str(batch_id)).envelope(ident.tenant_id, correlation)])
        await uow.commit()
    return batch_id


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
    return page(templates, request, "ingest_batch.html", {"batch": batch, "rows": rows}, block="status")


# ---------------------------------------------------------------- API


def batch_json(batch: Any) -> dict[str, Any]:
    return {
        "id": str(batch.id),
        "status": batch.status,
        "filename": batch.filename,
        "data_rows": batch.data_rows,
        "accepted": batch.accepted,
        "accepted_total_cents": batch.accepted_total_cents,
        "duplicates": batch.duplicates,
        "conflicts": batch.conflicts,
        "rejected": dict(batch.rejected or {}),
        "registered": batch.registered,
        "error": batch.error,
    }


async def api_upload(request: Request) -> Response:
    batch_id = await receive_upload(request)
    return JSONResponse({"id": str(batch_id), "status": "received"}, status_code=202)


async def api_batch(request: Request) -> Response:
    batch, _ = await _load_batch(request, with_rows=False)
    return JSONResponse(batch_json(batch))


def routes() -> list[BaseRoute]:
    return [
        Route("/t/{tenant}/ingest/", index, methods=["GET"]),
        Route("/t/{tenant}/ingest/batches", upload, methods=["POST"]),
        Route("/t/{tenant}/ingest/batches/{batch_id}", batch_page, methods=["GET"]),
        Route("/api/v1/ingest/batches", api_upload, methods=["POST"]),
        Route("/api/v1/ingest/batches/{batch_id}", api_batch, methods=["GET"]),
    ]
