"""The gateway: sessions, logins, API keys, its own pages, and forwarding to the owning service.

Each forwarded request carries a short-lived signed identity (user, tenant, roles) that the service
verifies; whatever identity header the client sent is dropped. The gateway's own pages (`web`,
`web_login`, `web_admin`) are given a `PageContext` built here, never the `Gateway` itself.
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from gateway import domain, handlers, web, web_admin, web_login
from gateway.domain import SessionPolicy
from gateway.oidc import OidcClient, ProviderConfig, providers_from_env
from gateway.proxy import Upstream, UpstreamUnreachable
from gateway.ratelimit import RateLimiter, RateLimits
from gateway.repository_sessions import Session
from gateway.sessions import SessionStore
from gateway.web import PRELOGIN_COOKIE, SESSION_COOKIE, PageContext, client_ip, too_many
from services.kernel.bus import Bus
from services.kernel.db import Database
from services.kernel.identity import Identity, IdentitySigner
from services.kernel.logs import correlation_var
from services.kernel.mail import make_mailer
from services.kernel.metrics import HttpMetrics, route_templates
from services.kernel.redirects import relative_slash_redirects
from services.kernel.roles import CALLING_ROLES, COMUNE_ROLES, PUBLIC_ROLE
from services.kernel.settings import Settings
from services.kernel.storage import ObjectStorage
from services.kernel.web import CorrelationMiddleware, exception_handlers, render_error, templates_for

log = logging.getLogger(__name__)
MAX_FORM_BYTES = 1024 * 1024
ROOT = Path(__file__).resolve().parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


__all__ = ["PRELOGIN_COOKIE", "SESSION_COOKIE", "Gateway"]


def vendor_dir() -> Path:
    """Front-end packages installed by npm (Bootstrap Italia, HTMX); never committed."""
    return Path(os.environ.get("RISCOSSA_VENDOR_DIR", ROOT.parent / "node_modules"))


# What makes a forwarding failure a 502 (the service did not answer) rather than a 500.
UNREACHABLE = (UpstreamUnreachable, httpx.HTTPError)


class Gateway:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        signer: IdentitySigner,
        storage: ObjectStorage,
        bus: Bus,
        upstreams: dict[str, Upstream],
        *,
        oidc_providers: list[ProviderConfig] | None = None,
        session_policy: SessionPolicy | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        settings.check()
        self.settings = settings
        self.db = db
        self.signer = signer
        self.upstreams = upstreams
        self.rate_limiter = RateLimiter(db, RateLimits.from_env())
        self.sessions_store = SessionStore(db, session_policy)
        base = settings.public_base_url.rstrip("/")
        self.oidc_clients = {
            c.name: OidcClient(c, f"{base}/login/oidc/{c.name}/callback", http_transport)
            for c in (providers_from_env() if oidc_providers is None else oidc_providers)
        }
        self.context = PageContext(
            settings=settings,
            db=db,
            templates=templates_for(ROOT),
            session_policy=self.sessions_store.policy,
            rate_limiter=self.rate_limiter,
            oidc_clients=self.oidc_clients,
            storage=storage,
            bus=bus,
            secure_cookies=not _plain_http_loopback(settings.public_base_url),
            mailer=make_mailer(settings),
        )
        # The logout form is answered with a redirect to the provider's end_session endpoint, which
        # the browser checks against form-action.
        origins = sorted({_origin(c.config.issuer) for c in self.oidc_clients.values()})
        self.csp = CSP.replace("form-action 'self'", " ".join(["form-action 'self'", *origins]))
        self.router = relative_slash_redirects(
            Starlette(routes=_routes(), exception_handlers=exception_handlers())
        )
        self._own_templates = route_templates(self.router.routes)
        self.router.state.context = self.context

    async def close(self) -> None:
        """Close the connections to the services."""
        for upstream in self.upstreams.values():
            await upstream.close()

    async def read_session(self, request: Request) -> Session | None:
        return await self.sessions_store.load(request.cookies.get(SESSION_COOKIE))

    # ------------------------------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.router(scope, receive, send)
            return
        send = self._secure_headers(send, str(scope.get("path", "")).startswith("/static/"))
        app = HttpMetrics(CorrelationMiddleware(self._dispatch), "gateway", self._template)
        await app(scope, receive, send)

    def _template(self, scope: Scope) -> str:
        """The route template a request is counted under in the metrics."""
        return domain.forward_template(scope["path"]) or self._own_templates(scope)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        tenant_path = domain.split_tenant_path(path)
        api_service = domain.split_api_path(path) if tenant_path is None else None
        public_service = domain.split_public_path(path)
        if tenant_path is None and api_service is None and public_service is None:
            await self.router(scope, receive, send)
            return
        started = finished = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, finished
            started = started or message["type"] == "http.response.start"
            finished = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        try:
            if tenant_path is not None:
                await self._forward_tenant(scope, receive, tracking_send, *tenant_path)
            elif public_service is not None:
                await self._forward_public(scope, receive, tracking_send, public_service)
            else:
                await self._forward_api(scope, receive, tracking_send, str(api_service))
        except Exception as exc:
            # A database or upstream failure gets the same Italian error page with its correlation id.
            log.exception("forwarding failed")
            if finished:
                # The service answered in full (Starlette sends its 500, then raises): re-raising
                # would make the server close the client's keep-alive connection.
                return
            if started:
                raise
            status = 502 if any(isinstance(e, UNREACHABLE) for e in _causes(exc)) else 500
            message = "Servizio momentaneamente non raggiungibile" if status == 502 else "Errore interno"
            response = render_error(
                Request(scope), status, f"{message}. Codice per l'assistenza: {correlation_var.get() or '-'}."
            )
            await response(scope, receive, send)

    def _secure_headers(self, send: Send, static: bool) -> Send:
        """The security headers of every answer; every one but the static assets is not kept by
        the browser (pages name taxpayers: an office's shared computer, or the back button after a
        payment or a logout, shows nothing stale)."""

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not static and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                headers += [
                    (b"content-security-policy", self.csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if self.settings.public_base_url.startswith("https://"):
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped

    # ------------------------------------------------------------------------------------ forwarding

    async def _forward_tenant(
        self, scope: Scope, receive: Receive, send: Send, slug: str, service: str | None
    ) -> None:
        request = Request(scope, receive)
        known = service is None or service in self.upstreams
        # A fragment loaded into a page (the home's queues) is not a move to another Comune.
        note = known and not request.headers.get("hx-request")
        work = functools.partial(
            handlers.open_tenant,
            cookie=request.cookies.get(SESSION_COOKIE),
            policy=self.sessions_store.policy,
            slug=slug,
            ip=client_ip(request),
            path=request.url.path,
            note=note,
        )
        # Committed before forwarding: no connection is held while the service answers.
        access = await self.db.run(None, work)
        if access is None:
            response: Response = RedirectResponse("/login", status_code=303)
            if request.method != "GET" or request.headers.get("hx-request"):
                response = render_error(request, 401, "Sessione scaduta: accedi di nuovo.")
            await response(scope, receive, send)
            return
        if not access.mine or not known:
            await render_error(request, 404, "Pagina non trovata.")(scope, receive, send)
            return
        if service is None:
            roles = {m.role for m in access.mine}
            phones = roles & set(CALLING_ROLES) and not roles & set(COMUNE_ROLES)
            landing = "contact" if phones else "reporting"
            await RedirectResponse(f"/t/{slug}/{landing}/", status_code=303)(scope, receive, send)
            return
        if request.method in domain.UNSAFE_METHODS:
            ok, receive = await self._check_csrf(scope, receive, access.session.csrf)
            if not ok:
                await render_error(
                    request,
                    403,
                    "Richiesta non valida (token CSRF mancante o errato): ricarica la pagina e riprova.",
                )(scope, receive, send)
                return
        identity = web.member_identity(access.session, access.mine, access.memberships)
        await self.upstreams[service].forward(scope, receive, send, self.signer.sign(identity))

    async def _forward_api(self, scope: Scope, receive: Receive, send: Send, service: str) -> None:
        request = Request(scope, receive)
        key = _api_key(request.headers)
        caller = await self.db.run(None, functools.partial(handlers.api_caller, key=key)) if key else None
        if caller is None or service not in self.upstreams:
            await JSONResponse({"error": "Chiave API mancante o non valida."}, status_code=401)(
                scope, receive, send
            )
            return
        verdict = await self.rate_limiter.api_request(str(caller.key_id))
        if not verdict.allowed:
            await too_many(request, verdict)(scope, receive, send)
            return
        identity = Identity(
            user_id=f"api-key:{caller.key_id}",
            display_name="Chiave API",
            tenant_id=caller.tenant_id,
            tenant_slug=caller.tenant_slug,
            tenant_name=caller.tenant_name,
            roles=(domain.API_ROLE,),
            via="api_key",
        )
        await self.upstreams[service].forward(scope, receive, send, self.signer.sign(identity))

    async def _forward_public(self, scope: Scope, receive: Receive, send: Send, service: str) -> None:
        """A page opened by a signed link: no session, limited per client address; the service
        checks the link and answers with the "public" identity."""
        request = Request(scope, receive)
        if service not in self.upstreams:
            await render_error(request, 404, "Pagina non trovata.")(scope, receive, send)
            return
        verdict = await self.rate_limiter.public_request(client_ip(request))
        if not verdict.allowed:
            await too_many(request, verdict)(scope, receive, send)
            return
        await self.upstreams[service].forward(scope, receive, send, self.signer.sign(PUBLIC_IDENTITY))

    async def _check_csrf(self, scope: Scope, receive: Receive, expected: str) -> tuple[bool, Receive]:
        headers = Headers(scope=scope)
        sent = headers.get("x-csrf-token")
        if sent is not None:
            return domain.same_secret(sent, expected), receive
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return False, receive
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_FORM_BYTES:
                return False, receive
        field = parse_qs(body.decode("latin-1")).get("csrf_token", [""])[0]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return domain.same_secret(field, expected), replay


def _routes() -> list[Any]:
    vendor = vendor_dir()
    return [
        *web.ROUTES,
        *web_login.ROUTES,
        *web_admin.ROUTES,
        Mount(
            "/static/vendor/bootstrap-italia",
            StaticFiles(directory=vendor / "bootstrap-italia" / "dist", check_dir=False),
        ),
        Mount("/static/vendor/htmx", StaticFiles(directory=vendor / "htmx.org" / "dist", check_dir=False)),
        Mount("/static", StaticFiles(directory=ROOT / "static")),
    ]


PUBLIC_IDENTITY = Identity(
    user_id=PUBLIC_ROLE,
    display_name="Collegamento pubblico",
    tenant_id=uuid.UUID(int=0),
    tenant_slug="",
    tenant_name="",
    roles=(PUBLIC_ROLE,),
    via="public_link",
)


def _plain_http_loopback(url: str) -> bool:
    """Cookies may lack `Secure` only on a developer's own machine over plain http."""
    parsed = urlsplit(url)
    return parsed.scheme == "http" and parsed.hostname in {"127.0.0.1", "localhost", "::1"}


def _origin(url: str) -> str:
    parsed = urlsplit(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def _causes(exc: BaseException | None) -> list[BaseException]:
    chain = []
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _api_key(headers: Headers) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None
