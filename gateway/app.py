"""The gateway: sessions, the development login, API keys, and forwarding to the owning service.

Each forwarded request carries a short-lived signed identity (user, tenant, roles) that the service
verifies; whatever identity header the client sent is dropped.
"""

from __future__ import annotations

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
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from gateway import audit, domain, openapi, repository
from gateway.admin import AdminPages
from gateway.login import PRELOGIN_COOKIE, SESSION_COOKIE, LoginPages
from gateway.oidc import OidcClient, ProviderConfig, providers_from_env
from gateway.proxy import Upstream
from gateway.ratelimit import RateLimiter, RateLimits, client_ip, too_many
from gateway.sessions import Session, SessionPolicy, SessionStore
from services.kernel.bus import Bus
from services.kernel.db import Database
from services.kernel.identity import Identity, IdentitySigner
from services.kernel.logs import correlation_var
from services.kernel.settings import Settings
from services.kernel.storage import LocalStorage, ObjectNotFound, ObjectStorage
from services.kernel.web import (
    CorrelationMiddleware,
    exception_handlers,
    readiness,
    render_error,
    templates_for,
)

log = logging.getLogger(__name__)
MAX_FORM_BYTES = 1024 * 1024
ROOT = Path(__file__).resolve().parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


__all__ = ["PRELOGIN_COOKIE", "SESSION_COOKIE", "Gateway", "Session"]


