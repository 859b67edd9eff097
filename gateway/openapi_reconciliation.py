"""OpenAPI paths of payments reconciliation: receipts and FdR imports, the review queue."""

from __future__ import annotations

from typing import Any

from gateway.openapi_parts import body, errors

COUNTS = "Conteggi: matched, duplicates, unmatched, partial, over, revoked, amount_differs, already_imported"
UPLOADS = {
    "receipts": (
        "text/csv",
        "Importa ricevute pagoPA (CSV: iuv o nav; importo; data_pagamento; psp; id_ricevuta)",
    ),
    "fdr": ("application/xml", "Importa un flusso di rendicontazione pagoPA (FlussoRiversamento 1.0.4)"),
}


def reconciliation_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"/api/v1/payments/reconciliation/{kind}": {
            "post": {
                "summary": summary,
                "description": "Il file è il corpo della richiesta, o il campo `file` di un multipart.",
                "requestBody": body(media, {"type": "string", "format": "binary"}),
                "responses": {"200": {"description": COUNTS}, **errors(400, 401, 409)},
            }
        }
        for kind, (media, summary) in UPLOADS.items()
    }
    paths["/api/v1/payments/reconciliation/review"] = {
        "get": {
            "summary": "Pagamenti da verificare (parziali, eccedenti, doppi, IUV sconosciuti)",
            "responses": {"200": {"description": "Elementi aperti"}, **errors(401)},
        }
    }
    item = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    note = {"type": "object", "required": ["note"], "properties": {"note": {"type": "string"}}}
    paths["/api/v1/payments/reconciliation/review/{item_id}/resolve"] = {
        "post": {
            "summary": "Chiude un elemento da verificare con una nota",
            "parameters": [item],
            "requestBody": body("application/json", note),
            "responses": {"200": {"description": "Risolto"}, **errors(400, 401, 404)},
        }
    }
    return paths
