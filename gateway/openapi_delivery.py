"""The OpenAPI path of delivery to the taxpayer (`services/payments/web_delivery.py`); kept apart from
`gateway/openapi.py` so that module stays small. Self-contained: no import back into it."""

from __future__ import annotations

from typing import Any

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
_TEXTS = {
    400: "Dati non validi",
    401: "Chiave API mancante o non valida",
    404: "Posizione o piano non trovato",
    409: "Dati pagoPA del Comune mancanti, posizione saldata o piano senza avvisi",
}


def _errors(*codes: int) -> dict[str, Any]:
    content = {"application/json": {"schema": _ERROR}}
    return {str(c): {"description": _TEXTS[c], "content": content} for c in codes}


def delivery_paths(position_ids: dict[str, Any]) -> dict[str, Any]:
    """Sending a debtor's notices by e-mail (PDFs and the signed link) or the link by SMS."""
    asked = {
        "type": "object",
        "description": "«position_ids» (di un solo debitore) oppure «plan_id»; «phone» o «channel» "
        "sms per l'SMS, altrimenti e-mail",
        "properties": {
            "position_ids": position_ids,
            "plan_id": {"type": "string", "format": "uuid"},
            "email": {"type": "string", "format": "email", "description": "Vuoto: l'indirizzo del debitore"},
            "phone": {"type": "string", "description": "Per l'SMS (E.164; +39 se manca il prefisso)"},
            "channel": {"type": "string", "enum": ["email", "sms"]},
        },
    }
    sent = {
        "message_id": {"type": "string", "format": "uuid"},
        "channel": {"type": "string", "enum": ["email", "sms"]},
        "recipient": {"type": "string"},
        "delivered": {"type": "boolean", "description": "false: conservato, non spedito (sviluppo)"},
        "link": {
            "type": "string",
            "format": "uri",
            "description": "Collegamento firmato alla pagina pubblica",
        },
        "expires_at": {"type": "string", "format": "date-time"},
    }
    json_sent = {"application/json": {"schema": {"type": "object", "properties": sent}}}
    return {
        "/api/v1/payments/notices/send": {
            "post": {
                "summary": "Invia al debitore gli avvisi di posizioni o di un piano: e-mail con i PDF e il "
                "collegamento firmato alla pagina pubblica, o SMS con il collegamento",
                "requestBody": {"required": True, "content": {"application/json": {"schema": asked}}},
                "responses": {
                    "201": {"description": "Inviato (o solo conservato, in sviluppo)", "content": json_sent},
                    **_errors(400, 401, 404, 409),
                },
            }
        }
    }
