"""Jobs run by the payments worker, from a page or the API: reconciliation imports and the ZIP of
notices for postal mailing, with a progress page polled by HTMX."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from stdnum.it import codicefiscale, iva

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.storage import key_part, tenant_key
from services.kernel.web import AfterCommit, ctx, endpoint, json_object, page
from services.payments import handlers_jobs
from services.payments.roles import WEB_ROLES
from services.payments.web import templates
from services.payments.web_reconciliation import MAX_FILE_BYTES


def _job_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["job_id"])
    except ValueError:
        raise NotFound() from None


def fiscal_codes_of(text: str) -> list[str]:
    """The fiscal codes of a pasted list (one per line, or separated by spaces, commas, semicolons)."""
    codes = [c for c in re.split(r"[\s,;]+", text.upper()) if c]
    wrong = [c for c in codes if not (codicefiscale.is_valid(c) or iva.is_valid(c))]
    if wrong:
        raise DomainError(f"Codici fiscali non validi: {', '.join(wrong[:5])}.", field="fiscal_codes")
    if not codes:
        raise DomainError(
            "Incolla almeno un codice fiscale, oppure scegli tutti i contribuenti senza e-mail.",
            field="fiscal_codes",
        )
    return sorted(set(codes))


async def _job_page(request: Request, ident: Identity, uow: UnitOfWork, job_id: uuid.UUID) -> Response:
    """A job's progress (the fragment its page polls)."""
    job = await handlers_jobs.job_status(uow, ident, job_id)
    return page(templates, request, "job.html", {"job": job}, block="job")


@endpoint(*WEB_ROLES)
async def import_job_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The file is stored, then its import waits for the worker; the page polls its progress."""
    kind = request.path_params["kind"]
    if kind not in handlers_jobs.IMPORTS:
        raise NotFound()
    async with request.form(max_files=1, max_fields=5, max_part_size=MAX_FILE_BYTES) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise DomainError("Allega il file da importare.", field="file")
        data = await upload.read(MAX_FILE_BYTES + 1)
        name = key_part(upload.filename)
    if not data:
        raise DomainError("Il file è vuoto.", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise DomainError("Il file supera i 100 MB.", field="file")
    key = tenant_key(ident.tenant_id, "payments", "imports", str(uuid.uuid4()), name)
    await ctx(request).storage.put_bytes(ident.tenant_id, key, data, "application/octet-stream")
    return await _job_page(
        request, ident, uow, await handlers_jobs.request_import(uow, ident, kind, name, key)
    )


@endpoint(*WEB_ROLES)
async def job_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return await _job_page(request, ident, uow, _job_id(request))


@endpoint(*WEB_ROLES)
async def bulk_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return page(templates, request, "bulk_notices.html", {})


@endpoint(*WEB_ROLES)
async def bulk_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    form = await request.form()
    everyone = form.get("without_email") == "1"
    codes = None if everyone else fiscal_codes_of(str(form.get("fiscal_codes", "")))
    return await _job_page(request, ident, uow, await handlers_jobs.request_notices_zip(uow, ident, codes))


@endpoint("api", *WEB_ROLES)
async def bulk_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    body = await json_object(request)
    raw = body.get("fiscal_codes")
    if raw is None and body.get("without_email") is not True:
        raise DomainError("Indica «fiscal_codes» oppure «without_email»: true.", field="fiscal_codes")
    codes = (
        None
        if raw is None
        else fiscal_codes_of(" ".join(str(c) for c in raw) if isinstance(raw, list) else "")
    )
    job_id = await handlers_jobs.request_notices_zip(uow, ident, codes)
    return JSONResponse(await handlers_jobs.job_status(uow, ident, job_id), status_code=202)


@endpoint("api", *WEB_ROLES)
async def job_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return JSONResponse(await handlers_jobs.job_status(uow, ident, _job_id(request)))


@endpoint("api", *WEB_ROLES)
async def zip_download(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    key = await handlers_jobs.zip_of(uow, ident, _job_id(request))
    storage = ctx(request).storage

    async def render() -> Response:
        headers = {"Content-Disposition": 'attachment; filename="avvisi.zip"'}
        return StreamingResponse(
            storage.stream(ident.tenant_id, key), media_type="application/zip", headers=headers
        )

    return AfterCommit(render)


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/payments"
    return [
        Route(f"{prefix}/reconciliation/jobs/{{kind}}", import_job_web, methods=["POST"]),
        Route(f"{prefix}/jobs/{{job_id}}", job_web, methods=["GET"]),
        Route(f"{prefix}/jobs/{{job_id}}/avvisi.zip", zip_download, methods=["GET"]),
        Route(f"{prefix}/notices/bulk", bulk_page, methods=["GET"]),
        Route(f"{prefix}/notices/bulk", bulk_web, methods=["POST"]),
        Route("/api/v1/payments/notices/bulk", bulk_api, methods=["POST"]),
        Route("/api/v1/payments/jobs/{job_id}", job_api, methods=["GET"]),
        Route("/api/v1/payments/jobs/{job_id}/avvisi.zip", zip_download, methods=["GET"]),
    ]
