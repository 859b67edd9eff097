"""The supervisors' live board: refreshed by HTMX polling while it is open."""

from __future__ import annotations

import uuid
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.contact import handlers_board
from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.identity import Identity
from services.kernel.web import ctx, endpoint, is_htmx, page, templates_for

templates = templates_for(Path(__file__).parent)
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
    try:
        debtor_id = uuid.UUID(request.path_params["debtor_id"])
    except ValueError:
        raise NotFound() from None
    await handlers_board.release_lease(uow, ident, debtor_id)
    context = {
        "board": await handlers_board.board(uow, ident, ctx(request).clock()),
        "refresh": REFRESH_SECONDS,
    }
    return page(templates, request, "board.html", context, block="board")


def routes() -> list[BaseRoute]:
    return [
        Route("/t/{tenant}/contact/board", board_page, methods=["GET"]),
        Route("/t/{tenant}/contact/board/leases/{debtor_id}/release", release_lease, methods=["POST"]),
    ]
