"""Pages the gateway serves itself: Comuni, memberships, invitations, API keys and the audit log.

Platform administrators manage every Comune and every role; a Comune's administrators manage only
their own Comune and only the Comune roles; a Comune's supervisors assign and remove only the
operator role there (the page embeds each operator's work list, edited in the contact service).
Every change is written to the audit log.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway import domain, domain_audit, handlers_admin
from gateway.domain import Actor
from gateway.handlers_admin import NewApiKey
from gateway.repository import Tenant
from gateway.repository_audit import AuditEntry
from gateway.web import PageContext, client_ip, member_identity, page_context, signed_in
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, Forbidden, NotFound, errors_of
from services.kernel.identity import Identity, sign_subject
from services.kernel.web import query_int, render_error

PAGE_SIZE = 50
ROME = ZoneInfo("Europe/Rome")
OUTCOMES = {
    "aggiunto": "Abilitazione aggiunta.",
    "aggiunto-altro-ruolo": "Ruolo aggiunto: la persona era già abilitata sul Comune con un altro ruolo e ora li "
    "ha tutti (i ruoli si sommano; per toglierne uno usa «Rimuovi» accanto a quel ruolo).",
    "invitato-altro-ruolo": "Invito registrato: la persona è già abilitata sul Comune con un altro ruolo; al "
    "prossimo accesso avrà anche questo (i ruoli si sommano).",
    "gia-presente": "La persona ha già questo ruolo sul Comune.",
    "invitato": "Invito registrato: l'abilitazione sarà attiva al prossimo accesso della persona.",
    "gia-invitato": "Esiste già un invito in attesa per questa persona e questo ruolo.",
    "annullato": "Invito annullato.",
    "rimosso": "Abilitazione rimossa.",
    "creato": "Comune creato.",
    "revocata": "Chiave API revocata: da ora non è più accettata.",
}
# What became of an invitation's e-mail (`handlers_admin.grant_role`), said after the outcome.
MAIL_OUTCOMES = {
    "inviata": "Le istruzioni per accedere sono state inviate per e-mail alla persona.",
    "trattenuta": "Nessuna e-mail è partita: su questa installazione non è configurato un server di posta. "
    "Comunica tu alla persona di accedere.",
    "non-inviata": "L'e-mail con le istruzioni non è partita: il server di posta non l'ha accettata. L'invito "
    "resta valido: comunica tu alla persona di accedere.",
    "nessuna": "L'invito è per codice fiscale, senza e-mail: comunica tu alla persona di accedere con SPID o con le credenziali aziendali.",
}


@dataclass(frozen=True)
class AdminCall:
    """What an administration view is handed: who asks, about which Comune, with which form."""

    actor: Actor
    tenant: Tenant | None
    form: FormData | None
    error: DomainError | None

    @property
    def comune(self) -> Tenant:
        assert self.tenant is not None, "a view declared with tenant=True"
        return self.tenant

    def field(self, name: str) -> str:
        return str(self.form.get(name, "")) if self.form is not None else ""


AdminView = Callable[[Request, AdminCall, UnitOfWork], Awaitable[Response]]
AdminEntry = Callable[..., Awaitable[Response]]


def admin_page(
    *,
    platform_only: bool = False,
    tenant: bool = False,
    supervisors: bool = False,
    errors_on: AdminEntry | None = None,
) -> Callable[[AdminView], AdminEntry]:
    """The entrypoint of an administration view: the signed-in administrator (CSRF-checked for unsafe
    methods), `platform_only` or the URL's Comune they may manage (`tenant`; with `supervisors`, its
    supervisors get in too), then the view in one unit of work on that Comune, committed when it
    returns. A form's broken rule (400) rolls it back and shows the `errors_on` page again with the
    message."""

    def wrap(view: AdminView) -> AdminEntry:
        @functools.wraps(view)
        async def entry(
            request: Request, error: DomainError | None = None, typed: FormData | None = None
        ) -> Response:
            context = page_context(request)
            actor = await _actor(context, request)
            if isinstance(actor, Response):
                return actor
            if platform_only and not actor.platform_admin:
                raise Forbidden()
            found = await _tenant(context, request, actor, supervisors) if tenant else None
            # A page shown again for a refused form gets what was typed (`typed`), to fill it in.
            form = await request.form() if request.method == "POST" else typed
            work = functools.partial(view, request, AdminCall(actor, found, form, error))
            try:
                return await context.db.run(found.id if found else None, work)
            except DomainError as exc:
                if errors_on is None or exc.status != 400:
                    raise
                # The form is shown again with the message, on a GET-like rendering of the same page.
                return await errors_on(_as_get(request), exc, form)

        return entry

    return wrap


async def _actor(context: PageContext, request: Request) -> Actor | Response:
    """The signed-in administrator, or the response that refuses the request."""
    signed = await signed_in(context, request)
    if signed is None:
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return render_error(request, 401, "Sessione scaduta: accedi di nuovo.")
    session = signed.session
    roles = [(m.slug, m.role) for m in signed.memberships]
    request.state.signed = signed  # the Comune's header on its pages (`_render`)
    actor = Actor.of(session.user_id, session.display_name, session.csrf, client_ip(request), roles)
    if request.method in domain.UNSAFE_METHODS and not await _csrf_ok(request, actor.csrf):
        return render_error(
            request,
            403,
            "Richiesta non valida (token CSRF mancante o errato): ricarica la pagina e riprova.",
        )
    return actor


async def _tenant(context: PageContext, request: Request, actor: Actor, supervisors: bool) -> Tenant:
    """The URL's Comune if the actor may manage it (or, with `supervisors`, assign its operators); a
    foreign Comune is as missing as an unknown one."""
    slug = request.path_params["slug"]
    work = functools.partial(handlers_admin.visible_tenant, actor=actor, slug=slug, path=request.url.path)
    # Its own transaction: a denied access stays audited though the page then answers 404.
    tenant = await context.db.run(None, work)
    if tenant is None:
        raise NotFound("Pagina non trovata.")
    if not (actor.may_assign(slug) if supervisors else actor.may_manage(slug)):
        raise Forbidden()
    return tenant


# -------------------------------------------------------------------------------------------- pages


@admin_page()
async def index(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    if call.actor.platform_admin:
        return RedirectResponse("/admin/comuni", status_code=303)
    # A Comune's administrators and supervisors: the people page of their (first) Comune.
    if theirs := call.actor.assigns_somewhere():
        return RedirectResponse(f"/admin/comuni/{min(theirs)}/utenti", status_code=303)
    raise Forbidden()


@admin_page(platform_only=True)
async def tenants_page(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    tenants = await handlers_admin.list_tenants(uow)
    errors = errors_of(call.error) if call.error is not None else {}
    typed = {"nome": call.field("nome"), "slug": call.field("slug")}
    return _render(
        request, call, "admin_tenants.html", {"tenants": tenants, "errors": errors, "typed": typed}
    )


@admin_page(platform_only=True, errors_on=tenants_page)
async def create_tenant(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    slug, name = domain.check_new_tenant(call.field("slug"), call.field("nome"))
    await handlers_admin.create_tenant(uow, call.actor, slug, name)
    return RedirectResponse(f"/admin/comuni/{slug}/utenti?esito=creato", status_code=303)


@admin_page(tenant=True, supervisors=True)
async def users_page(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    people = await handlers_admin.tenant_people(uow, call.comune.id)
    context = {
        "tenant": call.comune,
        "members": people.members,
        "invitations": people.invitations,
        "roles": call.actor.assignable(call.comune.slug),
        # The operators' work lists are the contact service's fragments, reached through this
        # Comune's identity: only where the actor oversees the calls.
        "work_lists": call.comune.slug in call.actor.oversees,
        # Each operator's editor, by a link signed here: the contact service knows the Comune's
        # people only as the gateway vouches for them.
        "list_links": _list_links(request, call.comune, people.members),
        # What was typed, when a refused form shows this page again.
        "typed_identifier": call.field("identificativo"),
        "typed_role": call.field("ruolo") if call.field("identificativo") else "",
    }
    return _render(request, call, "admin_users.html", context)


@admin_page(tenant=True, supervisors=True, errors_on=users_page)
async def add_user(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    role = domain.check_role(call.field("ruolo"), call.actor.assignable(call.comune.slug))
    who = domain.parse_identifier(call.field("identificativo"))
    context = page_context(request)
    login = context.settings.public_base_url.rstrip("/") + "/login"
    invites = handlers_admin.Invites(context.mailer, login, call.comune.name)
    outcome, mailed = await handlers_admin.grant_role(uow, call.actor, call.comune.id, who, role, invites)
    # The e-mail's fate first: the outcome stays the query's last word.
    mail = f"posta={mailed}&" if mailed else ""
    return RedirectResponse(f"/admin/comuni/{call.comune.slug}/utenti?{mail}esito={outcome}", status_code=303)


@admin_page(tenant=True, supervisors=True, errors_on=users_page)
async def remove_user(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    role = domain.check_role(call.field("ruolo"), call.actor.assignable(call.comune.slug))
    try:
        user_id = uuid.UUID(call.field("utente"))
    except ValueError:
        raise DomainError("Utente non valido.", "utente") from None
    domain.check_revocation(call.actor, user_id, role)
    await handlers_admin.revoke_role(uow, call.actor, call.comune.id, user_id, role)
    return RedirectResponse(f"/admin/comuni/{call.comune.slug}/utenti?esito=rimosso", status_code=303)


@admin_page(tenant=True, supervisors=True, errors_on=users_page)
async def cancel_invitation(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    try:
        invitation_id = uuid.UUID(call.field("invito"))
    except ValueError:
        raise DomainError("Invito non valido.", "invito") from None
    assignable = call.actor.assignable(call.comune.slug)
    await handlers_admin.cancel_invitation(uow, call.actor, call.comune.id, invitation_id, assignable)
    return RedirectResponse(f"/admin/comuni/{call.comune.slug}/utenti?esito=annullato", status_code=303)


@admin_page(tenant=True)
async def tenant_audit(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    entries = await handlers_admin.tenant_audit(uow, call.comune.id, PAGE_SIZE + 1, _before_id(request))
    return _audit_page(request, call, entries, {call.comune.id: call.comune.name})


@admin_page(platform_only=True)
async def all_audit(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    entries, names = await handlers_admin.all_audit(uow, PAGE_SIZE + 1, _before_id(request))
    return _audit_page(request, call, entries, names)


@admin_page(tenant=True)
async def keys_page(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    return await _keys_page(request, call, uow, None)


@admin_page(tenant=True, errors_on=keys_page)
async def create_key(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    label = domain.check_key_label(call.field("etichetta"))
    new = await handlers_admin.create_api_key(uow, call.actor, call.comune.id, label)
    # The key is shown in this answer and never again: no redirect carries it, no cache keeps it.
    response = await _keys_page(request, call, uow, new)
    response.headers["cache-control"] = "no-store"
    return response


@admin_page(tenant=True, errors_on=keys_page)
async def revoke_key(request: Request, call: AdminCall, uow: UnitOfWork) -> Response:
    try:
        key_id = uuid.UUID(call.field("chiave"))
    except ValueError:
        raise DomainError("Chiave API non valida.", "chiave") from None
    await handlers_admin.revoke_api_key(uow, call.actor, call.comune.id, key_id)
    return RedirectResponse(f"/admin/comuni/{call.comune.slug}/chiavi?esito=revocata", status_code=303)


async def _keys_page(request: Request, call: AdminCall, uow: UnitOfWork, new: NewApiKey | None) -> Response:
    keys = await handlers_admin.api_keys(uow, call.comune.id)
    rows = [
        {
            "id": k.id,
            "label": k.label,
            "shown": k.shown,
            "created": k.created_at.astimezone(ROME).strftime("%d/%m/%Y %H:%M"),
            "revoked": k.revoked_at.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if k.revoked_at else None,
        }
        for k in keys
    ]
    typed = call.field("etichetta") if call.error is not None else ""
    context = {"tenant": call.comune, "keys": rows, "new_key": new, "typed_label": typed}
    return _render(request, call, "admin_keys.html", context)


# ------------------------------------------------------------------------------------------ helpers


def _audit_page(
    request: Request, call: AdminCall, entries: list[AuditEntry], names: dict[uuid.UUID, str]
) -> Response:
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    rows = [
        {
            "at": e.at.astimezone(ROME).strftime("%d/%m/%Y %H:%M:%S"),
            "action": domain.ACTIONS.get(e.action, e.action),
            "actor": e.actor_label,
            "tenant": names.get(e.tenant_id, "—") if e.tenant_id else "—",
            "ip": e.ip or "—",
            "detail": domain_audit.describe(e.detail, names),
        }
        for e in entries
    ]
    context = {"tenant": call.tenant, "rows": rows, "next_before": entries[-1].id if more else None}
    return _render(request, call, "admin_audit.html", context)


def _list_links(request: Request, comune: Tenant, members: list[Any]) -> dict[Any, str]:
    secret = page_context(request).settings.secret_key
    return {
        m.user_id: f"/t/{comune.slug}/contact/liste/{m.user_id}?"
        + urlencode({"firma": sign_subject(secret, comune.id, str(m.user_id), m.display_name)})
        for m in members
        if m.role == "operator"
    }


def _render(request: Request, call: AdminCall, name: str, context: dict[str, Any]) -> Response:
    error = call.error
    outcome = OUTCOMES.get(request.query_params.get("esito", "")) if error is None else None
    mailed = MAIL_OUTCOMES.get(request.query_params.get("posta", ""))
    if outcome and mailed:
        outcome = f"{outcome} {mailed}"
    full = {
        "identity": _comune_identity(request, call),
        "actor": call.actor,
        "csrf": call.actor.csrf,
        "error": error,
        "outcome": outcome,
        **context,
    }
    status = error.status if error is not None else 200
    return page_context(request).templates.TemplateResponse(request, name, full, status_code=status)


def _comune_identity(request: Request, call: AdminCall) -> Identity | None:
    """On a page of a Comune of theirs, the identity its own pages carry: its name, the Comune
    switcher and the menu stay in the header (a platform administrator outside it gets none)."""
    signed = getattr(request.state, "signed", None)
    if signed is None or call.tenant is None:
        return None
    mine = [m for m in signed.memberships if m.tenant_id == call.tenant.id]
    return member_identity(signed.session, mine, signed.memberships) if mine else None


def _before_id(request: Request) -> int | None:
    return query_int(request, "prima_di", 0, least=1, most=2**63 - 1) or None


def _as_get(request: Request) -> Request:
    scope = dict(request.scope)
    scope["method"] = "GET"
    scope["query_string"] = b""
    return Request(scope, request.receive)


async def _csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        sent = str(form.get("csrf_token", ""))
    return domain.same_secret(sent, expected)


ROUTES = [
    Route("/admin/", index, methods=["GET"]),
    Route("/admin/comuni", tenants_page, methods=["GET"]),
    Route("/admin/comuni", create_tenant, methods=["POST"]),
    Route("/admin/comuni/{slug}/utenti", users_page, methods=["GET"]),
    Route("/admin/comuni/{slug}/utenti", add_user, methods=["POST"]),
    Route("/admin/comuni/{slug}/utenti/rimuovi", remove_user, methods=["POST"]),
    Route("/admin/comuni/{slug}/inviti/annulla", cancel_invitation, methods=["POST"]),
    Route("/admin/comuni/{slug}/chiavi", keys_page, methods=["GET"]),
    Route("/admin/comuni/{slug}/chiavi", create_key, methods=["POST"]),
    Route("/admin/comuni/{slug}/chiavi/revoca", revoke_key, methods=["POST"]),
    Route("/admin/comuni/{slug}/registro", tenant_audit, methods=["GET"]),
    Route("/admin/registro", all_audit, methods=["GET"]),
]
