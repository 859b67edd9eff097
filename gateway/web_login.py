"""Login and logout pages: OpenID Connect providers, the development login, and logout (here and everywhere).

A login that succeeds always starts a new server-side session with a new id, whatever cookie the
browser held before (session fixation). Every outcome is written to the audit log.
"""

from __future__ import annotations

import functools
import secrets
import uuid

import httpx
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway import domain, handlers
from gateway.domain import LoginRefused
from gateway.domain_oidc import LoginRejected, LoginResult
from gateway.oidc import OidcClient, public_jwks
from gateway.repository import User
from gateway.repository_sessions import PendingLogin, Session
from gateway.seed import DEMO_USERS
from gateway.web import (
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    PageContext,
    client_ip,
    current_session,
    page_context,
    too_many,
)
from services.kernel.web import render_error


async def login_page(request: Request) -> Response:
    context = page_context(request)
    dev_users: list[User] = []
    if context.settings.dev_login:
        dev_users = await context.db.run(None, handlers.dev_users)
    token = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(32)
    providers = [(c.config.name, c.config.label) for c in context.oidc_clients.values()]
    response = context.templates.TemplateResponse(
        request,
        "login.html",
        {
            "identity": None,
            "dev_users": dev_users,
            "dev_about": {u.login: u.about for u in DEMO_USERS},
            "login_csrf": token,
            "providers": providers,
        },
    )
    _set_prelogin(context, response, token)
    return response


async def start(request: Request) -> Response:
    context = page_context(request)
    client = context.oidc_clients.get(request.path_params["provider"])
    if client is None:
        return render_error(request, 404, "Pagina non trovata.")
    # Every start writes a pending login: bounded per client address like the attempts themselves.
    verdict = await context.rate_limiter.login_attempt(client_ip(request))
    if not verdict.allowed:
        return too_many(request, verdict)
    browser = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(32)
    nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    work = functools.partial(
        handlers.start_login,
        provider=client.config.name,
        browser=browser,
        nonce=nonce,
        code_verifier=verifier,
    )
    state = await context.db.run(None, work)
    try:
        url = await client.authorization_url(state, nonce, verifier)
    except Exception:
        return render_error(request, 502, "Il servizio di accesso non risponde: riprova tra poco.")
    response = RedirectResponse(url, status_code=303)
    _set_prelogin(context, response, browser)
    return response


async def callback(request: Request) -> Response:
    context = page_context(request)
    name = request.path_params["provider"]
    client = context.oidc_clients.get(name)
    if client is None:
        return render_error(request, 404, "Pagina non trovata.")
    verdict = await context.rate_limiter.login_attempt(client_ip(request))
    if not verdict.allowed:
        return too_many(request, verdict)
    params = request.query_params
    state, browser = params.get("state", ""), request.cookies.get(PRELOGIN_COOKIE, "")
    # Its own transaction, before the provider is asked: the state is spent even if the login fails.
    work = functools.partial(handlers.take_login, state=state, browser=browser, provider=name)
    pending = await context.db.run(None, work)
    try:
        result = await _provider_result(client, params, pending)
    except LoginRejected as exc:
        return await _failed(request, name, exc.reason, 401, exc.message)
    return await _sign_in(request, client, result)


async def _provider_result(
    client: OidcClient, query: QueryParams, pending: PendingLogin | None
) -> LoginResult:
    """What the provider asserts in this callback; LoginRejected for anything out of order."""
    if pending is None:
        raise LoginRejected("state_mismatch", "Richiesta di accesso non valida o scaduta: riprova.")
    if query.get("error"):
        raise LoginRejected(f"provider_error:{query['error'][:60]}", "Accesso annullato o rifiutato.")
    if "iss" in query and query["iss"] != client.config.issuer:
        raise LoginRejected("issuer_mismatch")
    try:
        return await client.complete(query.get("code", ""), pending.code_verifier, pending.nonce)
    except httpx.HTTPError as exc:
        raise LoginRejected(
            f"provider_unreachable:{type(exc).__name__}",
            "Il servizio di identità non risponde: riprova tra qualche minuto.",
        ) from exc


