"""The OpenAPI document's ingest part: the batch schema and the batches' paths."""

from __future__ import annotations

from typing import Any

from gateway.openapi_parts import body, errors, uuid_path_param

BATCH = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "status": {
            "type": "string",
            "enum": ["received", "processing", "completed", "failed", "needs_mapping", "discarded"],
        },
        "filename": {"type": "string"},
        "data_rows": {"type": "integer"},
        "accepted": {"type": "integer"},
        "accepted_total_cents": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "conflicts": {"type": "integer"},
        "rejected": {"type": "object", "additionalProperties": {"type": "integer"}},
        "warnings": {"type": "integer", "description": "accepted rows registered with warnings"},
        "time_barred": {"type": "integer", "description": "accepted rows already past the limitation"},
        "time_barred_cents": {"type": "integer"},
        "registered": {"type": "integer"},
        "error": {"type": ["string", "null"]},
        "discarded_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def _batch_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}},
    }


def ingest_paths() -> dict[str, Any]:
    upload = {
        "type": "object",
        "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}},
    }
    return {
        "/api/v1/ingest/batches": {
            "post": {
                "summary": "Carica un elenco di crediti (CSV)",
                "requestBody": body("multipart/form-data", upload),
                "responses": {"202": _batch_response("Caricamento ricevuto"), **errors(400, 401, 413)},
            }
        },
        "/api/v1/ingest/batches/{id}": {
            "get": {
                "summary": "Stato e conteggi di un caricamento",
                "parameters": [uuid_path_param()],
                "responses": {"200": _batch_response("Caricamento"), **errors(401, 404)},
            }
        },
        "/api/v1/ingest/batches/{id}/mapping": {
            "post": {
                "summary": "Conferma le colonne di un caricamento in attesa (campo: indice di colonna)",
                "parameters": [uuid_path_param()],
                "requestBody": body(
                    "application/json",
                    {
                        "type": "object",
                        "required": ["columns"],
                        "properties": {
                            "columns": {"type": "object", "additionalProperties": {"type": "integer"}}
                        },
                    },
                ),
                "responses": {
                    "202": {"description": "Caricamento rimesso in coda"},
                    **errors(400, 401, 404, 409),
                },
            }
        },
        "/api/v1/ingest/batches/{id}/discard": {
            "post": {
                "summary": "Scarta un caricamento in attesa di conferma delle colonne (file sbagliato)",
                "parameters": [uuid_path_param()],
                "responses": {"200": {"description": "Caricamento scartato"}, **errors(401, 404, 409)},
            }
        },
    }
