"""The OpenAPI document of the public API (`/api/v1/openapi.json`)."""

from __future__ import annotations

from typing import Any

from gateway.openapi_delivery import delivery_paths
from gateway.openapi_gpd import gpd_paths
from gateway.openapi_ingest import BATCH as _BATCH
from gateway.openapi_ingest import ingest_paths as _ingest_paths
from gateway.openapi_parts import ERROR as _ERROR
from gateway.openapi_parts import body as _body
from gateway.openapi_parts import errors as _errors
from gateway.openapi_parts import uuid_path_param as _uuid_path_param
from gateway.openapi_plans import plan_life_paths
from gateway.openapi_rates import legal_rate_paths
from gateway.openapi_reconciliation import reconciliation_paths


def _plan_paths(position_ids: dict[str, Any]) -> dict[str, Any]:
    simulation = {
        "type": "object",
        "properties": {
            "amount_cents": {"type": "integer", "minimum": 1},
            "position_ids": position_ids,
            "revenue_type": {"type": "string", "enum": ["IMU", "TARI", "CUP", "CDS", "ALTRO"]},
            "installments": {"type": "integer", "minimum": 1},
            "plan_date": {"type": "string", "format": "date"},
            "first_due_date": {"type": "string", "format": "date"},
            "income_declared": {"type": "boolean"},
        },
    }
    return {
        "/api/v1/payments/plans": {
            "post": {
                "summary": "Concede un piano di rate per posizioni di un contribuente, entro le regole",
                "requestBody": _body(
                    "application/json",
                    {
                        "type": "object",
                        "required": ["position_ids", "installments"],
                        "properties": {
                            "position_ids": position_ids,
                            "installments": {"type": "integer", "minimum": 2},
                            "first_due_date": {"type": "string", "format": "date"},
                            "income_declared": {"type": "boolean"},
                        },
                    },
                ),
                "responses": {"201": {"description": "Piano e calendario"}, **_errors(400, 401, 404, 409)},
            }
        },
        "/api/v1/payments/plans/simulate": {
            "post": {
                "summary": "Simula un piano di rate: rate consentite dalle regole e calendario (nulla è registrato)",
                "requestBody": _body("application/json", simulation),
                "responses": {
                    "200": {
                        "description": "Rate consentite (`allowed`, e il perché in parole: `allowed_reason`) e calendario"
                    },
                    **_errors(400, 401, 404, 409),
                },
            }
        },
    }


