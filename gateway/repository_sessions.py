"""Queries on sessions and on the OpenID Connect logins that precede them (both keyed by a SHA-256)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gateway.domain import PENDING_LOGIN_TTL, TOUCH_EVERY, SessionPolicy
from gateway.models import pending_logins, sessions, users
from services.kernel.db import UnitOfWork

UNSCOPED = {
    "find_session": "sessions belong to a person, who may work for several Comuni",
    "touch_session": "sessions belong to a person, who may work for several Comuni",
    "insert_session": "sessions belong to a person, who may work for several Comuni",
    "revoke_session": "sessions belong to a person, who may work for several Comuni",
    "revoke_user_sessions": "sessions belong to a person, who may work for several Comuni",
    "set_last_tenant": "records which Comune the person's session last opened",
    "insert_pending_login": "a login starts before any user or Comune is known",
    "take_pending_login": "a login completes before any user or Comune is known",
    "purge_sessions": "sessions belong to a person, who may work for several Comuni",
    "purge_pending_logins": "a login starts before any user or Comune is known",
}


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: uuid.UUID
    display_name: str
    csrf: str
    provider: str | None = None
    id_token: str | None = None
    last_tenant_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PendingLogin:
    provider: str
    browser_hash: str
    nonce: str
    code_verifier: str


def _find_session_statement() -> sa.Select[Any]:
    """The live session of a SHA-256, built once (it runs on every request). Reading it also sets
    `app.user_id` to its person for the rest of the transaction, as `repository.as_user` does, so
    the row-level security on their memberships applies to the next statement without another."""
    now = sa.func.now()
    return (
        sa.select(
            sessions,
            users.c.display_name,
            (sessions.c.last_seen_at < now - TOUCH_EVERY).label("stale"),
            sa.func.set_config("app.user_id", sa.cast(sessions.c.user_id, sa.Text), True).label("as_user"),
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(
            sessions.c.id_hash == sa.bindparam("id_hash"),
            sessions.c.revoked_at.is_(None),
            sessions.c.last_seen_at > now - sa.bindparam("idle", type_=sa.Interval),
            sessions.c.created_at > now - sa.bindparam("max_age", type_=sa.Interval),
        )
    )


FIND_SESSION = _find_session_statement()


async def find_session(uow: UnitOfWork, id_hash: str, policy: SessionPolicy) -> tuple[Session, bool] | None:
    """The live session and whether its last-seen time is stale enough to be refreshed; its person
    is then the transaction's `app.user_id`."""
    params = {"id_hash": id_hash, "idle": policy.idle, "max_age": policy.max_age}
    row = (await uow.execute(FIND_SESSION, params)).first()
    if row is None:
        return None
    session = Session(
        row.id_hash,
        row.user_id,
        row.display_name,
        row.csrf_token,
        row.provider,
        row.id_token,
        row.last_tenant_id,
    )
    return session, bool(row.stale)


async def touch_session(uow: UnitOfWork, id_hash: str) -> None:
    await uow.execute(
        sa.update(sessions).where(sessions.c.id_hash == id_hash).values(last_seen_at=sa.func.now())
    )


async def insert_session(
    uow: UnitOfWork, id_hash: str, user_id: uuid.UUID, csrf: str, **extra: str | None
) -> None:
    await uow.execute(sa.insert(sessions).values(id_hash=id_hash, user_id=user_id, csrf_token=csrf, **extra))


async def revoke_session(uow: UnitOfWork, id_hash: str) -> Session | None:
    """Revoke one session; returns it if it was live."""
    row = (
        await uow.execute(
            sa.update(sessions)
            .where(sessions.c.id_hash == id_hash, sessions.c.revoked_at.is_(None))
            .values(revoked_at=sa.func.now())
            .returning(sessions)
        )
    ).first()
    if row is None:
        return None
    return Session(
        row.id_hash, row.user_id, "", row.csrf_token, row.provider, row.id_token, row.last_tenant_id
    )


async def revoke_user_sessions(uow: UnitOfWork, user_id: uuid.UUID) -> int:
    result = await uow.execute(
        sa.update(sessions)
        .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
        .returning(sessions.c.id_hash)
    )
    return len(result.all())


async def set_last_tenant(uow: UnitOfWork, id_hash: str, tenant: uuid.UUID) -> None:
    await uow.execute(sa.update(sessions).where(sessions.c.id_hash == id_hash).values(last_tenant_id=tenant))


async def insert_pending_login(uow: UnitOfWork, state_hash: str, login: PendingLogin) -> None:
    await uow.execute(
        sa.delete(pending_logins).where(pending_logins.c.created_at < sa.func.now() - PENDING_LOGIN_TTL * 6)
    )
    await uow.execute(
        sa.insert(pending_logins).values(
            state_hash=state_hash,
            browser_hash=login.browser_hash,
            provider=login.provider,
            nonce=login.nonce,
            code_verifier=login.code_verifier,
        )
    )


async def take_pending_login(uow: UnitOfWork, state_hash: str) -> PendingLogin | None:
    """Consume the pending login with this state: a state is good for one callback only."""
    row = (
        await uow.execute(
            sa.delete(pending_logins)
            .where(pending_logins.c.state_hash == state_hash)
            .returning(
                pending_logins,
                (pending_logins.c.created_at > sa.func.now() - PENDING_LOGIN_TTL).label("fresh"),
            )
        )
    ).first()
    if row is None or not row.fresh:
        return None
    return PendingLogin(row.provider, row.browser_hash, row.nonce, row.code_verifier)


async def purge_sessions(uow: UnitOfWork, policy: SessionPolicy) -> int:
    """Delete the sessions that ended (logged out, idle longer than the policy allows, or past its
    maximum age): `find_session` no longer accepts any of them. Returns how many."""
    now = sa.func.now()
    result = await uow.execute(
        sa.delete(sessions)
        .where(
            sa.or_(
                sessions.c.revoked_at.is_not(None),
                sessions.c.last_seen_at <= now - policy.idle,
                sessions.c.created_at <= now - policy.max_age,
            )
        )
        .returning(sessions.c.id_hash)
    )
    return len(result.all())


async def purge_pending_logins(uow: UnitOfWork) -> int:
    """Delete the logins started and never completed within their lifetime. Returns how many."""
    result = await uow.execute(
        sa.delete(pending_logins)
        .where(pending_logins.c.created_at <= sa.func.now() - PENDING_LOGIN_TTL)
        .returning(pending_logins.c.state_hash)
    )
    return len(result.all())
