"""Evidence of a payment the debtor claims: files attached from the card to a «Dice di aver già
pagato» call (or sent with that outcome), and their download (audited).

The forms are multipart: HTMX sends them with the CSRF token in its header (base.html), as the
payments service's manual payment form does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contact import domain_evidence, handlers_evidence
from services.contact.domain import Outcome
from services.contact.domain_evidence import FIELD
from services.contact.handlers_evidence import StoredFile
from services.contact.roles import ROLES
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.evidence import MAX_EVIDENCE_BYTES, evidence_type
from services.kernel.identity import Identity
from services.kernel.storage import key_part, tenant_key
from services.kernel.web import AfterCommit, ctx, endpoint, is_htmx, stored_download

# The card's roles.


@dataclass(frozen=True)
class Checked:
    """An uploaded file whose content passed the evidence rule, not stored yet."""

    name: str
    media_type: str
    data: bytes


def _uuid(request: Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise NotFound() from None


@asynccontextmanager
async def evidence_form(request: Request) -> AsyncIterator[FormData]:
    """The request's form, files included; a form over the limits is refused in Italian."""
    try:
        form = await request.form(max_files=domain_evidence.MAX_FILES_PER_CLAIM, max_fields=30)
    except HTTPException:
        raise DomainError(
            f"Modulo non valido: troppi campi o file (al massimo {domain_evidence.MAX_FILES_PER_UPLOAD} "
            "file alla volta).",
            field=FIELD,
        ) from None
    try:
        yield form
    finally:
        await form.close()


async def checked_files(form: FormData, outcome: Outcome | None = None) -> list[Checked]:
    """The form's evidence files, each checked by its content (PDF, JPEG, PNG, at most 10 MB).
    With an outcome (the outcome form) none is needed, and files come only with «Dice di aver già
    pagato»; without (the attach form) one at least."""
    values = form.getlist(FIELD)
    files = [v for v in values if isinstance(v, UploadFile) and v.filename]
    names_only = any(isinstance(v, str) and v.strip() for v in values)
    if outcome is not None:
        domain_evidence.check_files_with_outcome(outcome, len(files), names_only)
        if not files:
            return []
    domain_evidence.check_count(len(files))
    checked = []
    for upload in files:
        name = key_part(upload.filename or "", "ricevuta")
        data = await upload.read(MAX_EVIDENCE_BYTES + 1)
        try:
            media_type = evidence_type(data, FIELD)
        except DomainError as error:
            raise domain_evidence.named(name, error, len(files) > 1) from None
        checked.append(Checked(name, media_type, data))
    return checked


@asynccontextmanager
async def kept(
    request: Request, ident: Identity, debtor_id: uuid.UUID, files: list[Checked]
) -> AsyncIterator[list[StoredFile]]:
    """The files written to the object storage under the tenant before the block (no database
    connection is held while they upload), and removed again when the block fails."""
    storage = ctx(request).storage
    stored: list[StoredFile] = []
    try:
        for f in files:
            key = tenant_key(
                ident.tenant_id, "contact", "evidence", str(debtor_id), str(uuid.uuid4()), f.name
            )
            written = await storage.put_bytes(ident.tenant_id, key, f.data, f.media_type)
            stored.append(StoredFile(key, f.name, f.media_type, written.size, written.sha256))
        yield stored
    except BaseException:
        for s in stored:
            await storage.delete(ident.tenant_id, s.key)
        raise


@endpoint(*ROLES)
async def attach_evidence(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """«Allega ricevuta» beside a «Dice di aver già pagato» call in the card's history."""
    debtor_id, contact_id = _uuid(request, "debtor_id"), _uuid(request, "contact_id")
    async with evidence_form(request) as form:
        files = await checked_files(form)
    async with kept(request, ident, debtor_id, files) as stored:
        await handlers_evidence.attach(uow, ident, debtor_id, contact_id, stored, ctx(request).clock())
    url = f"/t/{ident.tenant_slug}/contact/debtors/{debtor_id}?allegato=1"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@endpoint(*ROLES)
async def evidence_download(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    found = await handlers_evidence.evidence_file(
        uow, ident, _uuid(request, "debtor_id"), _uuid(request, "attachment_id")
    )
    return stored_download(request, ident.tenant_id, found.object_key, found.file_name, found.media_type)


def routes() -> list[BaseRoute]:
    card = "/t/{tenant}/contact/debtors/{debtor_id}"
    return [
        Route(f"{card}/claims/{{contact_id}}/evidence", attach_evidence, methods=["POST"]),
        Route(f"{card}/evidence/{{attachment_id}}", evidence_download, methods=["GET"]),
    ]
