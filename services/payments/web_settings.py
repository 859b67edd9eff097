"""Views of the Comune's pagoPA settings: the page of the Comune's admin and `PUT
/api/v1/payments/settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.web import endpoint, json_object, page, templates_for
from services.payments import handlers_settings
from services.payments.domain_settings import InvalidSettings

templates = templates_for(Path(__file__).parent)
ADMIN_ROLES = ("comune_admin", "platform_admin")
FORM_FIELDS = (*handlers_settings.BLANK, "gpd_api_key")


@endpoint(*ADMIN_ROLES)
async def settings_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    stored = await handlers_settings.settings_of(uow, ident.tenant_id)
    return page(templates, request, "settings.html", {"values": stored, "errors": {}})


@endpoint(*ADMIN_ROLES)
async def save_settings_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_fields=30) as form:
        raw: dict[str, object] = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    try:
        await handlers_settings.save_settings(uow, ident, raw)
    except InvalidSettings as problem:  # shown beside each field; nothing was written
        stored = await handlers_settings.settings_of(uow, ident.tenant_id)
        typed = {
            **raw,
            "gpd_api_key": stored["gpd_api_key"],
            "applies_charges": raw["applies_charges"] == "1",
        }
        context: dict[str, Any] = {"values": typed, "errors": problem.errors}
        return page(templates, request, "settings.html", context, block="settings_form", status_code=400)
    context = {
        "values": await handlers_settings.settings_of(uow, ident.tenant_id),
        "errors": {},
        "saved": True,
    }
    return page(templates, request, "settings.html", context, block="settings_form")


@endpoint("api")
async def save_settings_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    body = await json_object(request)
    try:
        await handlers_settings.save_settings(uow, ident, body)
    except InvalidSettings as problem:
        answer = {"error": problem.message, "field": problem.field, "errors": problem.errors}
        return JSONResponse(answer, status_code=400)
    return JSONResponse(await handlers_settings.settings_of(uow, ident.tenant_id))


def routes() -> list[BaseRoute]:
    return [
        Route("/t/{tenant}/payments/settings", settings_page, methods=["GET"]),
        Route("/t/{tenant}/payments/settings", save_settings_web, methods=["POST"]),
        Route("/api/v1/payments/settings", save_settings_api, methods=["PUT"]),
    ]
