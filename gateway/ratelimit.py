"""Rate limits on login attempts and API keys, counted in PostgreSQL so every gateway process shares them.

Limits are read from `RISCOSSA_LOGIN_RATE_LIMIT` and `RISCOSSA_API_RATE_LIMIT` as `<hits>/<seconds>`
(defaults: 10 login attempts per 5 minutes per client address and per account, 600 API requests per
minute per key).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from gateway import repository
from services.kernel.db import Database
from services.kernel.web import render_error

PURGE_AFTER_SECONDS = 24 * 3600
PURGE_PROBABILITY = 0.001


@dataclass(frozen=True)
class Limit:
    hits: int
    window_seconds: float

    @classmethod
    def parse(cls, raw: str, default: Limit) -> Limit:
        if not raw:
            return default
        hits, _, seconds = raw.partition("/")
        limit = cls(int(hits), float(seconds))
        if limit.hits < 1 or limit.window_seconds <= 0:
            raise ValueError(f"rate limit {raw!r}: expected <hits>/<seconds>, both positive")
        return limit


@dataclass(frozen=True)
class RateLimits:
    login: Limit = Limit(10, 300)
    api: Limit = Limit(600, 60)

    @classmethod
    def from_env(cls) -> RateLimits:
        return cls(
            login=Limit.parse(os.environ.get("RISCOSSA_LOGIN_RATE_LIMIT", ""), cls.login),
            api=Limit.parse(os.environ.get("RISCOSSA_API_RATE_LIMIT", ""), cls.api),
        )


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def bucket(kind: str, value: str) -> str:
    # Hashed so the table never holds addresses, fiscal numbers or key ids in clear.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


class RateLimiter:
    def __init__(self, db: Database, limits: RateLimits) -> None:
        self.db = db
        self.limits = limits

    async def hit(self, limit: Limit, *buckets: str) -> Verdict:
        """Count one hit in each bucket; refused if any bucket is over its limit."""
        worst = Verdict(True)
        async with self.db.unit_of_work(None) as uow:
            for name in buckets:
                hits, remaining = await repository.hit_rate_limit(uow, name, limit.window_seconds)
                if hits > limit.hits:
                    wait = max(1, math.ceil(remaining))
                    worst = Verdict(False, max(wait, worst.retry_after))
            if random.random() < PURGE_PROBABILITY:
                await repository.purge_rate_limits(uow, PURGE_AFTER_SECONDS)
            await uow.commit()
        return worst

    async def login_attempt(self, ip: str, account: str | None = None) -> Verdict:
        buckets = [bucket("login-ip", ip)]
        if account:
            buckets.append(bucket("login-account", account.strip().lower()))
        return await self.hit(self.limits.login, *buckets)

    async def api_request(self, key_id: str) -> Verdict:
        return await self.hit(self.limits.api, bucket("api-key", key_id))


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many(request: Request, verdict: Verdict) -> Response:
    """429 with Retry-After, as an HTML page, HTMX fragment or JSON like every other error."""
    response = render_error(request, 429, f"Troppi tentativi: riprova tra {verdict.retry_after} secondi.")
    response.headers["retry-after"] = str(verdict.retry_after)
    return response
