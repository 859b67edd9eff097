"""The operators' work lists: the supervisors' editor of one operator's list (an HTMX fragment the
gateway's people page of the Comune embeds beside each operator, or a page of its own), the page
of the Comune's lists, and the operator's own list shown on the queue and the home."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.contact import handlers_lists
from services.contact.domain_lists import FIELDS
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound, errors_of
from services.kernel.identity import Identity, subject_name
from services.kernel.web import ctx, endpoint, is_htmx, page, templates_for

templates = templates_for(Path(__file__).parent)
# The gateway's user ids (UUIDs); anything else names nobody.
OPERATOR_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
NAME_LENGTH = 200


def _operator(request: Request) -> str:
    operator = str(request.path_params["operator"])
    if not OPERATOR_RE.match(operator):
        raise NotFound()
    return operator


def _vouched(request: Request, ident: Identity, operator: str, token: object) -> tuple[str, str] | None:
    """The operator's name as the gateway's signed link gives it (`firma`: the gateway alone knows
    the Comune's people), with the token to carry on; None without a valid one."""
    name = subject_name(ctx(request).settings.secret_key, str(token or ""), ident.tenant_id, operator)
    return None if name is None else (" ".join(name.split())[:NAME_LENGTH], str(token))


def _editor(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    """The editor: a fragment (its form folded) for HTMX, else a page of its own (unfolded)."""
    context = {**context, "is_fragment": is_htmx(request)}
    return page(templates, request, "work_list.html", context, block="work_list", status_code=status_code)


@endpoint(*handlers_lists.EDITORS)
async def lists_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    context = {"lists": await handlers_lists.comune_lists(uow, ident)}
    return page(templates, request, "work_lists.html", context)


@endpoint(*handlers_lists.EDITORS)
async def list_editor(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    operator = _operator(request)
    vouched = _vouched(request, ident, operator, request.query_params.get("firma"))
    return _editor(request, await handlers_lists.editor(uow, ident, operator, vouched))


@endpoint(*handlers_lists.EDITORS)
async def save_list(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    operator = _operator(request)
    async with request.form(max_fields=20) as form:
        kinds = [str(kind) for kind in form.getlist("tributi")]
        raw = {name: str(form.get(name) or "") for name in FIELDS[1:]}
        vouched = _vouched(request, ident, operator, form.get("firma"))
    context = await handlers_lists.editor(uow, ident, operator, vouched)  # 404: nobody of the Comune
    try:
        await handlers_lists.save(uow, ident, (operator, context["operator_name"]), kinds, raw)
    except DomainError as problem:  # shown at its field; nothing was written
        if problem.status != 400:
            raise
        context |= {"values": raw, "chosen": set(kinds), "errors": errors_of(problem)}
        return _editor(request, context, status_code=400)
    context = await handlers_lists.editor(uow, ident, operator, vouched)
    return _editor(request, {**context, "saved": True})


@endpoint(*handlers_lists.EDITORS)
async def remove_list(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    operator = _operator(request)
    async with request.form(max_fields=5) as form:
        vouched = _vouched(request, ident, operator, form.get("firma"))
    context = await handlers_lists.editor(uow, ident, operator, vouched)
    await handlers_lists.remove(uow, ident, operator)
    context = await handlers_lists.editor(uow, ident, operator, vouched or (context["operator_name"], ""))
    return _editor(request, {**context, "removed": True})


@endpoint(*handlers_lists.CALLERS)
async def own_list(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """«La tua lista» on the queue and on the home (empty without a list)."""
    context = {"described": await handlers_lists.own_list(uow, ident)}
    if is_htmx(request) and context["described"] is None:
        return Response(status_code=200)
    return page(templates, request, "own_list.html", context, block="own_list")


def routes() -> list[BaseRoute]:
    prefix = "/t/{tenant}/contact"
    return [
        Route(f"{prefix}/liste", lists_page, methods=["GET"]),
        Route(f"{prefix}/liste/{{operator}}", list_editor, methods=["GET"]),
        Route(f"{prefix}/liste/{{operator}}", save_list, methods=["POST"]),
        Route(f"{prefix}/liste/{{operator}}/rimuovi", remove_list, methods=["POST"]),
        Route(f"{prefix}/lista", own_list, methods=["GET"]),
    ]
