"""What was published on GPD is invalidated there when it no longer stands: a position put in a
plan, a plan extended or lapsed. Against the local GPD server written from pagoPA's OpenAPI; the
events are delivered to the `payments.gpd` consumer through its inbox, as the worker does."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from services.contracts import PlanCreated, PlanLapsed
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.messaging import inbox_handler
from services.payments import consumers
from services.payments.gpd_client import GpdUnavailable
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.gpd_server import GpdServer
from tests.payments.test_gpd_api import ORG, call, comune, gpd, noticed, plan_with_options

__all__ = ["gpd"]


async def deliver(platform: Platform, envelope: Envelope) -> None:
    handle = inbox_handler(platform.databases["payments"], consumers.gpd)
    await handle(IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id)))


async def sent(platform: Platform, who: Identity, routing_key: str) -> list[Envelope]:
    sql = "SELECT body FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k ORDER BY id"
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        bodies = (await uow.execute(sa.text(sql), {"t": who.tenant_id, "k": routing_key})).scalars()
        return [Envelope.decode(b) for b in bodies]


async def handed(platform: Platform, who: Identity) -> dict[str, tuple[str, Any]]:
    sql = "SELECT iupd, status, note FROM payments.gpd_positions WHERE tenant_id = :t"
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        return {r.iupd: (r.status, r.note) for r in await uow.execute(sa.text(sql), {"t": who.tenant_id})}


def lapsed(who: Identity, plan_id: str) -> Envelope:
    event = PlanLapsed(plan_id, str(uuid.uuid4()), (), "TARI", 30_000, "2026-11-29")
    return event.envelope(who.tenant_id)


@pytest.mark.asyncio
async def test_a_published_position_put_in_a_plan_is_invalidated_on_gpd(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    (position_id,) = await noticed(platform, tenant, 50_000)
    body = {"position_ids": [position_id]}
    assert (await call(platform, tenant, "POST", "/api/v1/payments/gpd/publish", json=body))[0] == 201
    iupd = f"{ORG}-{position_id}"
    assert await handed(platform, tenant) == {iupd: ("published", None)}
    status, plan = await call(
        platform, tenant, "POST", "/api/v1/payments/plans", json={**body, "installments": 3}
    )
    assert status == 201, plan
    (created,) = await sent(platform, tenant, PlanCreated.routing_key())
    await deliver(platform, created)
    assert gpd.positions[(ORG, iupd)]["status"] == "INVALID"
    assert await handed(platform, tenant) == {
        iupd: ("invalidated", "posizione inserita in un piano di rateizzazione")
    }
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")).text
    assert f"<code>{iupd}</code>): pubblicata il" in page
    assert "annullata su pagoPA il" in page and "(posizione inserita in un piano di rateizzazione)" in page
    await deliver(platform, created)  # delivered again: handled once
    assert [r for r in gpd.requests if r[1].endswith("/invalidate")] == [
        ("POST", f"/organizations/{ORG}/debtpositions/{iupd}/invalidate")
    ]


@pytest.mark.asyncio
async def test_a_lapsed_plan_is_invalidated_and_a_refusal_is_kept_with_pagopas_reason(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    plan_id, _ = await plan_with_options(platform, tenant)
    body = {"plan_id": plan_id}
    assert (await call(platform, tenant, "POST", "/api/v1/payments/gpd/publish", json=body))[0] == 201
    iupd = f"{ORG}-{plan_id}"
    gpd.positions[(ORG, iupd)]["status"] = "PAID"  # paid on pagoPA meanwhile: it cannot be invalidated
    await deliver(platform, lapsed(tenant, plan_id))
    status, note = (await handed(platform, tenant))[iupd]
    assert status == "refused" and note.startswith("piano decaduto")
    assert f"Lo stato della posizione debitoria {iupd} su pagoPA non consente di annullarla" in note


@pytest.mark.asyncio
async def test_when_pagopa_is_down_the_event_is_retried_and_nothing_changes(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    plan_id, _ = await plan_with_options(platform, tenant)
    assert (await call(platform, tenant, "POST", "/api/v1/payments/gpd/publish", json={"plan_id": plan_id}))[
        0
    ] == 201
    iupd = f"{ORG}-{plan_id}"
    await comune(platform, tenant, "http://127.0.0.1:9")  # nothing listens there
    event = lapsed(tenant, plan_id)
    with pytest.raises(GpdUnavailable):
        await deliver(platform, event)
    assert await handed(platform, tenant) == {iupd: ("published", None)}
    await comune(platform, tenant, gpd.url)
    await deliver(platform, event)  # the retry
    assert gpd.positions[(ORG, iupd)]["status"] == "INVALID"
    assert (await handed(platform, tenant))[iupd][0] == "invalidated"
