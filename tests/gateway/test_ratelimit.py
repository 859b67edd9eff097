"""Rate limits on login attempts and API keys: shared counters in PostgreSQL, 429 with Retry-After."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from gateway import repository_limits
from gateway.app import PRELOGIN_COOKIE
from gateway.proxy import AsgiUpstream
from gateway.ratelimit import Limit, RateLimits, bucket
from gateway.seed import issue_dev_api_key
from services.platform import BUSINESS_SERVICES, Platform
from tests.gateway.helpers import client, make_gateway, make_tenant
from tests.gateway.test_gateway import echo_app


def test_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert RateLimits.from_env() == RateLimits(Limit(10, 300), Limit(600, 60), login_address=Limit(100, 300))
    monkeypatch.setenv("RISCOSSA_LOGIN_RATE_LIMIT", "5/60")
    monkeypatch.setenv("RISCOSSA_API_RATE_LIMIT", "100/1.5")
    monkeypatch.setenv("RISCOSSA_LOGIN_ADDRESS_RATE_LIMIT", "50/60")
    assert RateLimits.from_env() == RateLimits(Limit(5, 60), Limit(100, 1.5), login_address=Limit(50, 60))
    monkeypatch.setenv("RISCOSSA_API_RATE_LIMIT", "0/60")
    with pytest.raises(ValueError, match="both positive"):
        RateLimits.from_env()


def test_buckets_never_hold_the_clear_value() -> None:
    name = bucket("login-account", "RSSMRA85T10A562S")
    assert name.startswith("login-account:") and "RSSMRA" not in name
    assert name == bucket("login-account", "RSSMRA85T10A562S") != bucket("login-ip", "RSSMRA85T10A562S")


@pytest.mark.asyncio
async def test_the_counter_is_atomic_and_resets_after_the_window(platform: Platform) -> None:
    db = platform.databases["gateway"]
    name = bucket("test", uuid.uuid4().hex)

    async def hit() -> tuple[int, float]:
        async with db.unit_of_work(None) as uow:
            result = await repository_limits.hit_rate_limit(uow, name, 1.0)
            await uow.commit()
            return result

    results = await asyncio.gather(*(hit() for _ in range(20)))
    assert sorted(h for h, _ in results) == list(range(1, 21))  # no hit lost to a race
    assert all(0 < remaining <= 1.0 for _, remaining in results)
    await asyncio.sleep(1.1)
    assert (await hit())[0] == 1
    async with db.unit_of_work(None) as uow:
        await repository_limits.purge_rate_limits(uow, 0)
        await uow.commit()
    assert (await hit())[0] == 1


async def _dev_login(c, user_id: str) -> int:  # type: ignore[no-untyped-def]
    await c.get("/login")
    csrf = c.cookies.get(PRELOGIN_COOKIE)
    assert csrf
    response = await c.post("/login/dev", data={"user_id": user_id, "csrf_token": csrf})
    if response.status_code == 429:
        assert "Troppi tentativi" in response.text
        assert 1 <= int(response.headers["retry-after"]) <= 2
    return int(response.status_code)


@pytest.mark.asyncio
async def test_login_attempts_are_limited_per_address_and_per_account(platform: Platform) -> None:
    gw = make_gateway(platform)
    # An office logs in from one address: it may try more than one person may.
    gw.rate_limiter.limits = RateLimits(login=Limit(3, 1.5), login_address=Limit(5, 1.5))
    ip, other_ip = f"10.9.{uuid.uuid4().int % 250}.1", f"10.8.{uuid.uuid4().int % 250}.2"
    async with client(gw, ip) as c:
        per_address = [await _dev_login(c, str(uuid.uuid4())) for _ in range(6)]
        assert per_address == [400, 400, 400, 400, 400, 429]
    account, per_account = str(uuid.uuid4()), []
    for n in range(4):
        async with client(gw, f"10.7.{n}.{uuid.uuid4().int % 250}") as c:
            per_account.append(await _dev_login(c, account))
    assert per_account == [400, 400, 400, 429]  # one account, from four addresses
    async with client(gw, other_ip) as c:
        assert await _dev_login(c, str(uuid.uuid4())) == 400
    await asyncio.sleep(1.6)
    async with client(gw, ip) as c:
        assert await _dev_login(c, str(uuid.uuid4())) == 400  # the window has passed


@pytest.mark.asyncio
async def test_api_keys_are_limited_with_retry_after(platform: Platform) -> None:
    tenant = await make_tenant(platform)
    other = await make_tenant(platform)
    key = await issue_dev_api_key(platform.databases["gateway"], tenant.id)
    other_key = await issue_dev_api_key(platform.databases["gateway"], other.id)
    gw = make_gateway(platform, dict.fromkeys(BUSINESS_SERVICES, AsgiUpstream(echo_app(platform.signer))))
    gw.rate_limiter.limits = RateLimits(api=Limit(5, 1.5))
    async with client(gw) as c:
        statuses = [
            (await c.get("/api/v1/ingest/batches/1", headers={"x-api-key": key})).status_code
            for _ in range(5)
        ]
        assert statuses == [200] * 5
        refused = await c.get("/api/v1/ingest/batches/1", headers={"x-api-key": key})
        assert refused.status_code == 429 and "Troppi tentativi" in refused.json()["error"]
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        assert (await c.get("/api/v1/ingest/batches/1", headers={"x-api-key": other_key})).status_code == 200
        await asyncio.sleep(1.6)
        assert (await c.get("/api/v1/ingest/batches/1", headers={"x-api-key": key})).status_code == 200
