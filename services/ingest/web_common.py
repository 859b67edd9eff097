"""What the ingest views share: templates and their labels, roles, path and query parameters, and
the upload a page and the API both receive."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message, Receive

from services.contracts import CONTACT_SOURCE_LABELS
from services.ingest import handlers, labels
from services.ingest.domain import UnreadableFile
from services.ingest.reader import ENCODINGS, refuse_other_format
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, MandateClosed, NotFound
from services.kernel.identity import Identity
from services.kernel.storage import tenant_key
from services.kernel.web import ctx, query_int, templates_for

log = logging.getLogger(__name__)

templates = templates_for(Path(__file__).parent)
UPLOAD_ROLES = ("comune_admin", "operator", "supervisor", "platform_admin", "api")
VIEW_ROLES = ("comune_viewer", *UPLOAD_ROLES)
TRACING_ROLES = ("comune_admin", "operator", "supervisor", "platform_admin", "api")
FORM_OVERHEAD = 64 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

templates.env.filters["verdict_label"] = labels.verdict_label
templates.env.globals.update(
    status_labels=labels.STATUS_LABELS,
    reason_labels=labels.REASON_LABELS,
    field_labels=labels.FIELD_LABELS,
    warning_labels=labels.WARNING_LABELS,
    mappable_fields=labels.MAPPABLE_FIELDS,
    encodings=ENCODINGS,
    contact_kinds=labels.CONTACT_KINDS,
    grade_labels=labels.GRADES,
    source_labels=CONTACT_SOURCE_LABELS,
)


class UploadTooLarge(DomainError):
    status = 413


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def uuid_param(request: Request, name: str, message: str) -> uuid.UUID:
    """The path parameter `name` as a UUID; NotFound (`message`) when it is not one."""
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError as exc:
        raise NotFound(message) from exc


def batch_id_param(request: Request) -> uuid.UUID:
    return uuid_param(request, "batch_id", "Caricamento non trovato.")


def int_param(request: Request, name: str, default: int) -> int:
    return query_int(request, name, default)


# ---------------------------------------------------------------- upload (shared by page and API)


async def receive_upload(request: Request, ident: Identity, uow: UnitOfWork) -> uuid.UUID:
    """Store the upload, then record the batch and queue its processing (`handlers.receive_batch`)."""
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
        _refuse_other_format(upload)
        encoding, sheet = _choices(form.get("encoding"), form.get("sheet"))
        batch_id = uuid.uuid4()
        key = tenant_key(ident.tenant_id, "ingest", str(batch_id), "raw")
        content_type = upload.content_type or "application/octet-stream"
        stored = await context.storage.put(ident.tenant_id, key, upload.file, content_type)
        filename = _safe_filename(upload.filename)
    if stored.size == 0:
        await context.storage.delete(ident.tenant_id, key)
        raise DomainError("Il file è vuoto.", field="file")
    # The file is stored before the transaction takes its connection (the unit of work is lazy).
    try:
        await handlers.receive_batch(uow, ident, batch_id, filename, stored, encoding, sheet)
    except MandateClosed:  # the Comune's mandate ended: nothing of this file may stay
        await context.storage.delete(ident.tenant_id, key)
        raise
    return batch_id


def _refuse_other_format(upload: UploadFile) -> None:
    """A PDF, an image or an old Office file is refused at once, before a batch is recorded."""
    start = upload.file.read(16)
    upload.file.seek(0)
    try:
        refuse_other_format(start)
    except UnreadableFile as exc:
        raise DomainError(str(exc), field="file") from None


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


async def remove_raw_file(request: Request, ident: Identity, batch: Any) -> None:
    """A discarded batch's file, removed once the discard is committed (a failure is only logged:
    the batch stays discarded and the mandate's end erases what is left)."""
    try:
        await ctx(request).storage.delete(ident.tenant_id, batch.raw_key)
    except Exception:
        log.warning("raw file of a discarded batch not removed", exc_info=True)
