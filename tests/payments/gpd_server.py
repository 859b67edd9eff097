"""A local GPD server for the tests, written from the external v1 OpenAPI of
`pagopa/pagopa-debt-position` (`openapi/openapi_external_v1.json`, version 1.1.37, commit 597562dd):
pagoPA cannot be reached from here.

It checks the `Ocp-Apim-Subscription-Key` header (401 without a body, as the API answers), validates
request bodies against the required fields, types, enums, lengths, patterns and minimums that the
OpenAPI declares for `PaymentPositionModel`, `PaymentOptionModel` and `TransferModel`, plus the
congruence checks the service applies (due date not past, transfers summing to the option, ids
"1".."5"), keeps the positions in memory per organization and follows the v1 status machine:
create -> DRAFT (`toPublish=false`) or VALID/PUBLISHED (`toPublish=true`, without/with
`validityDate`); publish only from DRAFT; invalidate only from PUBLISHED or VALID -> INVALID;
409 on a duplicate `iupd` (or an IUV already used by the organization), 404 for an unknown one.
Errors are `ProblemJson` (`title`, `status`, `detail`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.smtp_server import free_port

# (type, required, extra constraints) per property, as the OpenAPI declares them.
Schema = dict[str, tuple[str, bool, dict[str, Any]]]
TEXT140: dict[str, Any] = {"maxLength": 140}
IBAN: dict[str, Any] = {"maxLength": 35, "minLength": 1, "pattern": r"^[A-Za-z0-9]{1,35}$"}
METADATA: Schema = {"key": ("string", True, TEXT140), "value": ("string", True, TEXT140)}
TRANSFER: Schema = {
    "idTransfer": ("string", True, {"enum": ["1", "2", "3", "4", "5"]}),
    "amount": ("integer", True, {"minimum": 1}),
    "organizationFiscalCode": ("string", False, {}),
    "remittanceInformation": ("string", True, TEXT140),
    "category": ("string", True, {}),
    "iban": ("string", False, IBAN),
    "postalIban": ("string", False, {"maxLength": 35, "pattern": r"^$|^[A-Za-z0-9]{1,35}$"}),
    "stamp": ("object", False, {}),
    "companyName": ("string", False, TEXT140),
    "transferMetadata": ("array", False, {"maxItems": 10, "items": METADATA}),
}
OPTION: Schema = {
    "nav": ("string", False, {}),
    "iuv": ("string", True, {}),
    "amount": ("integer", True, {"minimum": 1}),
    "description": ("string", True, TEXT140),
    "isPartialPayment": ("boolean", True, {}),
    "dueDate": ("date-time", True, {}),
    "retentionDate": ("date-time", False, {}),
    "transfer": ("array", False, {"items": TRANSFER}),
    "paymentOptionMetadata": ("array", False, {"maxItems": 10, "items": METADATA}),
}
POSITION: Schema = {
    "iupd": ("string", True, {}),
    "type": ("string", True, {"enum": ["F", "G"]}),
    "payStandIn": ("boolean", False, {}),
    "fiscalCode": ("string", True, {}),
    "fullName": ("string", True, {}),
    **{name: ("string", False, {}) for name in ("streetName", "civicNumber", "postalCode", "city")},
    **{name: ("string", False, {}) for name in ("province", "region", "email", "phone")},
    "country": ("string", False, {"pattern": r"[A-Z]{2}"}),
    "switchToExpired": ("boolean", True, {}),
    "companyName": ("string", True, TEXT140),
    "officeName": ("string", False, TEXT140),
    "validityDate": ("date-time", False, {}),
    "paymentOption": ("array", False, {"items": OPTION}),
}
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "date-time": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "date-time":
        return isinstance(value, str) and DATE_TIME.fullmatch(value) is not None
    return isinstance(value, PYTHON_TYPES[kind])


def _constraints(path: str, value: Any, rules: dict[str, Any]) -> list[str]:
    errors = []
    if "enum" in rules and value not in rules["enum"]:
        errors.append(f"{path} must be one of {rules['enum']}")
    if "maxLength" in rules and len(value) > rules["maxLength"]:
        errors.append(f"{path} size must be at most {rules['maxLength']}")
    if "minLength" in rules and len(value) < rules["minLength"]:
        errors.append(f"{path} size must be at least {rules['minLength']}")
    if "pattern" in rules and not re.search(rules["pattern"], value):
        errors.append(f"{path} must match {rules['pattern']}")
    if "minimum" in rules and value < rules["minimum"]:
        errors.append(f"{path} must be at least {rules['minimum']}")
    if "maxItems" in rules and len(value) > rules["maxItems"]:
        errors.append(f"{path} must have at most {rules['maxItems']} items")
    if "items" in rules:
        for index, item in enumerate(value):
            errors += validate(f"{path}[{index}]", item, rules["items"])
    return errors


def validate(path: str, body: Any, schema: Schema) -> list[str]:
    """What in `body` breaks the schema: missing required fields, wrong types, broken constraints."""
    if not isinstance(body, dict):
        return [f"{path or 'body'} must be an object"]
    errors = []
    for name, (kind, required, rules) in schema.items():
        where = f"{path}.{name}" if path else name
        if body.get(name) is None:
            errors += [f"{where} is required"] if required else []
        elif not _type_ok(kind, body[name]):
            errors.append(f"{where} must be of type {kind}")
        else:
            errors += _constraints(where, body[name], rules)
    return errors


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def congruence(position: dict[str, Any]) -> list[str]:
    """The service's own checks beyond the schema (`DebtPositionValidation`)."""
    errors, now = [], datetime.now(UTC)
    for option in position.get("paymentOption", []):
        if _moment(option["dueDate"]) < now:
            errors.append(f"Dates congruence error: due_date must be >= current_date [iuv={option['iuv']}]")
        transfers = option.get("transfer", [])
        if len(transfers) > 5:
            errors.append("Number of transfers congruence error")
        if sum(t["amount"] for t in transfers) != option["amount"]:
            errors.append(f"Amounts congruence error [iuv={option['iuv']}]")
        if any(t.get("stamp") and t.get("iban") for t in transfers):
            errors.append("The Iban may be present or the Stamp, not both")
    return errors


def problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"title": title, "status": status, "detail": detail}, status_code=status)


@dataclass
class GpdServer:
    """The in-memory state: positions per organization fiscal code and iupd; every request seen."""

    api_key: str
    positions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        base = "/organizations/{org}/debtpositions"
        return Starlette(
            routes=[
                Route(base, self.create, methods=["POST"]),
                Route(base + "/{iupd}", self.get, methods=["GET"]),
                Route(base + "/{iupd}/publish", self.publish, methods=["POST"]),
                Route(base + "/{iupd}/invalidate", self.invalidate, methods=["POST"]),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        self.requests.append((request.method, request.url.path))
        return request.headers.get("Ocp-Apim-Subscription-Key") == self.api_key

    async def create(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(status_code=401)
        org = request.path_params["org"]
        try:
            body = json.loads(await request.body())
        except ValueError:
            return problem(400, "Bad Request", "Malformed JSON request")
        errors = validate("", body, POSITION) or congruence(body)
        if errors:
            return problem(400, "BAD REQUEST", "; ".join(errors))
        used = {
            o["iuv"] for (o_org, _), p in self.positions.items() if o_org == org for o in p["paymentOption"]
        }
        if (org, body["iupd"]) in self.positions or used & {o["iuv"] for o in body.get("paymentOption", [])}:
            return problem(409, "Conflict", f"Debt Position already exists [iupd={body['iupd']}]")
        publish = request.query_params.get("toPublish", "false").lower() == "true"
        status = ("PUBLISHED" if body.get("validityDate") else "VALID") if publish else "DRAFT"
        stored = {**body, "paymentOption": body.get("paymentOption", []), "status": status}
        self.positions[(org, body["iupd"])] = stored
        return JSONResponse(stored, status_code=201)

    def _found(self, request: Request) -> dict[str, Any] | None:
        return self.positions.get((request.path_params["org"], request.path_params["iupd"]))

    async def get(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(status_code=401)
        found = self._found(request)
        if found is None:
            return problem(404, "Not found", f"Debt Position not found [iupd={request.path_params['iupd']}]")
        return JSONResponse({**found, "organizationFiscalCode": request.path_params["org"]})

    async def _transition(self, request: Request, allowed: set[str], target: str, verb: str) -> Response:
        if not self._authorized(request):
            return Response(status_code=401)
        found = self._found(request)
        if found is None:
            return problem(404, "Not found", f"Debt Position not found [iupd={request.path_params['iupd']}]")
        if found["status"] not in allowed:
            return problem(
                409, "Conflict", f"Debt Position is not in {verb} state [status={found['status']}]"
            )
        found["status"] = target
        return JSONResponse(found)

    async def publish(self, request: Request) -> Response:
        found = self._found(request)
        target = "PUBLISHED" if found and found.get("validityDate") else "VALID"
        return await self._transition(request, {"DRAFT"}, target, "publishable")

    async def invalidate(self, request: Request) -> Response:
        return await self._transition(request, {"PUBLISHED", "VALID"}, "INVALID", "invalidable")


@asynccontextmanager
async def running(api_key: str) -> AsyncIterator[GpdServer]:
    """The server on a free local port, run by uvicorn for the duration of the block."""
    state = GpdServer(api_key)
    port = free_port()
    config = uvicorn.Config(state.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.should_exit = True
        await task
