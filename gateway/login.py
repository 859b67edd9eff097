"""Login and logout pages: OpenID Connect providers, the development login, and logout (here and everywhere).

A login that succeeds always starts a new server-side session with a new id, whatever cookie the
browser held before (session fixation). Every outcome is written to the audit log.
"""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway import audit, domain, repository
from gateway.admin import accept_invitations_on_login
from gateway.models import metadata, users
from gateway.oidc import LoginRejected, LoginResult, OidcClient, public_jwks
from gateway.ratelimit import client_ip, too_many
from gateway.sessions import Session
from services.kernel.db import UnitOfWork
from services.kernel.web import render_error

if TYPE_CHECKING:
    from gateway.app import Gateway

SESSION_COOKIE = "riscossa_session"
PRELOGIN_COOKIE = "riscossa_prelogin"
UNAUTHORIZED = (
    "Accesso non autorizzato: il tuo utente non è abilitato su alcun Comune. "
    "Contatta l'amministratore del tuo Comune."
)

user_identities = sa.Table(
    "user_identities",
    metadata,
    sa.Column("issuer", sa.Text, primary_key=True),
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

UNSCOPED = {
    "match_user": "users are a global registry; a login happens before any Comune is known",
    "create_user": "users are a global registry",
    "link_identity": "users are a global registry; identities belong to a user, not to a Comune",
}


# ------------------------------------------------------------------------------------------ queries


async def match_user(
    uow: UnitOfWork, result: LoginResult, fiscal_number: str | None
) -> repository.User | None:
    """The known person: by this provider's issuer and subject, else by a trusted fiscal number."""
    row = (
        await uow.execute(
            sa.select(users)
            .join(user_identities, user_identities.c.user_id == users.c.id)
            .where(user_identities.c.issuer == result.issuer, user_identities.c.subject == result.subject)
        )
    ).first()
    if row is not None:
        return repository.User(row.id, row.login, row.display_name)
    return await repository.find_user(uow, fiscal_number, None) if fiscal_number else None


async def create_user(
    uow: UnitOfWork, result: LoginResult, email: str | None, fiscal_number: str | None
) -> repository.User:
    user_id = uuid.uuid4()
    login = f"oidc-{user_id.hex}"
    await uow.execute(
        sa.insert(users).values(
            id=user_id,
            login=login,
            display_name=result.display_name,
            email=email,
            fiscal_number=fiscal_number,
        )
    )
    return repository.User(user_id, login, result.display_name)


async def link_identity(uow: UnitOfWork, user_id: uuid.UUID, issuer: str, subject: str) -> None:
    stmt = pg_insert(user_identities).values(issuer=issuer, subject=subject, user_id=user_id)
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[user_identities.c.issuer, user_identities.c.subject],
            set_={"user_id": user_id, "last_login_at": sa.func.now()},
        )
    )


# -------------------------------------------------------------------------------------------- pages


