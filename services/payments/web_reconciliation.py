"""Reconciliation views: receipts and FdR imports (API and page), the review queue."""

from __future__ import annotations

import uuid

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import endpoint, page
from services.payments import handlers_flows, handlers_review
from services.payments import handlers_reconciliation as handlers
from services.payments.domain_reconciliation import BOOKABLE
from services.payments.roles import WEB_ROLES
from services.payments.web import templates

MAX_FILE_BYTES = 100 * 1024 * 1024


async def _file(request: Request) -> bytes:
    """The uploaded file: a multipart field `file`, or the raw body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        upload = form.get("file")
        data = await upload.read() if isinstance(upload, UploadFile) else b""
    else:
        data = await request.body()
    if not data:
        raise DomainError("Allega il file da importare.", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise DomainError("Il file supera i 100 MB.", field="file")
    return data


@endpoint("api", *WEB_ROLES)
async def receipts_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return JSONResponse(await handlers.import_receipts(uow, ident, await _file(request)))


@endpoint("api", *WEB_ROLES)
async def fdr_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return JSONResponse(await handlers_flows.import_flow(uow, ident, await _file(request)))


async def _overview(uow: UnitOfWork, ident: Identity) -> dict[str, object]:
    return {**await handlers_review.overview(uow, ident), "bookable": BOOKABLE}


@endpoint(*WEB_ROLES)
async def reconciliation_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return page(templates, request, "reconciliation.html", await _overview(uow, ident))


def _item_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["item_id"])
    except ValueError:
        raise NotFound() from None


@endpoint("api", *WEB_ROLES)
async def reviews_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    items = await handlers_review.open_reviews(uow, ident)
    return JSONResponse({"items": items})


@endpoint("api", *WEB_ROLES)
async def resolve_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    body = await request.json() if request.headers.get("content-length", "0") != "0" else {}
    note = body.get("note") if isinstance(body, dict) else None
    return JSONResponse(await handlers_review.resolve(uow, ident, _item_id(request), note))


@endpoint("api", *WEB_ROLES)
async def book_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    body = await request.json() if request.headers.get("content-length", "0") != "0" else {}
    note = body.get("note") if isinstance(body, dict) else None
    return JSONResponse(await handlers_review.book(uow, ident, _item_id(request), note))


@endpoint(*WEB_ROLES)
async def resolve_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """«Risolvi» with a note, or «Registra sulla posizione» (`handlers_review`)."""
    form = await request.form()
    note, item_id = str(form.get("note", "")), _item_id(request)
    try:
        # A savepoint: a refusal undoes whatever the attempt wrote before the queue is shown again.
        async with (await uow.connection()).begin_nested():
            if form.get("azione") == "registra":
                await handlers_review.book(uow, ident, item_id, note)
            else:
                await handlers_review.resolve(uow, ident, item_id, note)
    except DomainError as problem:  # said at the item's note, the queue kept as it was
        context = {
            **await _overview(uow, ident),
            "problem": problem,
            "problem_id": str(item_id),
            "typed": note,
        }
        return page(
            templates, request, "reconciliation.html", context, block="queue", status_code=problem.status
        )
    return page(templates, request, "reconciliation.html", await _overview(uow, ident), block="queue")


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/payments/reconciliation"
    return [
        Route("/api/v1/payments/reconciliation/receipts", receipts_api, methods=["POST"]),
        Route("/api/v1/payments/reconciliation/fdr", fdr_api, methods=["POST"]),
        Route("/api/v1/payments/reconciliation/review", reviews_api, methods=["GET"]),
        Route("/api/v1/payments/reconciliation/review/{item_id}/resolve", resolve_api, methods=["POST"]),
        Route("/api/v1/payments/reconciliation/review/{item_id}/book", book_api, methods=["POST"]),
        Route(prefix, reconciliation_page, methods=["GET"]),
        Route(f"{prefix}/review/{{item_id}}/resolve", resolve_web, methods=["POST"]),
    ]
