"""Use cases of the gateway's administration pages and commands: Comuni, memberships, invitations,
API keys and the audit log. One plain function each, run in the caller's unit of work; every change
is audited."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from gateway import domain, repository, repository_audit, repository_keys
from gateway.domain import Actor, CommandActor
from gateway.repository import Invitation, Member, Tenant
from gateway.repository_audit import AuditEntry
from gateway.repository_keys import ApiKey
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.mail import Mailer
from services.kernel.roles import ROLE_LABELS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Invites:
    """How an invitation by e-mail reaches its person: the mailer, the login page's address and the
    Comune's name."""

    mailer: Mailer
    login_url: str
    comune: str


@dataclass(frozen=True)
class TenantPeople:
    members: list[Member]
    invitations: list[Invitation]


async def visible_tenant(uow: UnitOfWork, actor: Actor, slug: str, path: str) -> Tenant | None:
    """The Comune at `slug` if the actor may see it; opening one that is not theirs is audited as denied."""
    tenant = await repository.tenant_by_slug(uow, slug)
    if tenant is not None and not actor.may_see(slug):
        await _audit(uow, actor, "access_denied", tenant.id, {"path": path})
        return None
    return tenant


async def list_tenants(uow: UnitOfWork) -> list[Tenant]:
    """Every Comune, by name (platform administrators only)."""
    return await repository.list_tenants(uow)


async def create_tenant(uow: UnitOfWork, actor: Actor | CommandActor, slug: str, name: str) -> uuid.UUID:
    """A new Comune; DomainError if the identifier or the name is taken. The platform
    administrator who creates it from the web becomes its platform administrator (as on every other
    Comune), so its pages open for them at once."""
    if (twin := await repository.tenant_named(uow, name)) is not None:
        raise DomainError(
            f"Esiste già un Comune di nome «{twin.name}» («{twin.slug}»): scegli un nome che li distingua.",
            field="nome",
        )
    tenant_id = await repository.create_tenant(uow, slug, name)
    if tenant_id is None:
        raise DomainError(f"Esiste già un Comune con identificativo «{slug}».", field="slug")
    await _audit(uow, actor, "tenant_created", tenant_id, {"slug": slug, "name": name})
    if isinstance(actor, Actor) and actor.platform_admin:
        await repository.add_first_membership(uow, tenant_id, actor.user_id, "platform_admin")
        detail = {"user_id": str(actor.user_id), "user": actor.display_name, "role": "platform_admin"}
        await _audit(uow, actor, "membership_added", tenant_id, detail)
    return tenant_id


async def tenant_people(uow: UnitOfWork, tenant_id: uuid.UUID) -> TenantPeople:
    """A Comune's members and its pending invitations."""
    members = await repository.tenant_members(uow, tenant_id)
    return TenantPeople(members, await repository.pending_invitations(uow, tenant_id))


async def grant_role(
    uow: UnitOfWork,
    actor: Actor,
    tenant_id: uuid.UUID,
    who: tuple[str | None, str | None],
    role: str,
    invites: Invites,
) -> tuple[str, str]:
    """Give a person (`who`: fiscal code, e-mail) a role on a Comune, or invite them; returns the
    outcome shown on the page and, for an invitation, what became of its e-mail (`_mail`)."""
    fiscal, email = who
    # Only platform administrators look people up across the platform; a Comune's administrator
    # always invites, so the answer reveals nothing about who exists elsewhere, and the person
    # joins only by logging in themselves.
    user = await repository.find_user(uow, fiscal, email) if actor.platform_admin else None
    # A member of this Comune already (the page lists them): the role is added to theirs, and the
    # page says so, since a person's roles add up.
    members = await repository.tenant_members(uow, tenant_id)
    theirs = [
        m
        for m in members
        if (user is not None and m.user_id == user.id)
        or (fiscal and m.fiscal_number == fiscal)
        or (email and (m.email or "").casefold() == email.casefold())
    ]
    member = bool(theirs)
    # Firm or tax office, never both: checked here on what this page shows (the Comune's own
    # members, or anyone for a platform administrator), and at login for everyone else.
    if theirs:
        domain.check_one_side(role, [m.role for m in theirs], theirs[0].display_name)
    if user is not None:
        held = await repository.other_side_role(uow, user.id, role)
        domain.check_one_side(role, [held] if held else [], user.display_name)
        if not await repository.add_membership(uow, tenant_id, user.id, role):
            return "gia-presente", ""
        detail: dict[str, Any] = {"user_id": str(user.id), "user": user.display_name, "role": role}
        await _audit(uow, actor, "membership_added", tenant_id, detail)
        return ("aggiunto-altro-ruolo" if member else "aggiunto"), ""
    await _check_invited_on_one_side(uow, tenant_id, who, role)
    if not await repository.create_invitation(uow, tenant_id, fiscal, email, role, actor.user_id):
        return "gia-invitato", ""
    detail = {"fiscal_number": fiscal, "email": email, "role": role}
    await _audit(uow, actor, "invitation_created", tenant_id, detail)
    mailed = await _mail(invites, actor, email, role) if email else "nessuna"
    return ("invitato-altro-ruolo" if member else "invitato"), mailed


