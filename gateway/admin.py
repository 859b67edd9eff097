"""Pages the gateway serves itself: Comuni, memberships, invitations and the audit log.

Platform administrators manage every Comune and every role; a Comune's administrators manage only
their own Comune and only the Comune roles. Every change is written to the audit log.
"""

from __future__ import annotations

import inspect
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from stdnum.it import codicefiscale

from gateway import audit, domain, repository
from gateway.ratelimit import client_ip
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, Forbidden, NotFound
from services.kernel.web import render_error

if TYPE_CHECKING:
    from gateway.app import Gateway

COMUNE_ROLES = ("comune_viewer", "comune_admin")
PAGE_SIZE = 50
ROME = ZoneInfo("Europe/Rome")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OUTCOMES = {
    "aggiunto": "Abilitazione aggiunta.",
    "gia-presente": "La persona ha già questo ruolo sul Comune.",
    "invitato": "Invito registrato: l'abilitazione sarà attiva al primo accesso.",
    "gia-invitato": "Esiste già un invito in attesa per questa persona e questo ruolo.",
    "rimosso": "Abilitazione rimossa.",
    "creato": "Comune creato.",
}


# ------------------------------------------------------------------------------------ pure rules


def assignable_roles(platform_admin: bool) -> tuple[str, ...]:
    """The roles an administrator may grant or revoke."""
    return domain.ROLES if platform_admin else COMUNE_ROLES


def parse_identifier(raw: str) -> tuple[str | None, str | None]:
    """A fiscal code or an e-mail address -> (fiscal number, email), normalised."""
    value = raw.strip()
    if "@" in value:
        if not EMAIL_RE.match(value) or len(value) > 254:
            raise DomainError("Indirizzo e-mail non valido.", field="identificativo")
        return None, value.lower()
    code = value.upper().replace(" ", "")
    if not code:
        raise DomainError("Indica il codice fiscale o l'indirizzo e-mail.", field="identificativo")
    if not codicefiscale.is_valid(code):
        raise DomainError("Codice fiscale non valido.", field="identificativo")
    return code, None


def check_role(role: str, platform_admin: bool) -> str:
    if role not in domain.ROLES:
        raise DomainError("Ruolo non valido.", field="ruolo")
    if role not in assignable_roles(platform_admin):
        raise Forbidden("Solo gli amministratori della piattaforma possono assegnare questo ruolo.")
    return role


def check_new_tenant(slug: str, name: str) -> tuple[str, str]:
    slug, name = slug.strip().lower(), " ".join(name.split())
    if not domain.SLUG_RE.match(slug):
        raise DomainError(
            "Identificativo non valido: usa lettere minuscole, cifre e trattini (es. comune-di-esempio).",
            field="slug",
        )
    if not name or len(name) > 200:
        raise DomainError("Indica il nome del Comune (al massimo 200 caratteri).", field="nome")
    return slug, name


# --------------------------------------------------------------------------------------- actors


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    display_name: str
    csrf: str
    ip: str
    platform_admin: bool
    member_of: frozenset[str]
    admin_of: frozenset[str]

    def may_manage(self, slug: str) -> bool:
        return self.platform_admin or slug in self.admin_of


async def accept_invitations_on_login(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    fiscal_number: str | None,
    email: str | None,
    *,
    actor_label: str,
    ip: str | None = None,
) -> list[tuple[uuid.UUID, str]]:
    """Grant the person's pending invitations at login and audit each new membership.

    Runs in the caller's (login) transaction; the caller commits.
    """
    granted = await repository.accept_invitations(uow, user_id, fiscal_number, email)
    for tenant_id, role in granted:
        await audit.record(
            uow,
            "membership_added",
            actor_label=actor_label,
            actor_user_id=user_id,
            tenant_id=tenant_id,
            ip=ip,
            detail={"user_id": str(user_id), "role": role, "via": "invitation"},
        )
    return granted


