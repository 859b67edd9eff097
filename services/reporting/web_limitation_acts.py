"""The Ufficio tributi records on the debtor's page the Comune's acts that interrupted the
limitation (c.c. art. 2943), or takes one back entered by mistake (`handlers_limitation_acts`).
A refused act comes back on the same page, said at its field, with what was typed."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import ctx, endpoint, page
from services.kernel.web_reload import back_to_form
from services.reporting import handlers_limitation_acts, handlers_portal
from services.reporting.domain import ROME
from services.reporting.domain_limitation_acts import read_act
from services.reporting.web import templates
from services.reporting.web_portal import ACT_ROLES, debtor_context, debtor_id_of


def _back(request: Request, ident: Identity, debtor_id: uuid.UUID, note: str) -> Response:
    """The debtor's page with the note, keeping the list it was opened from (its query)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "atto"]
    query = urlencode([*kept, ("atto", note)])
    url = f"/t/{ident.tenant_slug}/reporting/portale/debitori/{debtor_id}?{query}#atti"
    return RedirectResponse(url, status_code=303)


async def _refused(
    request: Request,
    ident: Identity,
    uow: UnitOfWork,
    debtor_id: uuid.UUID,
    error: DomainError,
    typed: dict[str, Any],
) -> Response:
    """The debtor's page again, the refusal beside the form (at its field) and what was typed."""
    found = await handlers_portal.debtor_file(uow, ident, debtor_id)
    context = {**debtor_context(request, ident, found), "act_error": error, "act_typed": typed}
    return page(templates, request, "portal_debtor.html", context, status_code=error.status)


@endpoint(*ACT_ROLES)
async def record_act(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    debtor_id = debtor_id_of(request)
    now = ctx(request).clock()
    async with request.form(max_fields=80) as form:
        typed: dict[str, Any] = {k: str(form.get(k) or "") for k in ("kind", "served_on", "reference")}
        chosen = [str(v) for v in form.getlist("position_id")][:50]
    typed["position_ids"] = chosen
    try:
        act = read_act(typed, chosen, now.astimezone(ROME).date())
        await handlers_limitation_acts.record_act(uow, ident, debtor_id, act, now)
    except NotFound:
        raise
    except DomainError as refused:
        return await _refused(request, ident, uow, debtor_id, refused, typed)
    return _back(request, ident, debtor_id, "registrato")


@endpoint(*ACT_ROLES)
async def withdraw_act(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    debtor_id = debtor_id_of(request)
    try:
        act_id = uuid.UUID(request.path_params["act_id"])
    except ValueError:
        raise NotFound("Atto non trovato.") from None
    try:
        await handlers_limitation_acts.withdraw_act(uow, ident, debtor_id, act_id, ctx(request).clock())
    except NotFound:
        raise
    except DomainError as refused:
        return await _refused(request, ident, uow, debtor_id, refused, {})
    return _back(request, ident, debtor_id, "annullato")


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting/portale/debitori/{debtor_id}/atti"
    debtor_page = "/t/{tenant}/reporting/portale/debitori/{debtor_id}"
    return [
        Route(web, record_act, methods=["POST"]),
        Route(f"{web}/{{act_id}}/annulla", withdraw_act, methods=["POST"]),
        # A refused act's page reloaded or bookmarked: back to the debtor's page.
        back_to_form(web, debtor_page, *ACT_ROLES),
        back_to_form(f"{web}/{{act_id}}/annulla", debtor_page, *ACT_ROLES),
    ]