async def _check_invited_on_one_side(
    uow: UnitOfWork, tenant_id: uuid.UUID, who: tuple[str | None, str | None], role: str
) -> None:
    """Nor invited to both sides of this Comune: its pending invitations of the same person."""
    fiscal, email = who
    invited = [
        i.role
        for i in await repository.pending_invitations(uow, tenant_id)
        if i.refused_at is None
        and (
            (fiscal and i.fiscal_number == fiscal)
            or (email and (i.email or "").casefold() == email.casefold())
        )
    ]
    pending_other = domain.other_side(role, invited)
    if pending_other is not None:
        raise DomainError(
            f"C'è già un invito per {email or fiscal} come «{ROLE_LABELS.get(pending_other, pending_other)}»: "
            "chi lavora per la società di riscossione non può avere anche un ruolo dell'Ufficio tributi di "
            "un Comune, né il contrario. Annulla quell'invito per invitarlo con questo ruolo.",
            field="ruolo",
        )


async def _mail(invites: Invites, actor: Actor, email: str, role: str) -> str:
    """E-mail the invited person how to log in: «inviata», «trattenuta» (no mail server here: the
    message is kept, not sent) or «non-inviata» (the server refused it; the invitation stands)."""
    mail = domain.invitation_mail(email, invites.comune, role, actor.display_name, invites.login_url)
    try:
        await invites.mailer.send(mail)
    except OSError as exc:  # smtplib's errors included
        log.warning("invitation e-mail not accepted by the mail server: %s", exc)
        return "non-inviata"
    return "inviata" if invites.mailer.delivers else "trattenuta"


async def revoke_role(
    uow: UnitOfWork, actor: Actor, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> None:
    """Take a role on a Comune away from a person; NotFound if they did not have it."""
    if not await repository.remove_membership(uow, tenant_id, user_id, role):
        raise NotFound("Abilitazione non trovata.")
    await _audit(uow, actor, "membership_removed", tenant_id, {"user_id": str(user_id), "role": role})


async def cancel_invitation(
    uow: UnitOfWork, actor: Actor, tenant_id: uuid.UUID, invitation_id: uuid.UUID, assignable: tuple[str, ...]
) -> None:
    """Withdraw a pending invitation (one of a role the actor may assign); audited."""
    pending = {i.id: i for i in await repository.pending_invitations(uow, tenant_id)}
    found = pending.get(invitation_id)
    if found is None:
        raise NotFound("Invito non trovato o già accettato.")
    domain.check_role(found.role, assignable)
    await repository.cancel_invitation(uow, tenant_id, invitation_id)
    detail = {"fiscal_number": found.fiscal_number, "email": found.email, "role": found.role}
    await _audit(uow, actor, "invitation_cancelled", tenant_id, detail)


async def replace_api_key(
    uow: UnitOfWork, tenant_id: uuid.UUID, label: str, prefix: str, key_hash: str
) -> uuid.UUID:
    """Revoke the Comune's API keys with this label and store the new one (only its hash)."""
    await repository.revoke_api_keys(uow, tenant_id, label)
    return await repository.create_api_key(uow, tenant_id, label, prefix, key_hash)


@dataclass(frozen=True)
class NewApiKey:
    id: uuid.UUID
    key: str  # shown once, never stored
    label: str


async def create_api_key(
    uow: UnitOfWork, actor: Actor | CommandActor, tenant_id: uuid.UUID, label: str
) -> NewApiKey:
    """A new API key of the Comune: only its hash is kept, the key itself is returned to be shown once."""
    key, prefix, key_hash = domain.new_api_key()
    key_id = await repository.create_api_key(uow, tenant_id, label, prefix, key_hash)
    await _audit(
        uow, actor, "api_key_created", tenant_id, {"key_id": str(key_id), "label": label, "prefix": prefix}
    )
    return NewApiKey(key_id, key, label)


async def api_keys(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[ApiKey]:
    """The Comune's API keys, valid ones first."""
    return await repository_keys.tenant_api_keys(uow, tenant_id)


async def revoke_api_key(
    uow: UnitOfWork, actor: Actor | CommandActor, tenant_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey:
    """Revoke one of the Comune's valid keys (it stops working at once); NotFound otherwise."""
    revoked = await repository_keys.revoke_api_key(uow, tenant_id, key_id)
    if revoked is None:
        raise NotFound("Chiave API non trovata o già revocata.")
    detail = {"key_id": str(key_id), "label": revoked.label, "prefix": revoked.prefix}
    await _audit(uow, actor, "api_key_revoked", tenant_id, detail)
    return revoked


async def tenant_audit(
    uow: UnitOfWork, tenant_id: uuid.UUID, limit: int, before_id: int | None
) -> list[AuditEntry]:
    """One Comune's audit entries, newest first, older than `before_id`."""
    return await repository_audit.tenant_entries(uow, tenant_id, limit, before_id)


async def all_audit(
    uow: UnitOfWork, limit: int, before_id: int | None
) -> tuple[list[AuditEntry], dict[uuid.UUID, str]]:
    """Every Comune's audit entries, newest first, and the Comuni's names (platform administrators only)."""
    entries = await repository_audit.all_entries(uow, limit, before_id)
    return entries, {t.id: t.name for t in await repository.list_tenants(uow)}


async def _audit(
    uow: UnitOfWork, actor: Actor | CommandActor, action: str, tenant_id: uuid.UUID, detail: dict[str, Any]
) -> None:
    await repository_audit.record(
        uow,
        action,
        actor_label=actor.display_name,
        actor_user_id=actor.user_id,
        tenant_id=tenant_id,
        ip=actor.ip,
        detail=detail,
    )