def _rule_paths() -> dict[str, Any]:
    band = {
        "type": "object",
        "required": ["min", "max"],
        "properties": {
            "up_to_cents": {"type": ["integer", "null"]},
            "min": {"type": "integer"},
            "max": {"type": "integer"},
        },
    }
    rules = {
        "type": "object",
        "required": ["bands"],
        "properties": {
            "bands": {"type": "array", "items": band, "minItems": 1, "maxItems": 20},
            "min_installment_cents": {"type": "integer", "minimum": 0},
            "interest_rate": {"type": "string"},
            "valid_from": {"type": "string", "format": "date"},
        },
    }
    return {
        "/api/v1/payments/rules": {
            "get": {
                "summary": "Le regole di rateizzazione del Comune, con ogni versione e la data da cui vale",
                "responses": {"200": {"description": "Regole"}, **_errors(401)},
            }
        },
        "/api/v1/payments/rules/{revenue_type}": {
            "put": {
                "summary": "Nuova versione delle regole del Comune per un tipo di entrata (L. 160/2019 c.797)",
                "parameters": [
                    {"name": "revenue_type", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": _body("application/json", rules),
                "responses": {"201": {"description": "Regole registrate"}, **_errors(400, 401, 404)},
            }
        },
    }


def _position_paths() -> dict[str, Any]:
    query = [
        {"name": "fiscal_code", "in": "query", "schema": {"type": "string"}},
        {
            "name": "status",
            "in": "query",
            "schema": {"type": "string", "enum": ["open", "partial", "settled"]},
        },
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    ]
    return {
        "/api/v1/payments/positions": {
            "get": {
                "summary": "Posizioni del Comune con saldo (dovuto, pagato, residuo), a pagine",
                "parameters": query,
                "responses": {"200": {"description": "Posizioni e next_offset"}, **_errors(400, 401)},
            }
        },
        "/api/v1/payments/positions/{id}": {
            "get": {
                "summary": "Una posizione con opzioni di pagamento (avvisi), pagamenti e piano attivo",
                "parameters": [_uuid_path_param()],
                "responses": {"200": {"description": "Posizione"}, **_errors(401, 404)},
            }
        },
    }


def _notice_paths(position_ids: dict[str, Any]) -> dict[str, Any]:
    return {
        "/api/v1/payments/notices": {
            "post": {
                "summary": "Emette gli avvisi pagoPA delle posizioni (uno per posizione, per il residuo)",
                "requestBody": _body(
                    "application/json",
                    {
                        "type": "object",
                        "required": ["position_ids"],
                        "properties": {"position_ids": position_ids},
                    },
                ),
                "responses": {
                    "201": {"description": "Avvisi con NAV, IUV e PDF"},
                    **_errors(400, 401, 404, 409),
                },
            }
        },
        "/api/v1/payments/notices/{nav}/pdf": {
            "get": {
                "summary": "Il PDF di un avviso pagoPA",
                "parameters": [{"name": "nav", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "application/pdf"}, **_errors(401, 404)},
            }
        },
    }


def _settings_paths() -> dict[str, Any]:
    text = {"type": "string"}
    settings = {
        "type": "object",
        "required": ["name", "fiscal_code", "segregation_code", "cbill", "iban"],
        "properties": {
            "name": text,
            "fiscal_code": {"type": "string", "pattern": "^[0-9]{11}$"},
            "segregation_code": {"type": "string", "pattern": "^[0-9]{2}$"},
            "cbill": {"type": "string", "pattern": "^[A-Za-z0-9]{5}$"},
            "iban": text,
            "postal_account": {"type": ["string", "null"], "pattern": "^[0-9]{1,12}$"},
            "applies_charges": {"type": "boolean"},
            "reminder_days": {"type": "integer", "minimum": 0, "maximum": 60},
            "gpd_endpoint": {"type": ["string", "null"], "format": "uri"},
            "gpd_api_key": {
                "type": ["string", "null"],
                "description": "Solo scrittura; vuota: resta quella salvata",
            },
        },
    }
    return {
        "/api/v1/payments/settings": {
            "put": {
                "summary": "Impostazioni pagoPA del Comune (ente creditore, oneri c.803, promemoria, GPD)",
                "requestBody": _body("application/json", settings),
                "responses": {
                    "200": {"description": "Impostazioni salvate (chiave GPD mascherata)"},
                    "400": {
                        "description": "Campi non validi: «errors» ha un messaggio per campo; nulla è salvato",
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                    **_errors(401),
                },
            }
        },
    }


def _payments_paths() -> dict[str, Any]:
    payment = {
        "type": "object",
        "required": ["paid_on", "amount_cents"],
        "properties": {
            "paid_on": {"type": "string", "format": "date"},
            "amount_cents": {"type": "integer", "minimum": 1},
        },
    }
    position_ids = {"type": "array", "items": {"type": "string", "format": "uuid"}, "maxItems": 500}
    return {
        **_plan_paths(position_ids),
        **plan_life_paths(),
        **_rule_paths(),
        **legal_rate_paths(),
        **reconciliation_paths(),
        **_position_paths(),
        **_notice_paths(position_ids),
        **gpd_paths(position_ids),
        **delivery_paths(position_ids),
        **_settings_paths(),
        "/api/v1/payments/positions/{id}/payments": {
            "post": {
                "summary": "Registra un pagamento su una posizione",
                "parameters": [_uuid_path_param()],
                "requestBody": _body("application/json", payment),
                "responses": {"201": {"description": "Pagamento registrato"}, **_errors(400, 401, 404)},
            }
        },
    }


def _reporting_paths() -> dict[str, Any]:
    return {
        "/api/v1/reporting/summary": {
            "get": {
                "summary": (
                    "Totali (affidato, riscosso, residuo, aggio del contratto) e, in `portal`, l'imbuto "
                    "da affidato a riscosso in debitori, posizioni ed euro, per entrata, per anno e per settimana"
                ),
                "responses": {"200": {"description": "Totali"}, **_errors(401)},
            }
        },
        "/api/v1/reporting/aggio": {
            "get": {
                "summary": (
                    "Aggio di un periodo secondo il contratto: riscosso, rimborsato, revocato, imponibile, "
                    "aggio, IVA, per entrata (importi in centesimi); ogni parte del periodo con la versione "
                    "del contratto allora in vigore (`versions`)"
                ),
                "parameters": [
                    {
                        "name": name,
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "format": "date"},
                    }
                    for name in ("period_from", "period_to")
                ],
                "responses": {"200": {"description": "Aggio del periodo"}, **_errors(400, 401)},
            }
        },
        **_relazione_paths(),
    }


_RELAZIONE_REQUEST = {
    "type": "object",
    "required": ["kind", "period_from", "period_to"],
    "properties": {
        "kind": {"type": "string", "enum": ["interim", "final"]},
        "period_from": {"type": "string", "format": "date"},
        "period_to": {"type": "string", "format": "date"},
    },
}


def _relazione_paths() -> dict[str, Any]:
    report_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    return {
        "/api/v1/reporting/reports": {
            "get": {
                "summary": "Relazioni di scarico richieste, dalla più recente",
                "responses": {"200": {"description": "Elenco con stato e documenti"}, **_errors(401)},
            },
            "post": {
                "summary": "Richiede una relazione di scarico (intermedia o finale), preparata in background",
                "description": "Intermedia: posizioni affidate fino a period_to, pagamenti e rimborsi "
                "nel periodo. Finale: tutte le posizioni e tutti i pagamenti.",
                "requestBody": _body("application/json", _RELAZIONE_REQUEST),
                "responses": {"202": {"description": "Relazione in coda"}, **_errors(400, 401, 403)},
            },
        },
        "/api/v1/reporting/reports/{id}": {
            "get": {
                "summary": "Stato, avanzamento, totali e collegamenti a PDF, XLSX e CSV (con SHA-256)",
                "parameters": [report_id],
                "responses": {"200": {"description": "La relazione"}, **_errors(401, 404)},
            }
        },
        **{
            f"/api/v1/reporting/reports/{{id}}.{fmt}": {
                "get": {
                    "summary": f"Scarica la relazione in {fmt.upper()}; ogni scaricamento è registrato",
                    "parameters": [report_id],
                    "responses": {"200": {"description": "Il documento"}, **_errors(401, 404, 409)},
                }
            }
            for fmt in ("pdf", "xlsx", "csv")
        },
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
        "paths": {**_ingest_paths(), **_payments_paths(), **_reporting_paths()},
    }
