"""The operators' search for a taxpayer who phones in or writes (`handlers_search`): a page with the
form and its results; what was typed stays in the field, a refusal is said at it."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.contact import handlers_search
from services.contact.domain import STATUS_LABELS
from services.contact.roles import ROLES
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.kernel.web import endpoint, page, templates_for

templates = templates_for(Path(__file__).parent)
templates.env.globals["status_labels"] = STATUS_LABELS


@endpoint(*ROLES)
async def search_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    typed = request.query_params.get("q")
    context: dict[str, object] = {"typed": (typed or "")[:200]}
    status = 200
    if typed is not None:
        try:
            context["found"] = await handlers_search.search(uow, ident, typed)
        except DomainError as problem:
            context["problem"], status = problem, 400
    return page(templates, request, "search.html", context, block="results", status_code=status)


def routes() -> list[BaseRoute]:
    return [Route("/t/{tenant}/contact/cerca", search_page, methods=["GET"])]
