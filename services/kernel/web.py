"""Web plumbing shared by every service: the context, templates, identity access, the entrypoint that
owns a view's transaction (`endpoint`), the app factory (`service_app`), error rendering, health routes."""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, FileSystemLoader
from jinja2_fragments.starlette import Jinja2Blocks
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.kernel.bus import Bus
from services.kernel.db import Database, UnitOfWork
from services.kernel.errors import DomainError, Forbidden, NotFound
from services.kernel.formats import PAGE_FILTERS, PAGE_GLOBALS
from services.kernel.identity import Identity, IdentityMiddleware, IdentitySigner
from services.kernel.logs import correlation_var, new_correlation_id, tenant_var
from services.kernel.mail import Mailer
from services.kernel.metrics import HttpMetrics, route_templates
from services.kernel.redirects import relative_slash_redirects
from services.kernel.roles import ROLE_LABELS
from services.kernel.settings import Settings
from services.kernel.storage import ObjectNotFound, ObjectStorage
from services.kernel.web_errors import ERROR_TITLES, exception_handlers, render_error

log = logging.getLogger(__name__)
T = TypeVar("T")
KERNEL_TEMPLATES = Path(__file__).parent / "templates"
CORRELATION_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class ServiceContext:
    """What a service's web handlers and consumers are given by the composition root."""

    name: str
    settings: Settings
    db: Database
    bus: Bus
    storage: ObjectStorage
    signer: IdentitySigner
    mailer: Mailer
    # The time the service's rules are judged at (calling hours): the wall clock, or in tests a
    # frozen one (`Platform.clocks`).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def templates_for(service_dir: Path) -> Jinja2Blocks:
    templates = Jinja2Blocks(directory=str(service_dir / "templates"))
    templates.env.loader = ChoiceLoader(
        [FileSystemLoader(str(service_dir / "templates")), FileSystemLoader(str(KERNEL_TEMPLATES))]
    )
    templates.env.globals.update(PAGE_GLOBALS, role_labels=ROLE_LABELS)
    templates.env.filters.update(PAGE_FILTERS)
    return templates


ROME = ZoneInfo("Europe/Rome")


async def json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object, or an Italian 400."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise DomainError("Il corpo della richiesta non è un JSON valido.") from None
    if not isinstance(body, dict):
        raise DomainError("Il corpo della richiesta deve essere un oggetto JSON.")
    return body


