"""The audit log: denied accesses are recorded, and browsing is per role with paging."""

from __future__ import annotations

import re

import pytest

from gateway import repository_audit as audit
from gateway.proxy import AsgiUpstream
from services.platform import BUSINESS_SERVICES, Platform
from tests.gateway.helpers import client, make_gateway, make_person, make_tenant, sign_in
from tests.gateway.test_gateway import echo_app


@pytest.mark.asyncio
async def test_opening_a_foreign_tenant_is_denied_and_audited(platform: Platform) -> None:
    a, b = await make_tenant(platform), await make_tenant(platform)
    operator = await make_person(platform, {a.id: "operator"})
    gw = make_gateway(platform, dict.fromkeys(BUSINESS_SERVICES, AsgiUpstream(echo_app(platform.signer))))
    async with client(gw, "10.20.30.40") as c:
        await sign_in(gw, c, operator)
        assert (await c.get(f"/t/{a.slug}/contact/")).status_code == 200
        assert (await c.get(f"/t/{b.slug}/contact/")).status_code == 404
    async with platform.databases["gateway"].unit_of_work(b.id) as uow:
        entries = await audit.tenant_entries(uow, b.id)
    assert [(e.action, e.actor_user_id, e.ip, e.detail) for e in entries] == [
        ("access_denied", operator.id, "10.20.30.40", {"path": f"/t/{b.slug}/contact/"})
    ]
    async with platform.databases["gateway"].unit_of_work(a.id) as uow:
        entered = await audit.tenant_entries(uow, a.id)
    # Their own Comune records them entering it, nothing else.
    assert [(e.action, e.actor_user_id, e.ip) for e in entered] == [
        ("tenant_enter", operator.id, "10.20.30.40")
    ]


async def _fill(platform: Platform, tenant_id, count: int, label: str) -> None:  # type: ignore[no-untyped-def]
    async with platform.databases["gateway"].unit_of_work(tenant_id) as uow:
        for n in range(count):
            await audit.record(uow, "tenant_switch", actor_label=f"{label} {n:03d}", tenant_id=tenant_id)
        await uow.commit()


@pytest.mark.asyncio
async def test_comune_admins_browse_their_tenant_and_platform_admins_all(platform: Platform) -> None:
    a, b = await make_tenant(platform), await make_tenant(platform)
    chief = await make_person(platform, {a.id: "comune_admin"})
    root = await make_person(platform, {b.id: "platform_admin"})
    await _fill(platform, a.id, 60, "Voce A")
    await _fill(platform, b.id, 2, "Voce B")
    gw = make_gateway(platform)
    async with client(gw) as c:
        await sign_in(gw, c, chief)
        first = await c.get(f"/admin/comuni/{a.slug}/registro")
        assert first.status_code == 200
        shown = re.findall(r"Voce A (\d{3})", first.text)
        assert shown == [f"{n:03d}" for n in range(59, 9, -1)] and "Voce B" not in first.text
        older = re.search(r'href="\?prima_di=(\d+)"', first.text)
        assert older
        second = await c.get(f"/admin/comuni/{a.slug}/registro?prima_di={older.group(1)}")
        assert re.findall(r"Voce A (\d{3})", second.text) == [f"{n:03d}" for n in range(9, -1, -1)]
        assert "prima_di=" not in second.text and "Cambio Comune" in second.text
        assert (await c.get(f"/admin/comuni/{b.slug}/registro")).status_code == 404
        assert (await c.get("/admin/registro")).status_code == 403
    async with client(gw) as c:
        await sign_in(gw, c, root)
        everything = await c.get("/admin/registro")
        assert everything.status_code == 200
        newest = re.findall(r"Voce ([AB] \d{3})", everything.text)
        assert newest == ["B 001", "B 000"] + [
            f"A {n:03d}" for n in range(59, 12, -1)
        ]  # + the denied access above
        assert a.name in everything.text and b.name in everything.text
        assert (await c.get(f"/admin/comuni/{a.slug}/registro")).status_code == 200
