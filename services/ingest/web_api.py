"""The JSON API of batches: upload, a batch, its rows, its column mapping, its discard (error
reports: `web`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.ingest import handlers
from services.ingest.web_common import (
    UPLOAD_ROLES,
    VIEW_ROLES,
    batch_id_param,
    int_param,
    receive_upload,
    remove_raw_file,
)
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, endpoint

ROW_FILTERS = ("accepted", "duplicate", "conflict", "rejected", "warning", "problem")


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
        "time_barred": batch.barred,
        "time_barred_cents": batch.barred_cents,
        "registered": batch.registered,
        "raw_sha256": batch.raw_sha256,
        "error": batch.error,
        "mapping": _mapping_json(batch),
        "discarded_at": batch.discarded_at.isoformat() if batch.discarded_at else None,
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


@endpoint(*UPLOAD_ROLES)
async def api_upload(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    batch_id = await receive_upload(request, ident, uow)
    return JSONResponse({"id": str(batch_id), "status": "received"}, status_code=202)


@endpoint(*VIEW_ROLES)
async def api_batch(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    batch = await handlers.get_batch(uow, ident.tenant_id, batch_id_param(request))
    return JSONResponse(batch_json(batch))


@endpoint(*VIEW_ROLES)
async def api_rows(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """Rows with their verdicts; `verdict` filters, `after` (a row number) pages, `limit` ≤ 1000."""
    batch_id = batch_id_param(request)
    verdict = request.query_params.get("verdict") or None
    if verdict is not None and verdict not in ROW_FILTERS and not verdict.startswith("rejected:"):
        raise DomainError(f"Filtro non valido: usare uno tra {', '.join(ROW_FILTERS)}.", field="verdict")
    after, limit = int_param(request, "after", 0), min(max(int_param(request, "limit", 500), 1), 1000)
    rows = await handlers.batch_rows(uow, ident, batch_id, verdict, after, limit)
    next_after = rows[-1].row_number if len(rows) == limit else None
    return JSONResponse({"rows": [row_json(r) for r in rows], "next_after": next_after})


@endpoint(*UPLOAD_ROLES)
async def api_mapping(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    batch = await handlers.waiting_batch(uow, ident.tenant_id, batch_id_param(request))
    try:
        body = await request.json()
        columns = {str(k): int(v) for k, v in dict(body["columns"]).items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise DomainError(
            'Corpo non valido: atteso {"columns": {"campo": indice di colonna}}.', "mapping"
        ) from exc
    await handlers.apply_mapping(uow, ident, batch, {index: name for name, index in columns.items()})
    return JSONResponse({"id": str(batch.id), "status": "received"}, status_code=202)


@endpoint(*UPLOAD_ROLES)
async def api_discard(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    """Discard a batch waiting for its columns: 200 with its new status, 409 when it is not waiting."""
    batch = await handlers.discard_batch(uow, ident, batch_id_param(request))

    async def done() -> Response:
        await remove_raw_file(request, ident, batch)
        return JSONResponse({"id": str(batch.id), "status": "discarded"})

    return AfterCommit(done)
