from __future__ import annotations

import uuid

import pytest

from services.contact.consumers import queue_builder
from services.contracts import PositionsRegistered
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.messaging import inbox_handler
from services.platform import Platform
from tests.contact.helpers import debtor, fact, registered, scalar


async def deliver(platform: Platform, env: Envelope) -> None:
    handle = inbox_handler(platform.databases["contact"], queue_builder)
    await handle(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))


def test_queue_builder_listens_to_positions_registered() -> None:
    assert queue_builder.name == "contact.queue_builder"
    assert set(queue_builder.handlers) == {PositionsRegistered.routing_key()}


@pytest.mark.asyncio
async def test_same_envelope_twice_has_one_effect(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    env = registered(tenant.tenant_id, fact(d, 12_345), fact(d, 55))
    await deliver(platform, env)
    await deliver(platform, env)
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.total_due_cents, row.positions_count, row.tenant_id) == (12_400, 2, tenant.tenant_id)
    claimed = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM contact.inbox WHERE message_id = :m",
        m=env.message_id,
    )
    assert claimed == 1


@pytest.mark.asyncio
async def test_repeated_position_in_new_message_is_not_double_counted(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    shared = fact(d, 1_000)
    await deliver(platform, registered(tenant.tenant_id, shared))
    await deliver(platform, registered(tenant.tenant_id, shared, fact(d, 1)))
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.total_due_cents, row.positions_count) == (1_001, 2)


@pytest.mark.asyncio
async def test_events_land_in_their_own_tenant(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await deliver(platform, registered(tenant.tenant_id, fact(d, 500)))
    assert await debtor(platform, other_tenant.tenant_id, d) is None
    assert await debtor(platform, tenant.tenant_id, d) is not None
