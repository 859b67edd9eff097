"""Use cases of the gateway's sessions, logins and forwarding: one plain function each, run in the
entrypoint's unit of work (the page, the forwarding or the command commits; these never do).
The administration pages' use cases are in `handlers_admin`."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway import domain, repository, repository_audit, repository_limits, repository_sessions
from gateway.domain import Limit, LoginRefused, SessionPolicy, Verdict, digest
from gateway.domain_oidc import LoginResult
from gateway.repository import Membership, User
from gateway.repository_sessions import PendingLogin, Session
from services.kernel.db import UnitOfWork


@dataclass(frozen=True)
class Browser:
    """Where a session is opened from; `replaces` is the session cookie the browser held before."""

    ip: str | None = None
    user_agent: str | None = None
    replaces: str | None = None


@dataclass(frozen=True)
class NewSession:
    cookie: str  # the session id, given only to the browser
    csrf: str


@dataclass(frozen=True)
class SignedIn:
    session: Session
    memberships: list[Membership]


@dataclass(frozen=True)
class TenantAccess:
    """A session opening a Comune: `mine` are its memberships there (none: the Comune is not theirs)."""

    session: Session
    memberships: list[Membership]
    mine: list[Membership]


@dataclass(frozen=True)
class ApiCaller:
    key_id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str


# ------------------------------------------------------------------------------------------ sessions


async def load_session(uow: UnitOfWork, cookie: str | None, policy: SessionPolicy) -> Session | None:
    """The live session of this cookie; its last-seen time is refreshed at most once a minute."""
    if not cookie:
        return None
    id_hash = digest(cookie)
    found = await repository_sessions.find_session(uow, id_hash, policy)
    if found is None:
        return None
    session, stale = found
    if stale:
        await repository_sessions.touch_session(uow, id_hash)
    return session


async def signed_in(uow: UnitOfWork, cookie: str | None, policy: SessionPolicy) -> SignedIn | None:
    """The live session of this cookie and its person's memberships in every Comune."""
    session = await load_session(uow, cookie, policy)
    if session is None:
        return None
    return SignedIn(session, await repository.user_memberships(uow, session.user_id, as_set=True))


async def own_codes(uow: UnitOfWork, user_id: uuid.UUID) -> tuple[str | None, str | None]:
    """The person's own fiscal number and e-mail address: what an administrator invites them by."""
    return await repository.codes_of(uow, user_id)


