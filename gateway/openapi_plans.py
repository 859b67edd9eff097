"""The OpenAPI paths of the life of a plan (`services/payments/web_lapse.py`); kept apart from
`gateway/openapi.py` so that module stays small. Self-contained: no import back into it."""

from __future__ import annotations

from typing import Any

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
_TEXTS = {
    400: "Dati non validi",
    401: "Chiave API mancante o non valida",
    404: "Non trovato",
    409: "Conflitto",
}


def _errors(*codes: int) -> dict[str, Any]:
    content = {"application/json": {"schema": _ERROR}}
    return {str(c): {"description": _TEXTS[c], "content": content} for c in codes}


def plan_life_paths() -> dict[str, Any]:
    extension = {
        "type": "object",
        "required": ["installments", "reason"],
        "properties": {
            "installments": {"type": "integer", "minimum": 2, "maximum": 72},
            "reason": {"type": "string", "minLength": 1, "maxLength": 2000},
            "first_due_date": {"type": "string", "format": "date"},
        },
    }
    plan_id = {
        "name": "plan_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    return {
        "/api/v1/payments/plans/{plan_id}/extension": {
            "post": {
                "summary": "Proroga un piano una sola volta (L. 160/2019 c.798) per il peggioramento dichiarato: "
                "le rate non pagate sono sostituite da un nuovo calendario per il capitale residuo "
                "(mai dopo la decadenza)",
                "parameters": [plan_id],
                "requestBody": {"required": True, "content": {"application/json": {"schema": extension}}},
                "responses": {
                    "201": {
                        "description": "plan_id, residual_principal_cents, installments_before/after, schedule"
                    },
                    **_errors(400, 401, 404, 409),
                },
            }
        }
    }
