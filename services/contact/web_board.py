"""The supervisors' live board: refreshed by HTMX polling while it is open."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contact import handlers_board
from services.contact.domain import CALLBACK_GRACE, OUTCOME_LABELS
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import ctx, endpoint, is_htmx, page, templates_for

templates = templates_for(Path(__file__).parent)
templates.env.globals["outcome_labels"] = OUTCOME_LABELS
templates.env.globals["callback_grace"] = int(CALLBACK_GRACE.total_seconds() // 60)
REFRESH_SECONDS = 20


@endpoint(*handlers_board.SUPERVISORS)
async def board_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    context = {
        "board": await handlers_board.board(uow, ident, ctx(request).clock()),
        "refresh": REFRESH_SECONDS,
    }
    return page(templates, request, "board.html", context, block="board" if is_htmx(request) else None)


@endpoint(*handlers_board.SUPERVISORS)
async def release_lease(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    released = await handlers_board.release_lease(uow, ident, _lease(request))
    context = {
        "board": await handlers_board.board(uow, ident, ctx(request).clock()),
        "refresh": REFRESH_SECONDS,
        "released": released,
    }
    return page(templates, request, "board.html", context, block="board")


@endpoint(*handlers_board.SUPERVISORS)
async def reassign_lease(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """«Affida a»: the card handed to the operator chosen; a refusal is said at that row, the
    board kept."""
    return await _hand(request, ident, uow, handlers_board.reassign_lease, ("reassigned", "refused"))


@endpoint(*handlers_board.SUPERVISORS)
async def hand_callback(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """A callback kept for one operator handed to another or to anyone; a refusal said at its row."""
    return await _hand(request, ident, uow, handlers_board.hand_callback, ("handed", "refused_callback"))


async def _hand(
    request: Request,
    ident: Identity,
    uow: UnitOfWork,
    action: Callable[..., Awaitable[object]],
    keys: tuple[str, str],
) -> Response:
    """Something of the board handed to the operator the form chose (`action`), the board shown
    again with the result under `keys[0]` or the refusal, by row, under `keys[1]`."""
    debtor_id = _lease(request)
    async with request.form(max_fields=5) as form:
        operator = form.get("operatore")
    now = ctx(request).clock()
    context: dict[str, object] = {"refresh": REFRESH_SECONDS}
    status = 200
    try:
        context[keys[0]] = await action(uow, ident, debtor_id, operator, now)
    except DomainError as refused:
        context[keys[1]] = (debtor_id, refused.message)
        status = refused.status
    context["board"] = await handlers_board.board(uow, ident, now)
    return page(templates, request, "board.html", context, block="board", status_code=status)


def _lease(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["debtor_id"])
    except ValueError:
        raise NotFound() from None


@endpoint(*handlers_board.SUPERVISORS)
async def review_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    operator = (request.query_params.get("operatore") or "").strip()[:200]
    if not operator:  # the operators to review are listed on the board, each with its link
        return RedirectResponse(f"/t/{ident.tenant_slug}/contact/board", status_code=303)
    context = {"review": await handlers_board.review_sample(uow, ident, operator, ctx(request).clock())}
    return page(templates, request, "board_review.html", context)


@endpoint(*handlers_board.SUPERVISORS)
async def review_call(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    try:
        contact_id = uuid.UUID(request.path_params["contact_id"])
    except ValueError:
        raise NotFound() from None
    async with request.form(max_fields=5) as form:
        score, comment = form.get("score"), form.get("comment")
    operator = await handlers_board.review_call(uow, ident, contact_id, score, comment)
    url = f"/t/{ident.tenant_slug}/contact/board/review?{urlencode({'operatore': operator, 'valutata': '1'})}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/t/{tenant}/contact/board", board_page, methods=["GET"]),
        Route("/t/{tenant}/contact/board/leases/{debtor_id}/release", release_lease, methods=["POST"]),
        Route("/t/{tenant}/contact/board/leases/{debtor_id}/reassign", reassign_lease, methods=["POST"]),
        Route("/t/{tenant}/contact/board/callbacks/{debtor_id}/hand", hand_callback, methods=["POST"]),
        Route("/t/{tenant}/contact/board/review", review_page, methods=["GET"]),
        Route("/t/{tenant}/contact/board/review/{contact_id}", review_call, methods=["POST"]),
    ]
