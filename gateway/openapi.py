"""The OpenAPI document of the public API (`/api/v1/openapi.json`)."""

from __future__ import annotations

from typing import Any

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
_BATCH = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "status": {
            "type": "string",
            "enum": ["received", "processing", "completed", "failed", "needs_mapping"],
        },
        "filename": {"type": "string"},
        "data_rows": {"type": "integer"},
        "accepted": {"type": "integer"},
        "accepted_total_cents": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "conflicts": {"type": "integer"},
        "rejected": {"type": "object", "additionalProperties": {"type": "integer"}},
        "error": {"type": ["string", "null"]},
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {
        400: "Dati non validi",
        401: "Chiave API mancante o non valida",
        403: "Operazione non consentita",
        404: "Non trovato",
        409: "Conflitto",
        413: "File troppo grande",
    }
    return {
        str(c): {"description": texts[c], "content": {"application/json": {"schema": _ERROR}}} for c in codes
    }


def document(base_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Riscossa API",
            "version": "1.0.0",
            "description": "API per il software del Comune. Autenticazione con chiave API per Comune.",
        },
        "servers": [{"url": base_url}],
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer <chiave>",
                }
            },
            "schemas": {"Batch": _BATCH, "Error": _ERROR},
        },
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/ingest/batches": {
                "post": {
                    "summary": "Carica un elenco di crediti (CSV)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {"file": {"type": "string", "format": "binary"}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Caricamento ricevuto",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}
                            },
                        },
                        **_errors(400, 401, 413),
                    },
                }
            },
            "/api/v1/ingest/batches/{id}": {
                "get": {
                    "summary": "Stato e conteggi di un caricamento",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Caricamento",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}
                            },
                        },
                        **_errors(401, 404),
                    },
                }
            },
            "/api/v1/payments/positions/{id}/payments": {
                "post": {
                    "summary": "Registra un pagamento su una posizione",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["paid_on", "amount_cents"],
                                    "properties": {
                                        "paid_on": {"type": "string", "format": "date"},
                                        "amount_cents": {"type": "integer", "minimum": 1},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"201": {"description": "Pagamento registrato"}, **_errors(400, 401, 404)},
                }
            },
            "/api/v1/reporting/summary": {
                "get": {
                    "summary": "Totali: affidato, riscosso, residuo",
                    "responses": {"200": {"description": "Totali"}, **_errors(401)},
                }
            },
            "/api/v1/reporting/reports": {
                "post": {
                    "summary": "Genera la relazione di scarico (PDF)",
                    "responses": {"201": {"description": "Relazione generata"}, **_errors(401, 403)},
                }
            },
        },
    }