async def create_session(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    browser: Browser,
    *,
    provider: str | None = None,
    id_token: str | None = None,
    acr: str | None = None,
) -> NewSession:
    """A new session id for the user; the session the browser held before (if any) ends."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    if browser.replaces:
        await repository_sessions.revoke_session(uow, digest(browser.replaces))
    await repository_sessions.insert_session(
        uow,
        digest(cookie),
        user_id,
        csrf,
        provider=provider,
        id_token=id_token,
        acr=acr,
        ip=browser.ip,
        user_agent=(browser.user_agent or "")[:300] or None,
    )
    return NewSession(cookie, csrf)


async def log_out(uow: UnitOfWork, session: Session, everywhere: bool, ip: str) -> None:
    """End this session, or every session of its person, and audit it."""
    detail: dict[str, Any] = {}
    if everywhere:
        detail["sessions"] = await repository_sessions.revoke_user_sessions(uow, session.user_id)
    else:
        await repository_sessions.revoke_session(uow, session.id_hash)
    action = "logout_everywhere" if everywhere else "logout"
    await _audit_person(uow, action, session.display_name, session.user_id, ip, detail)


# -------------------------------------------------------------------------------------------- logins


async def start_login(uow: UnitOfWork, provider: str, browser: str, nonce: str, code_verifier: str) -> str:
    """Record a login being started by this browser; returns its state."""
    state = secrets.token_urlsafe(32)
    pending = PendingLogin(provider, digest(browser), nonce, code_verifier)
    await repository_sessions.insert_pending_login(uow, digest(state), pending)
    return state


async def take_login(uow: UnitOfWork, state: str, browser: str, provider: str) -> PendingLogin | None:
    """The pending login for this state (spent now) if this browser started it with this provider."""
    if not state:
        return None
    login = await repository_sessions.take_pending_login(uow, digest(state))
    if login is None or login.provider != provider:
        return None
    if not browser or not secrets.compare_digest(login.browser_hash, digest(browser)):
        return None
    return login


async def complete_login(
    uow: UnitOfWork,
    result: LoginResult,
    provider: str,
    browser: Browser,
    *,
    fiscal_number: str | None,
    email: str | None,
) -> NewSession:
    """Sign in the person a provider asserted: matched (or created), their invitations accepted, the
    identity linked, a new session opened and the login audited. `fiscal_number` and `email` are
    those the provider vouches for. LoginRefused for a person with no Comune: raised, so nothing of
    the login is kept."""
    known = await repository.match_user(uow, result.issuer, result.subject, fiscal_number)
    user = known or await repository.create_user(uow, result.display_name, email, fiscal_number)
    await accept_invitations_on_login(
        uow, user.id, fiscal_number, email, actor_label=result.display_name, ip=browser.ip
    )
    if not await repository.user_memberships(uow, user.id):
        raise LoginRefused("no_membership" if known else "unknown_user", known.id if known else None)
    await repository.link_identity(uow, user.id, result.issuer, result.subject)
    new = await create_session(
        uow, user.id, browser, provider=provider, id_token=result.id_token, acr=result.acr
    )
    detail = {"provider": provider, "acr": result.acr}
    await _audit_person(uow, "login", user.display_name, user.id, browser.ip, detail)
    return new


async def dev_login(uow: UnitOfWork, user_id: uuid.UUID, browser: Browser) -> NewSession | None:
    """Sign in as any known person (development login only); None if there is no such person."""
    user = await repository.get_user(uow, user_id)
    if user is None:
        return None
    # As a real login would: the person's invitations (by their recorded codes) are taken now.
    fiscal, email = await repository.codes_of(uow, user.id)
    await accept_invitations_on_login(
        uow, user.id, fiscal, email, actor_label=user.display_name, ip=browser.ip
    )
    new = await create_session(uow, user.id, browser, provider="dev")
    await _audit_person(uow, "login", user.display_name, user.id, browser.ip, {"provider": "dev"})
    return new


async def dev_users(uow: UnitOfWork) -> list[User]:
    """Everyone the development login offers."""
    return await repository.list_users(uow)


async def record_login_failure(
    uow: UnitOfWork, provider: str, reason: str, user_id: uuid.UUID | None, ip: str
) -> None:
    """Audit a refused login under the provider's name (the person may be unknown)."""
    detail = {"provider": provider, "reason": reason}
    await _audit_person(uow, "login_failed", provider, user_id, ip, detail)


async def accept_invitations_on_login(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    fiscal_number: str | None,
    email: str | None,
    *,
    actor_label: str,
    ip: str | None = None,
) -> list[tuple[uuid.UUID, str]]:
    """Grant the person's pending invitations at login and audit each new membership; one that
    would put them on both sides (the firm's and a tax office's roles) is refused and audited as
    such in the Comune that sent it. Returns the (Comune, role) granted."""
    taken = await repository.accept_invitations(uow, user_id, fiscal_number, email)
    for tenant_id, role, accepted in taken:
        await repository_audit.record(
            uow,
            "membership_added" if accepted else "invitation_refused",
            actor_label=actor_label,
            actor_user_id=user_id,
            tenant_id=tenant_id,
            ip=ip,
            detail={"user_id": str(user_id), "role": role, "via": "invitation"}
            if accepted
            else {"role": role, "reason": "other_side"},
        )
    return [(tenant_id, role) for tenant_id, role, accepted in taken if accepted]


