"""Trailing-slash redirects as relative URLs.

Starlette's router answers `/admin` with a redirect to `/admin/` built from the request's Host
header, so a request carrying `Host: evil.example` is sent to http://evil.example/admin/. Here the
redirect names the path alone: the browser stays on the scheme and host it asked for."""

from __future__ import annotations

from urllib.parse import quote

from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import Receive, Scope, Send


def relative_slash_redirects(app: Starlette) -> Starlette:
    """`app` with Starlette's absolute slash redirect replaced by a relative one."""
    router = app.router
    not_found = router.default

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        location = slash_location(router, scope) if scope["type"] == "http" else None
        if location is None:
            await not_found(scope, receive, send)
        else:
            await RedirectResponse(location)(scope, receive, send)

    router.redirect_slashes = False
    router.default = default
    return app


def slash_location(router: Router, scope: Scope) -> str | None:
    """The path with its trailing slash added or dropped, if a route answers it; else None."""
    path: str = scope["path"]
    if path == "/" or not path.startswith("/"):
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    candidate = {**scope, "path": other}
    if not any(route.matches(candidate)[0] is not Match.NONE for route in router.routes):
        return None
    # One leading slash: "//host/..." would be a link to another host.
    location = "/" + quote(other).lstrip("/")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{location}?{query}" if query else location