class AdminPages:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    def routes(self) -> list[Route]:
        return [
            Route("/admin/", self.index, methods=["GET"]),
            Route("/admin/comuni", self.tenants_page, methods=["GET"]),
            Route("/admin/comuni", self.create_tenant, methods=["POST"]),
            Route("/admin/comuni/{slug}/utenti", self.users_page, methods=["GET"]),
            Route("/admin/comuni/{slug}/utenti", self.add_user, methods=["POST"]),
            Route("/admin/comuni/{slug}/utenti/rimuovi", self.remove_user, methods=["POST"]),
            Route("/admin/comuni/{slug}/registro", self.tenant_audit, methods=["GET"]),
            Route("/admin/registro", self.all_audit, methods=["GET"]),
        ]

    # ----------------------------------------------------------------------------- access checks

    async def _actor(self, request: Request) -> Actor | Response:
        """The signed-in administrator, or the response that refuses the request."""
        session: Any = self.gw.read_session(request)
        if inspect.isawaitable(session):
            session = await session
        if session is None:
            if request.method == "GET":
                return RedirectResponse("/login", status_code=303)
            return render_error(request, 401, "Sessione scaduta: accedi di nuovo.")
        memberships = await self.gw._memberships(session.user_id)
        actor = Actor(
            user_id=session.user_id,
            display_name=session.display_name,
            csrf=session.csrf,
            ip=client_ip(request),
            platform_admin=any(m.role == "platform_admin" for m in memberships),
            member_of=frozenset(m.slug for m in memberships),
            admin_of=frozenset(m.slug for m in memberships if m.role == "comune_admin"),
        )
        if request.method in domain.UNSAFE_METHODS and not await _csrf_ok(request, actor.csrf):
            return render_error(
                request,
                403,
                "Richiesta non valida (token CSRF mancante o errato): ricarica la pagina e riprova.",
            )
        return actor

    async def _tenant(self, request: Request, actor: Actor) -> repository.Tenant:
        """The URL's Comune if the actor may manage it; a foreign Comune is as missing as an unknown one."""
        slug = request.path_params["slug"]
        async with self.gw.db.unit_of_work(None) as uow:
            tenant = await repository.tenant_by_slug(uow, slug)
            visible = tenant is not None and (actor.platform_admin or slug in actor.member_of)
            if tenant is not None and not visible:
                await audit.record(
                    uow,
                    "access_denied",
                    actor_label=actor.display_name,
                    actor_user_id=actor.user_id,
                    tenant_id=tenant.id,
                    ip=actor.ip,
                    detail={"path": request.url.path},
                )
                await uow.commit()
        if tenant is None or not visible:
            raise NotFound("Pagina non trovata.")
        if not actor.may_manage(slug):
            raise Forbidden()
        return tenant

    # ------------------------------------------------------------------------------------- pages

    async def index(self, request: Request) -> Response:
        actor = await self._actor(request)
        if isinstance(actor, Response):
            return actor
        if actor.platform_admin:
            return RedirectResponse("/admin/comuni", status_code=303)
        if actor.admin_of:
            return RedirectResponse(f"/admin/comuni/{min(actor.admin_of)}/utenti", status_code=303)
        raise Forbidden()

    async def tenants_page(self, request: Request, error: DomainError | None = None) -> Response:
        actor = await self._actor(request)
        if isinstance(actor, Response):
            return actor
        if not actor.platform_admin:
            raise Forbidden()
        async with self.gw.db.unit_of_work(None) as uow:
            tenants = await repository.list_tenants(uow)
        return self._render(request, actor, "admin_tenants.html", {"tenants": tenants}, error)

    async def create_tenant(self, request: Request) -> Response:
        actor = await self._actor(request)
        if isinstance(actor, Response):
            return actor
        if not actor.platform_admin:
            raise Forbidden()
        form = await request.form()
        try:
            slug, name = check_new_tenant(str(form.get("slug", "")), str(form.get("nome", "")))
            async with self.gw.db.unit_of_work(None) as uow:
                tenant_id = await repository.create_tenant(uow, slug, name)
                if tenant_id is None:
                    raise DomainError(f"Esiste già un Comune con identificativo «{slug}».", field="slug")
                await self._audit(uow, actor, "tenant_created", tenant_id, {"slug": slug, "name": name})
                await uow.commit()
        except DomainError as exc:
            return await self._rerender(self.tenants_page, request, exc)
        return RedirectResponse(f"/admin/comuni/{slug}/utenti?esito=creato", status_code=303)

    async def users_page(self, request: Request, error: DomainError | None = None) -> Response:
        actor = await self._actor(request)
        if isinstance(actor, Response):
            return actor
        tenant = await self._tenant(request, actor)
        async with self.gw.db.unit_of_work(tenant.id) as uow:
            members = await repository.tenant_members(uow, tenant.id)
            invitations = await repository.pending_invitations(uow, tenant.id)
        context = {
            "tenant": tenant,
            "members": members,
            "invitations": invitations,
            "roles": assignable_roles(actor.platform_admin),
        }
        return self._render(request, actor, "admin_users.html", context, error)

    async def add_user(self, request: Request) -> Response:
        actor = await self._actor(request)
        if isinstance(actor, Response):
            return actor
        tenant = await self._tenant(request, actor)
        form = await request.form()
        try:
            role = check_role(str(form.get("ruolo", "")), actor.platform_admin)
            fiscal, email = parse_identifier(str(form.get("identificativo", "")))
            outcome = await self._grant(actor, tenant, fiscal, email, role)
        except Forbidden:
            raise
        except DomainError as exc:
            return await self._rerender(self.users_page, request, exc)
        return RedirectResponse(f"/admin/comuni/{tenant.slug}/utenti?esito={outcome}", status_code=303)

    async def _grant(
        self, actor: Actor, tenant: repository.Tenant, fiscal: str | None, email: str | None, role: str
    ) -> str:
        async with self.gw.db.unit_of_work(tenant.id) as uow:
            # Only platform administrators look people up across the platform; a Comune's administrator
            # always invites, so the answer reveals nothing about who exists elsewhere, and the person
            # joins only by logging in themselves.
            user = await repository.find_user(uow, fiscal, email) if actor.platform_admin else None
            if user is not None:
                if not await repository.add_membership(uow, tenant.id, user.id, role):
                    return "gia-presente"
                detail: dict[str, Any] = {"user_id": str(user.id), "user": user.display_name, "role": role}
                await self._audit(uow, actor, "membership_added", tenant.id, detail)
                outcome = "aggiunto"
            else:
                if not await repository.create_invitation(uow, tenant.id, fiscal, email, role, actor.user_id):
                    return "gia-invitato"
                detail = {"fiscal_number": fiscal, "email": email, "role": role}
                await self._audit(uow, actor, "invitation_created", tenant.id, detail)
                outcome = "invitato"
            await uow.commit()
        return outcome

    async def remove_user(self, request: Request) -> Response:
        actor = await self._actor(request)
        if isinstance(actor, Response):
            return actor
        tenant = await self._tenant(request, actor)
        form = await request.form()
        try:
            role = check_role(str(form.get("ruolo", "")), actor.platform_admin)
            user_id = uuid.UUID(str(form.get("utente", "")))
        except ValueError:
            return await self._rerender(self.users_page, request, DomainError("Utente non valido.", "utente"))
        except Forbidden:
            raise
        except DomainError as exc:
            return await self._rerender(self.users_page, request, exc)
        if user_id == actor.user_id and role == "comune_admin" and not actor.platform_admin:
            error = DomainError("Non puoi rimuovere la tua stessa abilitazione di amministratore.", "utente")
            return await self._rerender(self.users_page, request, error)
        async with self.gw.db.unit_of_work(tenant.id) as uow:
            if not await repository.remove_membership(uow, tenant.id, user_id, role):
                raise NotFound("Abilitazione non trovata.")
            await self._audit(
                uow, actor, "membership_removed", tenant.id, {"user_id": str(user_id), "role": role}
            )
            await uow.commit()
        return RedirectResponse(f"/admin/comuni/{tenant.slug}/utenti?esito=rimosso", status_code=303)

    async def tenant_audit(self, request: Request) -> Response:
        actor = await self._actor(request)
        if isinstance(actor, Response):
            return actor
        tenant = await self._tenant(request, actor)
        before = _before_id(request)
        async with self.gw.db.unit_of_work(tenant.id) as uow:
            entries = await audit.tenant_entries(uow, tenant.id, PAGE_SIZE + 1, before)
        return self._audit_page(request, actor, entries, tenant, {tenant.id: tenant.name})

    async def all_audit(self, request: Request) -> Response:
        actor = await self._actor(request)
        if isinstance(actor, Response):
            return actor
        if not actor.platform_admin:
            raise Forbidden()
        before = _before_id(request)
        async with self.gw.db.unit_of_work(None) as uow:
            entries = await audit.all_entries(uow, PAGE_SIZE + 1, before)
            names = {t.id: t.name for t in await repository.list_tenants(uow)}
        return self._audit_page(request, actor, entries, None, names)

    # ----------------------------------------------------------------------------------- helpers

    def _audit_page(
        self,
        request: Request,
        actor: Actor,
        entries: list[audit.AuditEntry],
        tenant: repository.Tenant | None,
        names: dict[uuid.UUID, str],
    ) -> Response:
        more = len(entries) > PAGE_SIZE
        entries = entries[:PAGE_SIZE]
        rows = [
            {
                "at": e.at.astimezone(ROME).strftime("%d/%m/%Y %H:%M:%S"),
                "action": audit.ACTIONS.get(e.action, e.action),
                "actor": e.actor_label,
                "tenant": names.get(e.tenant_id, "—") if e.tenant_id else "—",
                "ip": e.ip or "—",
                "detail": ", ".join(f"{k}: {v}" for k, v in sorted(e.detail.items()) if v is not None),
            }
            for e in entries
        ]
        context = {"tenant": tenant, "rows": rows, "next_before": entries[-1].id if more else None}
        return self._render(request, actor, "admin_audit.html", context)

    def _render(
        self,
        request: Request,
        actor: Actor,
        name: str,
        context: dict[str, Any],
        error: DomainError | None = None,
    ) -> Response:
        outcome = OUTCOMES.get(request.query_params.get("esito", "")) if error is None else None
        full = {
            "identity": None,
            "actor": actor,
            "csrf": actor.csrf,
            "error": error,
            "outcome": outcome,
            **context,
        }
        status = error.status if error is not None else 200
        return self.gw.templates.TemplateResponse(request, name, full, status_code=status)

    async def _rerender(self, handler: Any, request: Request, error: DomainError) -> Response:
        # The form is shown again with the message, on a GET-like rendering of the same page.
        response: Response = await handler(_as_get(request), error)
        return response

    async def _audit(
        self, uow: UnitOfWork, actor: Actor, action: str, tenant_id: uuid.UUID, detail: dict[str, Any]
    ) -> None:
        await audit.record(
            uow,
            action,
            actor_label=actor.display_name,
            actor_user_id=actor.user_id,
            tenant_id=tenant_id,
            ip=actor.ip,
            detail=detail,
        )


def _before_id(request: Request) -> int | None:
    raw = request.query_params.get("prima_di", "")
    return int(raw) if raw.isdigit() else None


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
