"""Views that send a debtor's notices: `POST /api/v1/payments/notices/send` and the "Invia per
e-mail" / "Invia SMS" form of the position page (HTMX, CSRF checked by the gateway)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.kernel.web import ctx, endpoint, json_object, page, templates_for
from services.payments.domain_notices import printed
from services.payments.domain_simulation import position_ids_of
from services.payments.handlers_delivery import Channels, Sent, send_by_email, send_by_sms
from services.payments.roles import WEB_ROLES

templates = templates_for(Path(__file__).parent)
templates.env.filters["avviso"] = printed
ROME = ZoneInfo("Europe/Rome")


def _plan_id(raw: object) -> uuid.UUID | None:
    if raw in (None, ""):
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise DomainError("«plan_id» non è un identificativo valido.", field="plan_id") from None


def _text(body: dict[str, Any], name: str) -> str | None:
    raw = body.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > 254:
        what = {"email": "L'indirizzo e-mail", "phone": "Il numero di cellulare"}.get(name, f"«{name}»")
        raise DomainError(f"{what} è lungo al massimo 254 caratteri.", field=name)
    return raw


async def _send(request: Request, ident: Identity, uow: UnitOfWork, body: dict[str, Any]) -> Sent:
    position_ids, plan_id = position_ids_of(body), _plan_id(body.get("plan_id"))
    if position_ids and plan_id is not None:
        raise DomainError("Indica le posizioni oppure il piano, non entrambi.", field="plan_id")
    channels, now = Channels.of(ctx(request)), datetime.now(ROME)
    phone = _text(body, "phone")
    if (body.get("channel") or ("sms" if phone else "email")) == "sms":
        return await send_by_sms(uow, ident, channels, (position_ids, plan_id, phone or ""), now)
    return await send_by_email(uow, ident, channels, (position_ids, plan_id, _text(body, "email")), now)


@endpoint("api", *WEB_ROLES)
async def send_notices_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    body = await json_object(request)
    sent = await _send(request, ident, uow, body)
    answer = {
        "message_id": str(sent.message_id),
        "channel": sent.channel,
        "recipient": sent.recipient,
        "delivered": sent.delivered,
        "link": sent.link,
        "expires_at": sent.expires_at.isoformat(),
    }
    return JSONResponse(answer, status_code=201)


@endpoint(*WEB_ROLES)
async def send_notices_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_fields=40) as form:
        body: dict[str, Any] = {
            "position_ids": [str(p) for p in form.getlist("position_id")][:20] or None,
            "plan_id": str(form.get("plan_id") or ""),
            "email": str(form.get("email") or ""),
            "phone": str(form.get("phone") or ""),
            "channel": str(form.get("channel") or "email"),
        }
    sent = await _send(request, ident, uow, body)
    return page(templates, request, "delivery_result.html", {"sent": sent}, block="result")


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/payments/notices/send", send_notices_api, methods=["POST"]),
        Route("/t/{tenant}/payments/notices/send", send_notices_web, methods=["POST"]),
    ]
