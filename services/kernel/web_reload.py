"""GETs on the addresses forms only post to: a refused or answered submit (without HTMX) leaves that
address in the browser; reloaded or bookmarked, it goes back to the form's page instead of
«Metodo non consentito»."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.web import endpoint


def back_to_form(path: str, page: str, *roles: str) -> Route:
    """The GET route of `path` (a form's action) back to `page` (`{tenant}`: the Comune's slug; any
    other placeholder: the path's own parameter of that name), for the roles that see the form."""

    async def again(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
        return RedirectResponse(
            page.format(**{**request.path_params, "tenant": ident.tenant_slug}), status_code=303
        )

    return Route(path, endpoint(*roles)(again), methods=["GET"])
