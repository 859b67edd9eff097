from __future__ import annotations

import pytest

from services.contracts import CaseAnswered, LimitationInterrupted, PositionsRegistered
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.messaging import inbox_handler
from services.payments.consumers import balances
from services.platform import Platform
from tests.payments.helpers import fact, position, registered, scalar


async def deliver(platform: Platform, env: Envelope) -> None:
    handle = inbox_handler(platform.databases["payments"], balances)
    await handle(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))


def test_balances_listens_to_positions_registered() -> None:
    assert balances.name == "payments.balances"
    assert set(balances.handlers) == {
        PositionsRegistered.routing_key(),
        CaseAnswered.routing_key(),
        LimitationInterrupted.routing_key(),
    }


@pytest.mark.asyncio
async def test_same_envelope_twice_has_one_effect(platform: Platform, tenant: Identity) -> None:
    a, b = fact(1_500), fact(2_500)
    env = registered(tenant.tenant_id, a, b)
    await deliver(platform, env)
    await deliver(platform, env)
    count = await scalar(platform, tenant.tenant_id, "SELECT count(*) FROM payments.positions")
    total = await scalar(platform, tenant.tenant_id, "SELECT sum(amount_cents) FROM payments.positions")
    claimed = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM payments.inbox WHERE message_id = :m",
        m=env.message_id,
    )
    assert (count, total, claimed) == (2, 4_000, 1)


@pytest.mark.asyncio
async def test_position_repeated_in_another_message_keeps_its_balance(
    platform: Platform, tenant: Identity
) -> None:
    a = fact(1_500)
    await deliver(platform, registered(tenant.tenant_id, a))
    await deliver(platform, registered(tenant.tenant_id, a))
    row = await position(platform, tenant.tenant_id, a.position_id)
    assert row is not None
    assert (row.amount_cents, row.paid_cents, row.tenant_id) == (1_500, 0, tenant.tenant_id)
    count = await scalar(platform, tenant.tenant_id, "SELECT count(*) FROM payments.positions")
    assert count == 1


@pytest.mark.asyncio
async def test_events_land_in_their_own_tenant(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    a = fact(700)
    await deliver(platform, registered(tenant.tenant_id, a))
    assert await position(platform, other_tenant.tenant_id, a.position_id) is None
