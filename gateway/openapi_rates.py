"""The OpenAPI path of the legal interest rate table (`services/payments/web_legal_rates.py`); kept
apart from `gateway/openapi.py` so that module stays small."""

from __future__ import annotations

from typing import Any

from gateway.openapi_parts import errors

_RATE = {
    "type": "object",
    "required": ["valid_from", "rate", "decree", "created_by", "created_at"],
    "properties": {
        "valid_from": {"type": "string", "format": "date", "description": "Primo giorno in cui vale"},
        "rate": {"type": "string", "description": 'Percentuale annua, punto decimale (es. "1.600")'},
        "decree": {"type": "string", "description": "Decreto che fissa il tasso"},
        "created_by": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}


def legal_rate_paths() -> dict[str, Any]:
    listing = {
        "type": "object",
        "properties": {"legal_rates": {"type": "array", "items": _RATE}},
    }
    return {
        "/api/v1/payments/legal-rates": {
            "get": {
                "summary": "Il tasso legale di interesse (art. 1284 c.c.) da ogni data, usato per gli "
                "interessi delle rate; dopo l'ultima data vale l'ultimo tasso",
                "responses": {
                    "200": {
                        "description": "Tassi in ordine di data",
                        "content": {"application/json": {"schema": listing}},
                    },
                    **errors(401),
                },
            }
        },
    }
