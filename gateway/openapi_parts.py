"""Pieces shared by the OpenAPI document's modules: the error shape and a request body."""

from __future__ import annotations

from typing import Any

ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
TEXTS = {
    400: "Dati non validi",
    401: "Chiave API mancante o non valida",
    403: "Operazione non consentita",
    404: "Non trovato",
    409: "Conflitto",
    413: "File troppo grande",
}


def errors(*codes: int) -> dict[str, Any]:
    return {
        str(c): {"description": TEXTS[c], "content": {"application/json": {"schema": ERROR}}} for c in codes
    }


def body(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {media_type: {"schema": schema}}}


def uuid_path_param() -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
