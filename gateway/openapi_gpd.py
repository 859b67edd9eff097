"""The OpenAPI paths of the hand-over to pagoPA GPD (`services/payments/web_gpd.py`); kept apart from
`gateway/openapi.py` so that module stays small. Self-contained: no import back into it."""

from __future__ import annotations

from typing import Any

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
_TEXTS = {
    400: "Dati non validi",
    401: "Chiave API mancante o non valida",
    403: "Chiave dell'intermediario rifiutata da pagoPA",
    404: "Non trovato",
    409: "Conflitto",
    502: "pagoPA non raggiungibile o in errore",
}


def _errors(*codes: int) -> dict[str, Any]:
    content = {"application/json": {"schema": _ERROR}}
    return {str(c): {"description": _TEXTS[c], "content": content} for c in codes}


def gpd_paths(position_ids: dict[str, Any]) -> dict[str, Any]:
    publish = {
        "type": "object",
        "description": "«position_ids» (ognuna come posizione a sé) oppure «plan_id» (uno dei due)",
        "properties": {"position_ids": position_ids, "plan_id": {"type": "string", "format": "uuid"}},
    }
    return {
        "/api/v1/payments/gpd/export": {
            "get": {
                "summary": "Posizioni e piani del Comune con avvisi pagabili nel modello GPD di pagoPA "
                "(PaymentPositionModel v1), per l'intermediario tecnologico",
                "responses": {
                    "200": {"description": "organizationFiscalCode, companyName, paymentPositions[]"},
                    **_errors(401, 409),
                },
            }
        },
        "/api/v1/payments/gpd/publish": {
            "post": {
                "summary": "Crea e pubblica su pagoPA GPD le posizioni o il piano, con endpoint e chiave "
                "dell'intermediario configurati dal Comune (409 se mancano)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": publish}},
                },
                "responses": {
                    "201": {"description": "published[]: iupd e stato su pagoPA"},
                    **_errors(400, 401, 403, 404, 409, 502),
                },
            }
        },
    }