def vendor_dir() -> Path:
    """Front-end packages installed by npm (Bootstrap Italia, HTMX); never committed."""
    return Path(os.environ.get("RISCOSSA_VENDOR_DIR", ROOT.parent / "node_modules"))


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
        self.storage = storage
        self.bus = bus
        self.upstreams = upstreams
        self.rate_limiter = RateLimiter(db, RateLimits.from_env())
        self.sessions_store = SessionStore(db, session_policy)
        self.templates = templates_for(ROOT)
        self.secure_cookies = not _plain_http_loopback(settings.public_base_url)
        base = settings.public_base_url.rstrip("/")
        self.oidc_clients = {
            c.name: OidcClient(c, f"{base}/login/oidc/{c.name}/callback", http_transport)
            for c in (providers_from_env() if oidc_providers is None else oidc_providers)
        }
        # The logout form is answered with a redirect to the provider's end_session endpoint, which
        # the browser checks against form-action.
        origins = sorted({_origin(c.config.issuer) for c in self.oidc_clients.values()})
        self.csp = CSP.replace("form-action 'self'", " ".join(["form-action 'self'", *origins]))
        self.router = Starlette(routes=self._routes(), exception_handlers=exception_handlers())

    def _routes(self) -> list[Any]:
        vendor = vendor_dir()
        routes: list[Any] = [
            Route("/", self.home),
            *LoginPages(self).routes(),
            Route("/healthz", self.healthz),
            Route("/readyz", self.readyz),
            Route("/files", self.presigned_file),
            Route("/api/v1/openapi.json", self.openapi_document),
            *AdminPages(self).routes(),
            Mount(
                "/static/vendor/bootstrap-italia",
                StaticFiles(directory=vendor / "bootstrap-italia" / "dist", check_dir=False),
            ),
            Mount(
                "/static/vendor/htmx", StaticFiles(directory=vendor / "htmx.org" / "dist", check_dir=False)
            ),
            Mount("/static", StaticFiles(directory=ROOT / "static")),
        ]
        return routes

    # ------------------------------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.router(scope, receive, send)
            return
        send = self._secure_headers(send)
        app = CorrelationMiddleware(self._dispatch)
        await app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        tenant_path = domain.split_tenant_path(path)
        api_service = domain.split_api_path(path) if tenant_path is None else None
        if tenant_path is None and api_service is None:
            await self.router(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if tenant_path is not None:
                await self._forward_tenant(scope, receive, tracking_send, *tenant_path)
            else:
                await self._forward_api(scope, receive, tracking_send, str(api_service))
        except Exception as exc:
            # A database or upstream failure gets the same Italian error page with its correlation id.
            log.exception("forwarding failed")
            if started:
                raise
            status = 502 if any(isinstance(e, httpx.HTTPError) for e in _causes(exc)) else 500
            message = "Servizio momentaneamente non raggiungibile" if status == 502 else "Errore interno"
            response = render_error(
                Request(scope), status, f"{message}. Codice per l'assistenza: {correlation_var.get() or '-'}."
            )
            await response(scope, receive, send)

    def _secure_headers(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
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
        session = await self.read_session(request)
        if session is None:
            response: Response = RedirectResponse("/login", status_code=303)
            if request.method != "GET" or request.headers.get("hx-request"):
                response = render_error(request, 401, "Sessione scaduta: accedi di nuovo.")
            await response(scope, receive, send)
            return
        memberships = await self._memberships(session.user_id)
        mine = [m for m in memberships if m.slug == slug]
        if not mine or (service is not None and service not in self.upstreams):
            if not mine:
                await self._record_denied(request, session, slug)
            await render_error(request, 404, "Pagina non trovata.")(scope, receive, send)
            return
        if session.last_tenant_id != mine[0].tenant_id:
            await self._note_tenant(request, session, mine[0].tenant_id)
        if service is None:
            await RedirectResponse(f"/t/{slug}/reporting/", status_code=303)(scope, receive, send)
            return
        if request.method in domain.UNSAFE_METHODS:
            ok, receive = await self._check_csrf(scope, receive, session.csrf)
            if not ok:
                await render_error(
                    request,
                    403,
                    "Richiesta non valida (token CSRF mancante o errato): ricarica la pagina e riprova.",
                )(scope, receive, send)
                return
        tenants = tuple(dict.fromkeys((m.slug, m.name) for m in memberships))
        identity = Identity(
            user_id=str(session.user_id),
            display_name=session.display_name,
            tenant_id=mine[0].tenant_id,
            tenant_slug=slug,
            tenant_name=mine[0].name,
            roles=tuple(sorted({m.role for m in mine})),
            via="session",
            csrf_token=session.csrf,
            tenants=tenants,
        )
        await self.upstreams[service].forward(scope, receive, send, self.signer.sign(identity))

    async def _forward_api(self, scope: Scope, receive: Receive, send: Send, service: str) -> None:
        request = Request(scope, receive)
        key = _api_key(request.headers)
        found = None
        if key:
            async with self.db.unit_of_work(None) as uow:
                found = await repository.find_api_key(uow, domain.hash_api_key(key))
                tenant = await repository.tenant_by_id(uow, found[1]) if found else None
        if not found or not tenant or service not in self.upstreams:
            await JSONResponse({"error": "Chiave API mancante o non valida."}, status_code=401)(
                scope, receive, send
            )
            return
        key_id, tenant_id = found
        verdict = await self.rate_limiter.api_request(str(key_id))
        if not verdict.allowed:
            await too_many(request, verdict)(scope, receive, send)
            return
        identity = Identity(
            user_id=f"api-key:{key_id}",
            display_name="Chiave API",
            tenant_id=tenant_id,
            tenant_slug=tenant[0],
            tenant_name=tenant[1],
            roles=(domain.API_ROLE,),
            via="api_key",
        )
        await self.upstreams[service].forward(scope, receive, send, self.signer.sign(identity))

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

    async def _record_denied(self, request: Request, session: Session, slug: str) -> None:
        """A signed-in user opened a Comune not assigned to them: audited under that Comune."""
        async with self.db.unit_of_work(None) as uow:
            tenant = await repository.tenant_by_slug(uow, slug)
            await audit.record(
                uow,
                "access_denied",
                actor_label=session.display_name,
                actor_user_id=session.user_id,
                tenant_id=tenant.id if tenant else None,
                ip=client_ip(request),
                detail={"path": request.url.path},
            )
            await uow.commit()

    async def _note_tenant(self, request: Request, session: Session, tenant_id: uuid.UUID) -> None:
        """Remember the Comune the session works on; moving from one to another is audited under the new one."""
        await self.sessions_store.set_last_tenant(session, tenant_id)
        if session.last_tenant_id is None:
            return
        async with self.db.unit_of_work(None) as uow:
            await audit.record(
                uow,
                "tenant_switch",
                actor_label=session.display_name,
                actor_user_id=session.user_id,
                tenant_id=tenant_id,
                ip=client_ip(request),
                detail={"from": str(session.last_tenant_id)},
            )
            await uow.commit()

    async def _memberships(self, user_id: uuid.UUID) -> list[repository.Membership]:
        async with self.db.unit_of_work(None) as uow:
            return await repository.user_memberships(uow, user_id)

    # -------------------------------------------------------------------------------------- sessions

    async def read_session(self, request: Request) -> Session | None:
        return await self.sessions_store.load(request.cookies.get(SESSION_COOKIE))

    # ---------------------------------------------------------------------------------------- pages

    async def home(self, request: Request) -> Response:
        session = await self.read_session(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        memberships = await self._memberships(session.user_id)
        tenants: dict[str, tuple[str, list[str]]] = {}
        for m in memberships:
            tenants.setdefault(m.slug, (m.name, []))[1].append(m.role)
        if len(tenants) == 1:
            return RedirectResponse(f"/t/{next(iter(tenants))}/", status_code=303)
        rows = [(slug, name, ", ".join(roles)) for slug, (name, roles) in tenants.items()]
        status = 200 if rows else 403
        return self.templates.TemplateResponse(
            request,
            "home.html",
            {"identity": None, "user": session, "tenants": rows, "csrf": session.csrf},
            status_code=status,
        )

    async def openapi_document(self, request: Request) -> Response:
        return JSONResponse(openapi.document(self.settings.public_base_url))

    async def presigned_file(self, request: Request) -> Response:
        if not isinstance(self.storage, LocalStorage):
            return render_error(request, 404, "Pagina non trovata.")
        q = request.query_params
        try:
            tenant_id, key = self.storage.verify(
                q.get("key", ""), q.get("expires", ""), q.get("signature", "")
            )
            await self.storage.head(tenant_id, key)
        except PermissionError:
            return render_error(request, 403, "Collegamento non valido o scaduto.")
        except ObjectNotFound:
            return render_error(request, 404, "File non trovato.")
        name = key.rsplit("/", 1)[-1]
        return StreamingResponse(
            self.storage.stream(tenant_id, key),
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        return await readiness(
            {"database": self.db.ping, "storage": self.storage.ping, "broker": self.bus.ping}
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