class LoginPages:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login_page),
            Route("/login/dev", self.dev_login, methods=["POST"]),
            Route("/login/oidc/{provider}", self.start),
            Route("/login/oidc/{provider}/callback", self.callback),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/logout/all", self.logout_everywhere, methods=["POST"]),
            Route("/.well-known/jwks.json", self.jwks),
        ]

    @property
    def clients(self) -> dict[str, OidcClient]:
        return self.gw.oidc_clients

    async def login_page(self, request: Request) -> Response:
        dev_users: list[repository.User] = []
        if self.gw.settings.dev_login:
            async with self.gw.db.unit_of_work(None) as uow:
                dev_users = await repository.list_users(uow)
        token = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(32)
        providers = [(c.config.name, c.config.label) for c in self.clients.values()]
        response = self.gw.templates.TemplateResponse(
            request,
            "login.html",
            {"identity": None, "dev_users": dev_users, "login_csrf": token, "providers": providers},
        )
        self._set_prelogin(response, token)
        return response

    async def start(self, request: Request) -> Response:
        client = self.clients.get(request.path_params["provider"])
        if client is None:
            return render_error(request, 404, "Pagina non trovata.")
        # Every start writes a pending login: bounded per client address like the attempts themselves.
        verdict = await self.gw.rate_limiter.login_attempt(client_ip(request))
        if not verdict.allowed:
            return too_many(request, verdict)
        browser = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(32)
        nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        state = await self.gw.sessions_store.start_login(client.config.name, browser, nonce, verifier)
        try:
            url = await client.authorization_url(state, nonce, verifier)
        except Exception:
            return render_error(request, 502, "Il servizio di accesso non risponde: riprova tra poco.")
        response = RedirectResponse(url, status_code=303)
        self._set_prelogin(response, browser)
        return response

    async def callback(self, request: Request) -> Response:
        name = request.path_params["provider"]
        client = self.clients.get(name)
        if client is None:
            return render_error(request, 404, "Pagina non trovata.")
        verdict = await self.gw.rate_limiter.login_attempt(client_ip(request))
        if not verdict.allowed:
            return too_many(request, verdict)
        params = request.query_params
        pending = await self.gw.sessions_store.take_login(
            params.get("state", ""), request.cookies.get(PRELOGIN_COOKIE, ""), name
        )
        try:
            if pending is None:
                raise LoginRejected("state_mismatch", "Richiesta di accesso non valida o scaduta: riprova.")
            if params.get("error"):
                raise LoginRejected(
                    f"provider_error:{params['error'][:60]}", "Accesso annullato o rifiutato."
                )
            if "iss" in params and params["iss"] != client.config.issuer:
                raise LoginRejected("issuer_mismatch")
            try:
                result = await client.complete(params.get("code", ""), pending.code_verifier, pending.nonce)
            except httpx.HTTPError as exc:
                raise LoginRejected(
                    f"provider_unreachable:{type(exc).__name__}",
                    "Il servizio di identità non risponde: riprova tra qualche minuto.",
                ) from exc
        except LoginRejected as exc:
            return await self._failed(request, name, exc.reason, 401, exc.message)
        return await self._sign_in(request, client, result)

    async def _sign_in(self, request: Request, client: OidcClient, result: LoginResult) -> Response:
        email = result.verified_email if client.config.trust_email else None
        cf = result.fiscal_number if client.config.trust_fiscal_number else None
        async with self.gw.db.unit_of_work(None) as uow:
            known = await match_user(uow, result, cf)
            user = known or await create_user(uow, result, email, cf)
            await accept_invitations_on_login(
                uow, user.id, cf, email, actor_label=result.display_name, ip=client_ip(request)
            )
            memberships = await repository.user_memberships(uow, user.id)
            if not memberships:
                # Nothing is kept for a person the platform does not know (the transaction rolls back).
                reason = "no_membership" if known else "unknown_user"
                who = known.id if known else None
                return await self._failed(request, client.config.name, reason, 403, UNAUTHORIZED, who)
            await link_identity(uow, user.id, result.issuer, result.subject)
            await uow.commit()
        new = await self.gw.sessions_store.create(
            user.id,
            provider=client.config.name,
            id_token=result.id_token,
            acr=result.acr,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            replaces=request.cookies.get(SESSION_COOKIE),
        )
        await self._audit(
            request, "login", user.display_name, user.id, {"provider": client.config.name, "acr": result.acr}
        )
        return self._signed_in(new.cookie)

    async def _failed(
        self,
        request: Request,
        provider: str,
        reason: str,
        status: int,
        message: str,
        user_id: uuid.UUID | None = None,
    ) -> Response:
        await self._audit(
            request, "login_failed", provider, user_id, {"provider": provider, "reason": reason}
        )
        response = render_error(request, status, message)
        response.delete_cookie(PRELOGIN_COOKIE)
        return response

    async def dev_login(self, request: Request) -> Response:
        if not self.gw.settings.dev_login:
            return render_error(request, 404, "Pagina non trovata.")
        form = await request.form()
        expected = request.cookies.get(PRELOGIN_COOKIE, "")
        if not domain.same_secret(str(form.get("csrf_token", "")), expected):
            return render_error(request, 403, "Richiesta non valida: ricarica la pagina di accesso.")
        verdict = await self.gw.rate_limiter.login_attempt(client_ip(request), str(form.get("user_id", "")))
        if not verdict.allowed:
            return too_many(request, verdict)
        try:
            user_id = uuid.UUID(str(form.get("user_id", "")))
        except ValueError:
            return render_error(request, 400, "Utente non valido.", "user_id")
        async with self.gw.db.unit_of_work(None) as uow:
            user = await repository.get_user(uow, user_id)
        if user is None:
            return render_error(request, 400, "Utente non valido.", "user_id")
        new = await self.gw.sessions_store.create(
            user.id,
            provider="dev",
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            replaces=request.cookies.get(SESSION_COOKIE),
        )
        await self._audit(request, "login", user.display_name, user.id, {"provider": "dev"})
        return self._signed_in(new.cookie)

    async def logout(self, request: Request) -> Response:
        return await self._logout(request, everywhere=False)

    async def logout_everywhere(self, request: Request) -> Response:
        return await self._logout(request, everywhere=True)

    async def _logout(self, request: Request, everywhere: bool) -> Response:
        session = await self.gw.read_session(request)
        if session is None:
            return self._to_login()
        form = await request.form()
        sent = request.headers.get("x-csrf-token") or str(form.get("csrf_token", ""))
        if not domain.same_secret(sent, session.csrf):
            return render_error(request, 403, "Richiesta non valida: ricarica la pagina e riprova.")
        if everywhere:
            count = await self.gw.sessions_store.revoke_all(session.user_id)
            detail: dict[str, Any] = {"sessions": count}
        else:
            await self.gw.sessions_store.revoke(request.cookies.get(SESSION_COOKIE))
            detail = {}
        action = "logout_everywhere" if everywhere else "logout"
        await self._audit(request, action, session.display_name, session.user_id, detail)
        return await self._provider_logout(session)

    async def _provider_logout(self, session: Session) -> Response:
        client = self.clients.get(session.provider or "")
        back = self.gw.settings.public_base_url.rstrip("/") + "/login"
        url = await client.end_session_url(session.id_token, back) if client is not None else None
        response = RedirectResponse(url or "/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=self.gw.secure_cookies)
        return response

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(public_jwks([c.config for c in self.clients.values()]))

    # ------------------------------------------------------------------------------------- helpers

    def _signed_in(self, cookie: str) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            httponly=True,
            samesite="lax",
            secure=self.gw.secure_cookies,
            max_age=int(self.gw.sessions_store.policy.max_age.total_seconds()),
        )
        response.delete_cookie(PRELOGIN_COOKIE)
        return response

    def _to_login(self) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    def _set_prelogin(self, response: Response, token: str) -> None:
        response.set_cookie(
            PRELOGIN_COOKIE, token, httponly=True, samesite="lax", secure=self.gw.secure_cookies, max_age=1800
        )

    async def _audit(
        self, request: Request, action: str, label: str, user_id: uuid.UUID | None, detail: dict[str, Any]
    ) -> None:
        async with self.gw.db.unit_of_work(None) as uow:
            await audit.record(
                uow, action, actor_label=label, actor_user_id=user_id, ip=client_ip(request), detail=detail
            )
            await uow.commit()
