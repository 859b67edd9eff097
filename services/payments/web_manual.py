"""Manual payments: recorded by hand with a reason and the evidence (receipt, bank statement)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.evidence import MAX_EVIDENCE_BYTES, MAX_EVIDENCE_FORM_BYTES, evidence_type
from services.kernel.identity import Identity
from services.kernel.storage import key_part, tenant_key
from services.kernel.web import AfterCommit, ctx, endpoint, is_htmx, json_object, stored_download
from services.payments import handlers
from services.payments.handlers import Evidence
from services.payments.roles import READ_ROLES, WEB_ROLES

FORM_LIMIT = MAX_EVIDENCE_FORM_BYTES


def _position_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["position_id"])
    except ValueError:
        raise NotFound() from None


async def _evidence(request: Request, ident: Identity, form: FormData, required: bool) -> Evidence | None:
    """The evidence file of the form, checked and stored; None when the API sent none."""
    upload = form.get("evidence")
    if not isinstance(upload, UploadFile) or not upload.filename:
        if required:
            raise DomainError("Allega la ricevuta o la quietanza del pagamento.", field="evidence")
        return None
    data = await upload.read(MAX_EVIDENCE_BYTES + 1)
    content_type = evidence_type(data)
    name = key_part(upload.filename, "ricevuta")
    key = tenant_key(ident.tenant_id, "payments", "evidence", str(uuid.uuid4()), name)
    await ctx(request).storage.put_bytes(ident.tenant_id, key, data, content_type)
    return Evidence(key, name)


async def _record(
    request: Request, ident: Identity, uow: UnitOfWork, values: dict[str, Any], evidence: Evidence | None
) -> dict[str, Any]:
    try:
        return await handlers.record_payment(uow, ident, _position_id(request), values, evidence)
    except DomainError:
        if evidence is not None:
            await ctx(request).storage.delete(ident.tenant_id, evidence.key)
        raise


@endpoint(*WEB_ROLES)
async def record_payment_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_files=1, max_fields=10, max_part_size=FORM_LIMIT) as form:
        values = {k: str(form.get(k, "")) for k in ("amount", "paid_on", "reason", "idempotency_key")}
        handlers.check_manual(values)
        evidence = await _evidence(request, ident, form, required=True)
    await _record(request, ident, uow, values, evidence)
    url = f"/t/{ident.tenant_slug}/payments/positions/{_position_id(request)}?registrato=1"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@endpoint("api")
async def record_payment_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """JSON (`amount_cents`, `paid_on`, `reason`), or multipart with the same fields and `evidence`."""
    evidence = None
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10, max_part_size=FORM_LIMIT) as form:
            values: dict[str, Any] = {k: form.get(k) for k in ("amount_cents", "paid_on", "reason")}
            values["amount_cents"] = _int_or_text(values["amount_cents"])
            handlers.check_manual(values)
            evidence = await _evidence(request, ident, form, required=False)
    else:
        values = await json_object(request)
    values["idempotency_key"] = request.headers.get("idempotency-key")
    result = await _record(request, ident, uow, values, evidence)
    return JSONResponse(result, status_code=200 if result.get("replayed") else 201)


def _int_or_text(raw: object) -> object:
    return int(raw) if isinstance(raw, str) and raw.strip().isdigit() else raw


@endpoint(*READ_ROLES)
async def evidence_file(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    try:
        payment_id = uuid.UUID(request.path_params["payment_id"])
    except ValueError:
        raise NotFound() from None
    found = await handlers.evidence_of(uow, ident, payment_id)
    return stored_download(request, ident.tenant_id, found.key, found.name)


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/payments"
    return [
        Route(f"{prefix}/positions/{{position_id}}/payments", record_payment_web, methods=["POST"]),
        Route("/api/v1/payments/positions/{position_id}/payments", record_payment_api, methods=["POST"]),
        Route(f"{prefix}/payments/{{payment_id}}/evidence", evidence_file, methods=["GET"]),
    ]
