"""Rate limits on login attempts and API keys, counted in PostgreSQL so every gateway process shares them.

Limits are read from `RISCOSSA_LOGIN_RATE_LIMIT`, `RISCOSSA_LOGIN_ADDRESS_RATE_LIMIT` and
`RISCOSSA_API_RATE_LIMIT` as `<hits>/<seconds>` (defaults: 10 login attempts per 5 minutes per
account, 100 per client address: a Comune's office logs in from one address in the morning; 600 API
requests per minute per key). `RISCOSSA_PUBLIC_RATE_LIMIT` bounds the requests per client address to the
pages opened by a signed link (default 60 per minute).
"""

from __future__ import annotations

import functools
import os
import random
from dataclasses import dataclass

from gateway import handlers
from gateway.domain import Limit, Verdict, bucket
from services.kernel.db import Database

PURGE_PROBABILITY = 0.001
LOGIN_DEFAULT = Limit(10, 300)
LOGIN_ADDRESS_DEFAULT = Limit(100, 300)
API_DEFAULT = Limit(600, 60)
PUBLIC_DEFAULT = Limit(60, 60)


@dataclass(frozen=True)
class RateLimits:
    login: Limit = LOGIN_DEFAULT
    api: Limit = API_DEFAULT
    public: Limit = PUBLIC_DEFAULT
    login_address: Limit = LOGIN_ADDRESS_DEFAULT

    @classmethod
    def from_env(cls) -> RateLimits:
        return cls(
            login=Limit.parse(os.environ.get("RISCOSSA_LOGIN_RATE_LIMIT", ""), cls.login),
            api=Limit.parse(os.environ.get("RISCOSSA_API_RATE_LIMIT", ""), cls.api),
            public=Limit.parse(os.environ.get("RISCOSSA_PUBLIC_RATE_LIMIT", ""), cls.public),
            login_address=Limit.parse(
                os.environ.get("RISCOSSA_LOGIN_ADDRESS_RATE_LIMIT", ""), cls.login_address
            ),
        )


class RateLimiter:
    def __init__(self, db: Database, limits: RateLimits) -> None:
        self.db = db
        self.limits = limits

    async def hit(self, *buckets: tuple[str, Limit]) -> Verdict:
        """Count one hit in each bucket; refused if any bucket is over its limit."""
        purge = random.random() < PURGE_PROBABILITY
        work = functools.partial(handlers.count_hits, buckets=buckets, purge=purge)
        # Its own transaction, committed at once: a hit counts even when the attempt it limits fails.
        return await self.db.run(None, work)

    async def login_attempt(self, ip: str, account: str | None = None) -> Verdict:
        buckets = [(bucket("login-ip", ip), self.limits.login_address)]
        if account:
            buckets.append((bucket("login-account", account.strip().lower()), self.limits.login))
        return await self.hit(*buckets)

    async def api_request(self, key_id: str) -> Verdict:
        return await self.hit((bucket("api-key", key_id), self.limits.api))

    async def public_request(self, ip: str) -> Verdict:
        return await self.hit((bucket("public-ip", ip), self.limits.public))
