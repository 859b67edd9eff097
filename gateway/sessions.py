"""Server-side sessions in PostgreSQL, and the pending OpenID Connect logins that precede them.

The browser holds only a random id; the table holds its SHA-256, so a copy of the table yields no
usable cookie. A session ends after `RISCOSSA_SESSION_IDLE_MINUTES` (default 30) without requests,
after `RISCOSSA_SESSION_MAX_HOURS` (default 12) in any case, at logout, or when its user logs out
everywhere. Pages and the forwarding open, load and end sessions through `handlers`, in their own
unit of work; this store is for callers outside a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid

from gateway import handlers
from gateway.domain import SessionPolicy, digest
from gateway.handlers import Browser, NewSession, Purged
from gateway.repository_sessions import Session
from services.kernel.db import Database

__all__ = ["SessionPolicy", "SessionStore", "digest"]
log = logging.getLogger(__name__)
# How often the gateway process deletes ended sessions and abandoned logins.
PURGE_EVERY_SECONDS = 600.0


class SessionStore:
    """Sessions for callers outside a request (commands, tests): each call is its own transaction."""

    def __init__(self, db: Database, policy: SessionPolicy | None = None) -> None:
        self.db = db
        self.policy = policy or SessionPolicy.from_env()

    async def create(self, user_id: uuid.UUID) -> NewSession:
        """A new session for the user, as if they had just logged in."""
        return await self.db.run(
            None, functools.partial(handlers.create_session, user_id=user_id, browser=Browser())
        )

    async def load(self, cookie: str | None) -> Session | None:
        """The live session of this cookie (refreshing its last-seen time)."""
        return await self.db.run(
            None, functools.partial(handlers.load_session, cookie=cookie, policy=self.policy)
        )

    async def purge(self) -> Purged:
        """Delete the sessions that ended and the logins never completed, in one transaction."""
        return await self.db.run(None, functools.partial(handlers.purge_ended, policy=self.policy))

    async def purge_periodically(
        self, stop: asyncio.Event, every_seconds: float = PURGE_EVERY_SECONDS
    ) -> None:
        """`purge` now and every `every_seconds` until `stop` (what the gateway process runs); a
        failure is logged and tried again at the next round."""
        while not stop.is_set():
            try:
                purged = await self.purge()
                fields = {"sessions": purged.sessions, "pending_logins": purged.pending_logins}
                log.info("ended sessions purged", extra={"fields": fields})
            except Exception:
                log.warning("purging ended sessions failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)
