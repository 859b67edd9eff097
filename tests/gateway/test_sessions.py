"""Server-side sessions: timeouts, logout everywhere, cookies, the stored hash, tenant switches."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from gateway import repository_audit as audit
from gateway.app import SESSION_COOKIE, Gateway
from gateway.proxy import AsgiUpstream
from gateway.sessions import SessionPolicy, SessionStore, digest
from services.platform import BUSINESS_SERVICES, Platform
from tests.gateway.helpers import client, make_gateway, make_person, make_tenant, sign_in
from tests.gateway.test_gateway import echo_app


async def _age(platform: Platform, cookie: str, **columns: timedelta) -> None:
    sets = ", ".join(f"{c} = now() - CAST(:{c} AS interval)" for c in columns)
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        await uow.execute(
            sa.text(f"UPDATE gateway.sessions SET {sets} WHERE id_hash = :h"),
            {"h": digest(cookie), **columns},
        )
        await uow.commit()


@pytest.mark.asyncio
async def test_idle_timeout(platform: Platform) -> None:
    person = await make_person(platform)
    store = SessionStore(platform.databases["gateway"], SessionPolicy())
    new = await store.create(person.id)
    await _age(platform, new.cookie, last_seen_at=timedelta(minutes=29))
    assert await store.load(new.cookie) is not None  # a request keeps it alive...
    await _age(platform, new.cookie, last_seen_at=timedelta(minutes=31))
    assert await store.load(new.cookie) is None  # ...30 minutes without one end it
    short = SessionStore(platform.databases["gateway"], SessionPolicy(idle=timedelta(minutes=5)))
    other = await short.create(person.id)
    await _age(platform, other.cookie, last_seen_at=timedelta(minutes=6))
    assert await short.load(other.cookie) is None


@pytest.mark.asyncio
async def test_absolute_timeout(platform: Platform) -> None:
    person = await make_person(platform)
    store = SessionStore(platform.databases["gateway"], SessionPolicy())
    new = await store.create(person.id)
    await _age(platform, new.cookie, created_at=timedelta(hours=11, minutes=59))
    assert await store.load(new.cookie) is not None
    await _age(platform, new.cookie, created_at=timedelta(hours=12, minutes=1))
    assert await store.load(new.cookie) is None  # even though it was used a moment ago


def test_timeouts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SessionPolicy.from_env() == SessionPolicy(timedelta(minutes=30), timedelta(hours=12))
    monkeypatch.setenv("RISCOSSA_SESSION_IDLE_MINUTES", "10")
    monkeypatch.setenv("RISCOSSA_SESSION_MAX_HOURS", "8")
    assert SessionPolicy.from_env() == SessionPolicy(timedelta(minutes=10), timedelta(hours=8))


@pytest.mark.asyncio
async def test_only_the_hash_of_the_session_id_is_stored(platform: Platform) -> None:
    person = await make_person(platform)
    new = await SessionStore(platform.databases["gateway"]).create(person.id)
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        rows = (
            await uow.execute(
                sa.text("SELECT id_hash FROM gateway.sessions WHERE user_id = :u"), {"u": person.id}
            )
        ).scalars()
        assert list(rows) == [digest(new.cookie)]


@pytest.mark.asyncio
async def test_logout_everywhere_ends_every_session_of_the_person(platform: Platform) -> None:
    tenant = await make_tenant(platform)
    person = await make_person(platform, {tenant.id: "comune_admin"})
    bystander = await make_person(platform, {tenant.id: "comune_viewer"})
    gw = make_gateway(platform, dict.fromkeys(BUSINESS_SERVICES, AsgiUpstream(echo_app(platform.signer))))
    async with client(gw) as laptop, client(gw) as phone, client(gw) as other:
        csrf = await sign_in(gw, laptop, person)
        await sign_in(gw, phone, person)
        await sign_in(gw, other, bystander)
        assert (await laptop.post("/logout/all", data={"csrf_token": "wrong"})).status_code == 403
        assert (await phone.get(f"/t/{tenant.slug}/reporting/x")).status_code == 200
        response = await laptop.post("/logout/all", data={"csrf_token": csrf})
        assert response.status_code == 303 and response.headers["location"] == "/login"
        for device in (laptop, phone):
            assert (await device.get(f"/t/{tenant.slug}/reporting/x")).status_code == 303
        assert (await other.get(f"/t/{tenant.slug}/reporting/x")).status_code == 200
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        entries = [e for e in await audit.all_entries(uow, limit=50) if e.actor_user_id == person.id]
    assert [(e.action, e.detail) for e in entries if e.action == "logout_everywhere"] == [
        ("logout_everywhere", {"sessions": 2})
    ]


@pytest.mark.asyncio
async def test_logout_needs_the_csrf_token_and_ends_only_this_session(platform: Platform) -> None:
    tenant = await make_tenant(platform)
    person = await make_person(platform, {tenant.id: "comune_admin"})
    gw = make_gateway(platform, dict.fromkeys(BUSINESS_SERVICES, AsgiUpstream(echo_app(platform.signer))))
    async with client(gw) as laptop, client(gw) as phone:
        csrf = await sign_in(gw, laptop, person)
        await sign_in(gw, phone, person)
        assert (await laptop.post("/logout")).status_code == 403
        assert (await laptop.post("/logout", headers={"x-csrf-token": csrf})).status_code == 303
        assert (await laptop.get(f"/t/{tenant.slug}/reporting/x")).status_code == 303
        assert (await phone.get(f"/t/{tenant.slug}/reporting/x")).status_code == 200


@pytest.mark.asyncio
async def test_tenant_switches_are_audited_under_the_new_comune(platform: Platform) -> None:
    a, b = await make_tenant(platform), await make_tenant(platform)
    operator = await make_person(platform, {a.id: "operator", b.id: "operator"})
    gw = make_gateway(platform, dict.fromkeys(BUSINESS_SERVICES, AsgiUpstream(echo_app(platform.signer))))
    async with client(gw, "10.1.2.3") as c:
        await sign_in(gw, c, operator)
        for slug in (a.slug, a.slug, b.slug, b.slug, a.slug):
            assert (await c.get(f"/t/{slug}/contact/x")).status_code == 200
    async with platform.databases["gateway"].unit_of_work(b.id) as uow:
        into_b = await audit.tenant_entries(uow, b.id)
    async with platform.databases["gateway"].unit_of_work(a.id) as uow:
        into_a = await audit.tenant_entries(uow, a.id)
    assert [(e.action, e.detail, e.ip) for e in into_b] == [
        ("tenant_switch", {"from": str(a.id)}, "10.1.2.3")
    ]
    # The session's first Comune: its entry is audited there too (newest first).
    assert [(e.action, e.detail) for e in into_a] == [
        ("tenant_switch", {"from": str(b.id)}),
        ("tenant_enter", {}),
    ]
    # The registers say it in words: the Comune's own names no other Comune, the platform's does.
    chief = await make_person(platform, {b.id: "comune_admin"})
    root = await make_person(platform, {a.id: "platform_admin"})
    async with client(gw) as c:
        await sign_in(gw, c, chief)
        theirs = (await c.get(f"/admin/comuni/{b.slug}/registro")).text
    async with client(gw) as c:
        await sign_in(gw, c, root)
        platforms = (await c.get("/admin/registro")).text
    assert "dal Comune: un altro Comune" in theirs and str(a.id) not in theirs
    assert f"dal Comune: {a.name}" in platforms and "from: " not in platforms


@pytest.mark.parametrize(
    ("base", "secure"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("https://riscossa.example", True),
        ("http://riscossa.example", True),
    ],
)
@pytest.mark.asyncio
async def test_session_cookie_flags(platform: Platform, base: str, secure: bool) -> None:
    person = await make_person(platform)
    settings = replace(platform.settings, mode="dev", dev_login=True, public_base_url=base)
    gw = Gateway(settings, platform.databases["gateway"], platform.signer, platform.storage, platform.bus, {})
    transport = httpx.ASGITransport(
        app=gw, client=(f"10.77.{secrets.randbelow(250)}.{secrets.randbelow(250)}", 1)
    )
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as c:
        page = await c.get("/login")
        token = c.cookies.get("riscossa_prelogin")
        response = await c.post("/login/dev", data={"user_id": str(person.id), "csrf_token": token})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert page.status_code == 200 and {"httponly", "samesite=lax"} <= flags
    assert ("secure" in flags) is secure
    assert await gw.sessions_store.load(response.cookies[SESSION_COOKIE]) is not None


@pytest.mark.asyncio
async def test_dev_login_is_not_routed_outside_dev(platform: Platform) -> None:
    person = await make_person(platform)
    settings = replace(platform.settings, mode="test", dev_login=False)
    gw = Gateway(settings, platform.databases["gateway"], platform.signer, platform.storage, platform.bus, {})
    async with client(gw) as c:
        await c.get("/login")
        token = c.cookies.get("riscossa_prelogin")
        response = await c.post("/login/dev", data={"user_id": str(person.id), "csrf_token": token})
    assert response.status_code == 404 and SESSION_COOKIE not in response.cookies