async def _sign_in(request: Request, client: OidcClient, result: LoginResult) -> Response:
    context = page_context(request)
    config = client.config
    fiscal_number, email = result.vouched(config.trust_fiscal_number, config.trust_email)
    work = functools.partial(
        handlers.complete_login,
        result=result,
        provider=config.name,
        browser=_browser(request),
        fiscal_number=fiscal_number,
        email=email,
    )
    try:
        new = await context.db.run(None, work)
    except LoginRefused as refused:
        told = domain.not_enabled(fiscal_number, email)
        return await _failed(request, config.name, refused.reason, 403, told, refused.user_id)
    return _signed_in(context, new.cookie)


async def _failed(
    request: Request, provider: str, reason: str, status: int, message: str, user_id: uuid.UUID | None = None
) -> Response:
    context = page_context(request)
    work = functools.partial(
        handlers.record_login_failure,
        provider=provider,
        reason=reason,
        user_id=user_id,
        ip=client_ip(request),
    )
    # Its own transaction: the refusal stays audited while whatever the login wrote is rolled back.
    await context.db.run(None, work)
    response = render_error(request, status, message)
    response.delete_cookie(PRELOGIN_COOKIE)
    return response


async def dev_login(request: Request) -> Response:
    context = page_context(request)
    if not context.settings.dev_login:
        return render_error(request, 404, "Pagina non trovata.")
    form = await request.form()
    expected = request.cookies.get(PRELOGIN_COOKIE, "")
    if not domain.same_secret(str(form.get("csrf_token", "")), expected):
        return render_error(request, 403, "Richiesta non valida: ricarica la pagina di accesso.")
    verdict = await context.rate_limiter.login_attempt(client_ip(request), str(form.get("user_id", "")))
    if not verdict.allowed:
        return too_many(request, verdict)
    try:
        user_id = uuid.UUID(str(form.get("user_id", "")))
    except ValueError:
        return render_error(request, 400, "Utente non valido.", "user_id")
    work = functools.partial(handlers.dev_login, user_id=user_id, browser=_browser(request))
    new = await context.db.run(None, work)
    if new is None:
        return render_error(request, 400, "Utente non valido.", "user_id")
    return _signed_in(context, new.cookie)


async def logout(request: Request) -> Response:
    return await _logout(request, everywhere=False)


async def logout_everywhere(request: Request) -> Response:
    return await _logout(request, everywhere=True)


async def _logout(request: Request, everywhere: bool) -> Response:
    context = page_context(request)
    session = await current_session(context, request)
    if session is None:
        return _to_login()
    form = await request.form()
    sent = request.headers.get("x-csrf-token") or str(form.get("csrf_token", ""))
    if not domain.same_secret(sent, session.csrf):
        return render_error(request, 403, "Richiesta non valida: ricarica la pagina e riprova.")
    work = functools.partial(handlers.log_out, session=session, everywhere=everywhere, ip=client_ip(request))
    await context.db.run(None, work)
    return await _provider_logout(context, session)


async def _provider_logout(context: PageContext, session: Session) -> Response:
    client = context.oidc_clients.get(session.provider or "")
    back = context.settings.public_base_url.rstrip("/") + "/login"
    url = await client.end_session_url(session.id_token, back) if client is not None else None
    response = RedirectResponse(url or "/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=context.secure_cookies)
    return response


async def jwks(request: Request) -> Response:
    return JSONResponse(public_jwks([c.config for c in page_context(request).oidc_clients.values()]))


# ------------------------------------------------------------------------------------------ helpers


def _browser(request: Request) -> handlers.Browser:
    return handlers.Browser(
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        replaces=request.cookies.get(SESSION_COOKIE),
    )


def _signed_in(context: PageContext, cookie: str) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=context.secure_cookies,
        max_age=int(context.session_policy.max_age.total_seconds()),
    )
    response.delete_cookie(PRELOGIN_COOKIE)
    return response


def _to_login() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _set_prelogin(context: PageContext, response: Response, token: str) -> None:
    response.set_cookie(
        PRELOGIN_COOKIE, token, httponly=True, samesite="lax", secure=context.secure_cookies, max_age=1800
    )


ROUTES = [
    Route("/login", login_page),
    Route("/login/dev", dev_login, methods=["POST"]),
    Route("/login/oidc/{provider}", start),
    Route("/login/oidc/{provider}/callback", callback),
    Route("/logout", logout, methods=["POST"]),
    Route("/logout/all", logout_everywhere, methods=["POST"]),
    Route("/.well-known/jwks.json", jwks),
]
