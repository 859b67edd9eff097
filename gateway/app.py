"""The gateway: sessions, the development login, API keys, and forwarding to the owning service.

Each forwarded request carries a short-lived signed identity (user, tenant, roles) that the service
verifies; whatever identity header the client sent is dropped.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from gateway import domain, openapi, repository
from gateway.proxy import Upstream
from services.kernel.bus import Bus
from services.kernel.db import Database
from services.kernel.errors import render_error
from services.kernel.identity import Identity, IdentitySigner
from services.kernel.settings import Settings
from services.kernel.storage import LocalStorage, ObjectNotFound, ObjectStorage
from services.kernel.web import CorrelationMiddleware, exception_handlers, readiness, templates_for

SESSION_COOKIE = "riscossa_session"
PRELOGIN_COOKIE = "riscossa_prelogin"
MAX_FORM_BYTES = 1024 * 1024
ROOT = Path(__file__).resolve().parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


@dataclass(frozen=True)
class Session:
    user_id: uuid.UUID
    display_name: str
    csrf: str


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
    ) -> None:
        settings.check()
        self.settings = settings
        self.db = db
        self.signer = signer
        self.storage = storage
        self.bus = bus
        self.upstreams = upstreams
        self.sessions = URLSafeTimedSerializer(settings.secret_key, salt="riscossa-session")
        self.templates = templates_for(ROOT)
        self.secure_cookies = settings.public_base_url.startswith("https://")
        self.router = Starlette(routes=self._routes(), exception_handlers=exception_handlers())

    def _routes(self) -> list[Any]:
        vendor = vendor_dir()
        routes: list[Any] = [
            Route("/", self.home),
            Route("/login", self.login_page),
            Route("/login/dev", self.dev_login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/healthz", self.healthz),
            Route("/readyz", self.readyz),
            Route("/files", self.presigned_file),
            Route("/api/v1/openapi.json", self.openapi_document),
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
        if tenant_path is not None:
            await self._forward_tenant(scope, receive, send, *tenant_path)
        elif (service := domain.split_api_path(path)) is not None:
            await self._forward_api(scope, receive, send, service)
        else:
            await self.router(scope, receive, send)

    def _secure_headers(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if self.secure_cookies:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped

    # ------------------------------------------------------------------------------------ forwarding

    async def _forward_tenant(
        self, scope: Scope, receive: Receive, send: Send, slug: str, service: str | None
    ) -> None:
        request = Request(scope, receive)
        session = self.read_session(request)
        if session is None:
            response: Response = RedirectResponse("/login", status_code=303)
            if request.method != "GET" or request.headers.get("hx-request"):
                response = render_error(request, 401, "Sessione scaduta: accedi di nuovo.")
            await response(scope, receive, send)
            return
        memberships = await self._memberships(session.user_id)
        mine = [m for m in memberships if m.slug == slug]
        if not mine or (service is not None and service not in self.upstreams):
            await render_error(request, 404, "Pagina non trovata.")(scope, receive, send)
            return
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
            return secrets.compare_digest(sent, expected), receive
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

        return secrets.compare_digest(field, expected), replay

    async def _memberships(self, user_id: uuid.UUID) -> list[repository.Membership]:
        async with self.db.unit_of_work(None) as uow:
            return await repository.user_memberships(uow, user_id)

    # -------------------------------------------------------------------------------------- sessions

    def read_session(self, request: Request) -> Session | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self.sessions.loads(raw, max_age=12 * 3600)
            return Session(uuid.UUID(data["uid"]), str(data["name"]), str(data["csrf"]))
        except (BadSignature, KeyError, ValueError, TypeError):
            return None

    def _set_session(self, response: Response, user: repository.User) -> None:
        token = self.sessions.dumps(
            {"uid": str(user.id), "name": user.display_name, "csrf": secrets.token_urlsafe(24)}
        )
        response.set_cookie(
            SESSION_COOKIE,
            str(token),
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
            max_age=12 * 3600,
        )

    # ---------------------------------------------------------------------------------------- pages

    async def home(self, request: Request) -> Response:
        session = self.read_session(request)
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

    async def login_page(self, request: Request) -> Response:
        users: list[repository.User] = []
        if self.settings.dev_login:
            async with self.db.unit_of_work(None) as uow:
                users = await repository.list_users(uow)
        token = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = self.templates.TemplateResponse(
            request, "login.html", {"identity": None, "dev_users": users, "login_csrf": token}
        )
        response.set_cookie(PRELOGIN_COOKIE, token, httponly=True, samesite="lax", secure=self.secure_cookies)
        return response

    async def dev_login(self, request: Request) -> Response:
        if not self.settings.dev_login:
            return render_error(request, 404, "Pagina non trovata.")
        form = await request.form()
        expected = request.cookies.get(PRELOGIN_COOKIE, "")
        if not expected or not secrets.compare_digest(str(form.get("csrf_token", "")), expected):
            return render_error(request, 403, "Richiesta non valida: ricarica la pagina di accesso.")
        try:
            user_id = uuid.UUID(str(form.get("user_id", "")))
        except ValueError:
            return render_error(request, 400, "Utente non valido.", "user_id")
        async with self.db.unit_of_work(None) as uow:
            user = await repository.get_user(uow, user_id)
        if user is None:
            return render_error(request, 400, "Utente non valido.", "user_id")
        response = RedirectResponse("/", status_code=303)
        self._set_session(response, user)
        response.delete_cookie(PRELOGIN_COOKIE)
        return response

    async def logout(self, request: Request) -> Response:
        session = self.read_session(request)
        form = await request.form()
        sent = request.headers.get("x-csrf-token") or str(form.get("csrf_token", ""))
        if session is not None and not secrets.compare_digest(sent, session.csrf):
            return render_error(request, 403, "Richiesta non valida: ricarica la pagina e riprova.")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

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


def _api_key(headers: Headers) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None
