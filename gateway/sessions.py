"""Server-side sessions in PostgreSQL, and the pending OpenID Connect logins that precede them.

The browser holds only a random id; the table holds its SHA-256, so a copy of the table yields no
usable cookie. A session ends after `RISCOSSA_SESSION_IDLE_MINUTES` (default 30) without requests,
after `RISCOSSA_SESSION_MAX_HOURS` (default 12) in any case, at logout, or when its user logs out
everywhere.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from gateway.models import metadata, users
from services.kernel.db import Database, UnitOfWork

TOUCH_EVERY = timedelta(seconds=60)
PENDING_LOGIN_TTL = timedelta(minutes=10)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),
    sa.Column("provider", sa.Text),
    sa.Column("id_token", sa.Text),
    sa.Column("acr", sa.Text),
    sa.Column("ip", sa.Text),
    sa.Column("user_agent", sa.Text),
    sa.Column("last_tenant_id", sa.Uuid),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

pending_logins = sa.Table(
    "pending_logins",
    metadata,
    sa.Column("state_hash", sa.Text, primary_key=True),
    sa.Column("browser_hash", sa.Text, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("nonce", sa.Text, nullable=False),
    sa.Column("code_verifier", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

UNSCOPED = {
    "find_session": "sessions belong to a person, who may work for several Comuni",
    "touch_session": "sessions belong to a person, who may work for several Comuni",
    "insert_session": "sessions belong to a person, who may work for several Comuni",
    "revoke_session": "sessions belong to a person, who may work for several Comuni",
    "revoke_user_sessions": "sessions belong to a person, who may work for several Comuni",
    "set_last_tenant": "records which Comune the person's session last opened",
    "insert_pending_login": "a login starts before any user or Comune is known",
    "take_pending_login": "a login completes before any user or Comune is known",
}


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)

    @classmethod
    def from_env(cls) -> SessionPolicy:
        idle = os.environ.get("RISCOSSA_SESSION_IDLE_MINUTES", "")
        max_age = os.environ.get("RISCOSSA_SESSION_MAX_HOURS", "")
        policy = cls(
            idle=timedelta(minutes=float(idle)) if idle else cls.idle,
            max_age=timedelta(hours=float(max_age)) if max_age else cls.max_age,
        )
        if policy.idle <= timedelta(0) or policy.max_age <= timedelta(0):
            raise ValueError("session timeouts must be positive")
        return policy


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
class NewSession:
    cookie: str  # the session id, given only to the browser
    csrf: str


@dataclass(frozen=True)
class PendingLogin:
    provider: str
    browser_hash: str
    nonce: str
    code_verifier: str


# ------------------------------------------------------------------------------------------ queries


async def find_session(uow: UnitOfWork, id_hash: str, policy: SessionPolicy) -> tuple[Session, bool] | None:
    """The live session and whether its last-seen time is stale enough to be refreshed."""
    now = sa.func.now()
    row = (
        await uow.execute(
            sa.select(
                sessions, users.c.display_name, (sessions.c.last_seen_at < now - TOUCH_EVERY).label("stale")
            )
            .join(users, users.c.id == sessions.c.user_id)
            .where(
                sessions.c.id_hash == id_hash,
                sessions.c.revoked_at.is_(None),
                sessions.c.last_seen_at > now - policy.idle,
                sessions.c.created_at > now - policy.max_age,
            )
        )
    ).first()
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


# -------------------------------------------------------------------------------------------- store


class SessionStore:
    def __init__(self, db: Database, policy: SessionPolicy | None = None) -> None:
        self.db = db
        self.policy = policy or SessionPolicy.from_env()

    async def create(
        self,
        user_id: uuid.UUID,
        *,
        provider: str | None = None,
        id_token: str | None = None,
        acr: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        replaces: str | None = None,
    ) -> NewSession:
        """A new session id for the user; the session the browser held before (if any) ends."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        async with self.db.unit_of_work(None) as uow:
            if replaces:
                await revoke_session(uow, digest(replaces))
            await insert_session(
                uow,
                digest(cookie),
                user_id,
                csrf,
                provider=provider,
                id_token=id_token,
                acr=acr,
                ip=ip,
                user_agent=(user_agent or "")[:300] or None,
            )
            await uow.commit()
        return NewSession(cookie, csrf)

    async def load(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        id_hash = digest(cookie)
        async with self.db.unit_of_work(None) as uow:
            found = await find_session(uow, id_hash, self.policy)
            if found is None:
                return None
            session, stale = found
            if stale:
                await touch_session(uow, id_hash)
                await uow.commit()
        return session

    async def revoke(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        async with self.db.unit_of_work(None) as uow:
            session = await revoke_session(uow, digest(cookie))
            await uow.commit()
        return session

    async def revoke_all(self, user_id: uuid.UUID) -> int:
        async with self.db.unit_of_work(None) as uow:
            count = await revoke_user_sessions(uow, user_id)
            await uow.commit()
        return count

    async def set_last_tenant(self, session: Session, tenant_id: uuid.UUID) -> None:
        async with self.db.unit_of_work(None) as uow:
            await set_last_tenant(uow, session.id_hash, tenant_id)
            await uow.commit()

    async def start_login(self, provider: str, browser: str, nonce: str, code_verifier: str) -> str:
        """Record a login being started; returns its state."""
        state = secrets.token_urlsafe(32)
        async with self.db.unit_of_work(None) as uow:
            await insert_pending_login(
                uow, digest(state), PendingLogin(provider, digest(browser), nonce, code_verifier)
            )
            await uow.commit()
        return state

    async def take_login(self, state: str, browser: str, provider: str) -> PendingLogin | None:
        """The pending login for this state if this browser started it with this provider."""
        if not state:
            return None
        async with self.db.unit_of_work(None) as uow:
            login = await take_pending_login(uow, digest(state))
            await uow.commit()
        if login is None or login.provider != provider:
            return None
        if not browser or not secrets.compare_digest(login.browser_hash, digest(browser)):
            return None
        return login