# ---------------------------------------------------------------------------------------- forwarding


async def open_tenant(
    uow: UnitOfWork, cookie: str | None, policy: SessionPolicy, slug: str, *, ip: str, path: str, note: bool
) -> TenantAccess | None:
    """A session opening the Comune at `slug` (None: no live session). Opening a Comune not assigned
    is audited as denied; with `note`, the Comune is remembered and a move from another is audited."""
    signed = await signed_in(uow, cookie, policy)
    if signed is None:
        return None
    session = signed.session
    mine = [m for m in signed.memberships if m.slug == slug]
    if not mine:
        tenant = await repository.tenant_by_slug(uow, slug)
        await record_access_denied(
            uow, session.user_id, session.display_name, tenant.id if tenant else None, ip, path
        )
    elif note and session.last_tenant_id != mine[0].tenant_id:
        await _note_tenant(uow, session, mine[0].tenant_id, ip)
    return TenantAccess(session, signed.memberships, mine)


async def _note_tenant(uow: UnitOfWork, session: Session, tenant_id: uuid.UUID, ip: str) -> None:
    """Remember the Comune the session works on; entering it (the session's first Comune) and moving
    from one to another are audited under the Comune entered, so its register says who worked there."""
    await repository_sessions.set_last_tenant(uow, session.id_hash, tenant_id)
    first = session.last_tenant_id is None
    await repository_audit.record(
        uow,
        "tenant_enter" if first else "tenant_switch",
        actor_label=session.display_name,
        actor_user_id=session.user_id,
        tenant_id=tenant_id,
        ip=ip,
        detail={} if first else {"from": str(session.last_tenant_id)},
    )


async def record_access_denied(
    uow: UnitOfWork, user_id: uuid.UUID, label: str, tenant_id: uuid.UUID | None, ip: str, path: str
) -> None:
    """A signed-in person opened a Comune not assigned to them: audited under that Comune."""
    await repository_audit.record(
        uow,
        "access_denied",
        actor_label=label,
        actor_user_id=user_id,
        tenant_id=tenant_id,
        ip=ip,
        detail={"path": path},
    )


async def api_caller(uow: UnitOfWork, key: str) -> ApiCaller | None:
    """The Comune a valid API key belongs to; None for an unknown or revoked key."""
    found = await repository.find_api_key(uow, domain.hash_api_key(key))
    if found is None:
        return None
    key_id, tenant_id = found
    tenant = await repository.tenant_by_id(uow, tenant_id)
    return ApiCaller(key_id, tenant_id, tenant[0], tenant[1]) if tenant else None


async def count_hits(uow: UnitOfWork, buckets: Sequence[tuple[str, Limit]], purge: bool) -> Verdict:
    """Count one hit in each bucket: refused if any is over its own limit; `purge` drops old
    counters."""
    verdict = Verdict(True)
    for name, limit in buckets:
        hits, remaining = await repository_limits.hit_rate_limit(uow, name, limit.window_seconds)
        verdict = verdict.with_hit(limit, hits, remaining)
    if purge:
        await repository_limits.purge_rate_limits(uow, domain.PURGE_AFTER_SECONDS)
    return verdict


@dataclass(frozen=True)
class Purged:
    sessions: int
    pending_logins: int


async def purge_ended(uow: UnitOfWork, policy: SessionPolicy) -> Purged:
    """Delete the sessions that ended and the logins started and never completed."""
    sessions = await repository_sessions.purge_sessions(uow, policy)
    return Purged(sessions, await repository_sessions.purge_pending_logins(uow))


async def _audit_person(
    uow: UnitOfWork,
    action: str,
    label: str,
    user_id: uuid.UUID | None,
    ip: str | None,
    detail: dict[str, Any],
) -> None:
    await repository_audit.record(uow, action, actor_label=label, actor_user_id=user_id, ip=ip, detail=detail)