def ctx(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.ctx
    return context


def identity(request: Request) -> Identity:
    ident: Identity = request.scope["state"]["identity"]
    return ident


def require_role(request: Request, *roles: str) -> Identity:
    ident = identity(request)
    if not ident.has_role(*roles):
        raise Forbidden()
    return ident


# Bounds for numbers in the query string: each fits PostgreSQL's bigint even multiplied by a page size.
MAX_PAGE = 100_000
MAX_QUERY_INT = 1_000_000_000


def query_int(request: Request, name: str, default: int, *, least: int = 0, most: int = MAX_QUERY_INT) -> int:
    """A whole number from the query string, `least` to `most` (absent or empty: `default`); anything
    else is refused naming the parameter, a 400 rather than a database error."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(most)) or not least <= int(raw) <= most:
        bounds = f"da {least:,} a {most:,}".replace(",", ".")
        raise DomainError(f"Il parametro «{name}» deve essere un numero intero {bounds}.", field=name)
    return int(raw)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page(
    templates: Jinja2Blocks,
    request: Request,
    name: str,
    context: dict[str, Any],
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    """Render a full page, or only `block` when HTMX asks for a fragment."""
    ident = request.scope.get("state", {}).get("identity")
    full = {"identity": ident, "base": f"/t/{ident.tenant_slug}" if ident else "", **context}
    if block and is_htmx(request):
        return templates.TemplateResponse(request, name, full, block_name=block, status_code=status_code)
    return templates.TemplateResponse(request, name, full, status_code=status_code)


class CorrelationMiddleware:
    """Gives each request a correlation id (or keeps the caller's) and logs it with the tenant."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        incoming = headers.get(b"x-correlation-id", b"").decode("latin-1")[:64]
        if not CORRELATION_RE.match(incoming):
            incoming = ""  # never echo arbitrary client text into logs and events
        token = correlation_var.set(incoming or new_correlation_id())
        tenant_token = tenant_var.set(None)

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                out = message.setdefault("headers", [])
                if not any(k.lower() == b"x-correlation-id" for k, _ in out):
                    out.append((b"x-correlation-id", (correlation_var.get() or "").encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_var.reset(token)
            tenant_var.reset(tenant_token)


def service_middleware(signer: IdentitySigner) -> list[Middleware]:
    return [Middleware(CorrelationMiddleware), Middleware(IdentityMiddleware, signer=signer)]


# ------------------------------------------------------------------------------------ errors
# `web_errors` renders them (kept importable from here, as every service does).
__all__ = ["ERROR_TITLES", "exception_handlers", "render_error"]


# ------------------------------------------------------------------------------- entrypoints


@dataclass(frozen=True)
class AfterCommit:
    """What a view returns to build its response once its transaction is committed: a file rendered
    from what it read, without holding the connection meanwhile."""

    render: Callable[[], Awaitable[Response]]


View = Callable[[Request, Identity, UnitOfWork], Awaitable[Response | AfterCommit]]
Endpoint = Callable[[Request], Awaitable[Response]]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _unless_closed(work: Callable[[UnitOfWork], Awaitable[T]], uow: UnitOfWork) -> T:
    """A change asked of a Comune whose mandate ended (`services.mandate`) is refused, at the first
    statement (a view may read a large upload before it takes a connection)."""
    uow.refuse_closed = True
    return await work(uow)


def after_closure(view: View) -> View:
    """Marks a view that may change data after the mandate ended (the mandate's own actions)."""
    view.after_closure = True  # type: ignore[attr-defined]
    return view


def endpoint(*roles: str) -> Callable[[View], Endpoint]:
    """The entrypoint of a view: checks that the identity has one of `roles`, opens the unit of work
    on its tenant, hands both to the view, commits when the view returns and rolls back on any error.

    The connection is taken at the first statement, so a view may read a large upload first; a view
    that returns `AfterCommit` builds its response after the commit."""
    if not roles:
        raise ValueError("an endpoint declares the roles it serves")

    def wrap(view: View) -> Endpoint:
        @functools.wraps(view)
        async def entry(request: Request) -> Response:
            ident = require_role(request, *roles)
            # A NUL in a query (`%00`) could reach no text column: PostgreSQL refuses it in UTF-8.
            if any("\x00" in value for _, value in request.query_params.multi_items()):
                raise DomainError("L'indirizzo contiene caratteri non ammessi.")
            work: Callable[[UnitOfWork], Awaitable[Response | AfterCommit]]
            work = functools.partial(view, request, ident)
            if request.method not in SAFE_METHODS and not getattr(view, "after_closure", False):
                work = functools.partial(_unless_closed, work)
            result = await ctx(request).db.run(ident.tenant_id, work, correlation_var.get() or "")
            return await result.render() if isinstance(result, AfterCommit) else result

        entry.roles = roles  # type: ignore[attr-defined]
        return entry

    return wrap


def service_app(context: ServiceContext, routes: list[BaseRoute]) -> Starlette:
    """A service's ASGI app: health routes, its own routes, identity and correlation, error pages."""
    every_route = [*health_routes(context.name), *routes]
    measured = Middleware(HttpMetrics, name=context.name, template_of=route_templates(every_route))
    app = relative_slash_redirects(
        Starlette(
            routes=every_route,
            middleware=[measured, *service_middleware(context.signer)],
            exception_handlers=exception_handlers(),
        )
    )
    app.state.ctx = context
    return app


def health_routes(service: str) -> list[BaseRoute]:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        context = ctx(request)
        return await readiness(
            {"database": context.db.ping, "broker": context.bus.ping, "storage": context.storage.ping}
        )

    async def reachable(request: Request) -> Response:
        """`/t/<tenant>/<service>/healthz`: this service reached through the gateway with a signed
        identity (session, forwarding, signature), doing nothing else: a synthetic check of the
        whole path for monitoring, and the bare endpoint beside which `bench/operator.py` measures."""
        ident = identity(request)
        return JSONResponse({"status": "ok", "tenant": ident.tenant_slug})

    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(f"/t/{{tenant}}/{service}/healthz", reachable),
    ]


async def readiness(probes: dict[str, Callable[[], Awaitable[None]]]) -> Response:
    """`/readyz`: 200 when every dependency answers, 503 naming the ones that do not."""
    checks: dict[str, str] = {}
    for name, probe in probes.items():
        try:
            await probe()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


async def stored_file(
    storage: ObjectStorage, tenant_id: uuid.UUID, key: str, file_name: str, media_type: str | None = None
) -> Response:
    """A file kept in object storage, downloaded under the name it was uploaded with (`media_type`
    defaults to what the storage recorded); a file gone from the storage is a clear 404."""
    try:
        head = await storage.head(tenant_id, key)
    except ObjectNotFound:
        raise NotFound("Il file non è più disponibile nell'archivio.") from None
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", file_name) or "file"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"
    return StreamingResponse(
        storage.stream(tenant_id, key),
        media_type=media_type or head.content_type,
        headers={"Content-Disposition": disposition},
    )


def stored_download(
    request: Request, tenant_id: uuid.UUID, key: str, file_name: str, media_type: str | None = None
) -> AfterCommit:
    """A view's answer that streams a stored file (`stored_file`) once its transaction (which
    found the file and recorded the download) is committed."""
    storage = ctx(request).storage

    async def render() -> Response:
        return await stored_file(storage, tenant_id, key, file_name, media_type)

    return AfterCommit(render)
