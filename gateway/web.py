"""What the gateway's own pages share: their context, the session cookies, error answers; and the
small pages (home, health, the OpenAPI document, presigned local files).

`app.py` builds the `PageContext` and puts it in the router's state; pages read it with
`page_context(request)` and never see the `Gateway` object.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from jinja2_fragments.starlette import Jinja2Blocks
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway import domain, handlers, openapi
from gateway.domain import SessionPolicy, Verdict
from gateway.oidc import OidcClient
from gateway.ratelimit import RateLimiter
from gateway.repository import Membership
from gateway.repository_sessions import Session
from services.kernel.bus import Bus
from services.kernel.db import Database
from services.kernel.identity import Identity
from services.kernel.mail import Mailer
from services.kernel.roles import CALLING_ROLES, ROLE_LABELS
from services.kernel.settings import Settings
from services.kernel.storage import LocalStorage, ObjectNotFound, ObjectStorage
from services.kernel.web import readiness, render_error

# Who is led from the home to a Comune's operators and their work lists.
FIRM_ADMINS = frozenset({"supervisor", "platform_admin"})
SESSION_COOKIE = "riscossa_session"
PRELOGIN_COOKIE = "riscossa_prelogin"


@dataclass(frozen=True)
class PageContext:
    """What the gateway's pages are given by `app.py`."""

    settings: Settings
    db: Database
    templates: Jinja2Blocks
    session_policy: SessionPolicy
    rate_limiter: RateLimiter
    oidc_clients: dict[str, OidcClient]
    storage: ObjectStorage
    bus: Bus
    secure_cookies: bool
    mailer: Mailer


def page_context(request: Request) -> PageContext:
    context: PageContext = request.app.state.context
    return context


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many(request: Request, verdict: Verdict) -> Response:
    """429 with Retry-After, as an HTML page, HTMX fragment or JSON like every other error."""
    response = render_error(request, 429, f"Troppi tentativi: riprova tra {verdict.retry_after} secondi.")
    response.headers["retry-after"] = str(verdict.retry_after)
    return response


async def current_session(context: PageContext, request: Request) -> Session | None:
    """The request's live session, in a unit of work of its own."""
    work = functools.partial(
        handlers.load_session, cookie=request.cookies.get(SESSION_COOKIE), policy=context.session_policy
    )
    return await context.db.run(None, work)


async def signed_in(context: PageContext, request: Request) -> handlers.SignedIn | None:
    """The request's live session and its person's memberships, in a unit of work of their own."""
    work = functools.partial(
        handlers.signed_in, cookie=request.cookies.get(SESSION_COOKIE), policy=context.session_policy
    )
    return await context.db.run(None, work)


# -------------------------------------------------------------------------------------------- pages


async def home(request: Request) -> Response:
    context = page_context(request)
    signed = await signed_in(context, request)
    if signed is None:
        return RedirectResponse("/login", status_code=303)
    tenants: dict[str, tuple[str, list[str]]] = {}
    for m in signed.memberships:
        tenants.setdefault(m.slug, (m.name, []))[1].append(m.role)
    # The firm's people who phone taxpayers land here: each Comune's queue at a glance; its
    # supervisors and platform admins, the way to the Comune's operators too.
    phones = {slug for slug, (_, roles) in tenants.items() if set(roles) & set(CALLING_ROLES)}
    platform_admin = any(m.role == "platform_admin" for m in signed.memberships)
    # A platform administrator stays here: the platform's own pages start from this one.
    if len(tenants) == 1 and not phones and not platform_admin:
        return RedirectResponse(f"/t/{next(iter(tenants))}/", status_code=303)
    calls = {slug for slug, (_, roles) in tenants.items() if set(roles) & {*CALLING_ROLES, "platform_admin"}}
    rows = [
        (
            slug,
            name,
            ", ".join(ROLE_LABELS.get(r, r) for r in roles),
            slug in calls,
            bool(set(roles) & FIRM_ADMINS),
        )
        for slug, (name, roles) in tenants.items()
    ]
    status = 200 if rows else 403
    # No Comune: the page says whom to ask, and by what they can invite this person.
    codes = (
        (None, None)
        if rows
        else await context.db.run(None, functools.partial(handlers.own_codes, user_id=signed.session.user_id))
    )
    return context.templates.TemplateResponse(
        request,
        "home.html",
        {
            "identity": None,
            "user": signed.session,
            "tenants": rows,
            "csrf": signed.session.csrf,
            "platform_admin": platform_admin,
            "not_enabled": domain.not_enabled(*codes),
        },
        status_code=status,
    )


async def openapi_document(request: Request) -> Response:
    return JSONResponse(openapi.document(page_context(request).settings.public_base_url))


async def presigned_file(request: Request) -> Response:
    storage = page_context(request).storage
    if not isinstance(storage, LocalStorage):
        return render_error(request, 404, "Pagina non trovata.")
    q = request.query_params
    try:
        tenant_id, key = storage.verify(q.get("key", ""), q.get("expires", ""), q.get("signature", ""))
        await storage.head(tenant_id, key)
    except PermissionError:
        return render_error(request, 403, "Collegamento non valido o scaduto.")
    except ObjectNotFound:
        return render_error(request, 404, "File non trovato.")
    name = key.rsplit("/", 1)[-1]
    return StreamingResponse(
        storage.stream(tenant_id, key),
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    context = page_context(request)
    return await readiness(
        {"database": context.db.ping, "storage": context.storage.ping, "broker": context.bus.ping}
    )


ROUTES = [
    Route("/", home),
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/files", presigned_file),
    Route("/api/v1/openapi.json", openapi_document),
]


def member_identity(
    session: Session, mine: list[Membership], memberships: list[Membership], via: str = "session"
) -> Identity:
    """The identity a session carries on a Comune's pages: `mine`, the person's memberships of that
    Comune (its roles, one or more), `memberships` all of theirs (the header's Comune switcher)."""
    return Identity(
        user_id=str(session.user_id),
        display_name=session.display_name,
        tenant_id=mine[0].tenant_id,
        tenant_slug=mine[0].slug,
        tenant_name=mine[0].name,
        roles=tuple(sorted({m.role for m in mine})),
        via=via,
        csrf_token=session.csrf,
        tenants=tuple(dict.fromkeys((m.slug, m.name) for m in memberships)),
    )
