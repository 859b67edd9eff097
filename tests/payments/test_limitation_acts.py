"""Payments keeps the Comune's interrupting acts (`reporting.limitation_interrupted`): a position the
limitation had barred gets a plan and a notice again once an act served in time is recorded, and
is refused again once the act is taken back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.contracts import LimitationInterrupted
from services.kernel.bus import IncomingMessage
from services.kernel.errors import Conflict
from services.kernel.identity import Identity
from services.kernel.limitation import barred_from
from services.kernel.messaging import inbox_handler
from services.payments import handlers_plans
from services.payments.consumers import balances
from services.payments.seed import seed_creditors
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import seed
from tests.payments.test_time_barred import TODAY, plan_of, run
from tests.support import make_identity, position_fact

ROME = ZoneInfo("Europe/Rome")


async def _deliver(platform: Platform, tenant: Identity, event: LimitationInterrupted) -> None:
    env = event.envelope(tenant.tenant_id, "test")
    handle = inbox_handler(platform.databases["payments"], balances)
    await handle(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))


@pytest.mark.asyncio
async def test_an_interrupting_act_makes_a_barred_position_collectable_again(
    platform: Platform, tenant: Identity
) -> None:
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    old = position_fact(80_000, debtor_id=str(uuid.uuid4()), credit=("TARI", 2018, "ACT"))
    await seed(platform, tenant.tenant_id, old)
    act = LimitationInterrupted(
        str(uuid.uuid4()), old.debtor_id, (old.position_id,), "2023-09-15", "sollecito"
    )
    await _deliver(platform, tenant, act)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, ("operator",))
    async with service_client(platform, "payments", operator) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{old.position_id}")).text
    assert "position-barred" not in page and "payments/plans/builder" in page
    plan = await run(
        platform, tenant, lambda uow: handlers_plans.create_plan(uow, tenant, plan_of(old.position_id), TODAY)
    )
    assert plan.amount_cents == 80_000
    # Another barred position: the act recorded then taken back leaves it barred since 1 January 2024.
    other = position_fact(50_000, debtor_id=old.debtor_id, credit=("IMU", 2018, "BACK"))
    await seed(platform, tenant.tenant_id, other)
    second = LimitationInterrupted(
        str(uuid.uuid4()), old.debtor_id, (other.position_id,), "2023-09-15", "altro"
    )
    await _deliver(platform, tenant, second)
    gone = LimitationInterrupted(
        second.act_id, old.debtor_id, second.position_ids, "2023-09-15", "altro", True
    )
    await _deliver(platform, tenant, gone)
    with pytest.raises(Conflict) as refused:
        await run(
            platform,
            tenant,
            lambda uow: handlers_plans.create_plan(uow, tenant, plan_of(other.position_id), TODAY),
        )
    assert "è prescritta dal 01/01/2024" in refused.value.message


@pytest.mark.asyncio
async def test_the_builder_warns_when_the_first_installment_would_come_after_the_limitation(
    platform: Platform, tenant: Identity
) -> None:
    """A position that runs out in three weeks: the default first installment (the end of next
    month) would be paid too late to interrupt it; the builder says by when to set it."""
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    today = datetime.now(ROME).date()
    act_on = today.replace(year=today.year - 5, day=min(today.day, 28)) + timedelta(days=20)
    near = position_fact(
        90_000, debtor_id=str(uuid.uuid4()), credit=("IMU", act_on.year, "NEAR"), act_on=act_on.isoformat()
    )
    await seed(platform, tenant.tenant_id, near)
    barred_on = barred_from(act_on.year, [], act_on)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, ("operator",))
    url = f"/t/{tenant.tenant_slug}/payments/plans/builder"
    async with service_client(platform, "payments", operator) as http:
        default = (await http.get(url, params={"position_id": near.position_id})).text
        simulated = await http.post(
            "/api/v1/payments/plans/simulate", json={"position_ids": [near.position_id], "installments": 6}
        )
    assert 'data-testid="first-due-after-barring"' in default
    assert 'aria-describedby="first_due-prescrizione"' in default  # read out with the date field
    assert f"Una posizione si prescrive dal {barred_on:%d/%m/%Y}" in default
    eve = barred_on - timedelta(days=1)
    latest = eve if (eve + timedelta(days=1)).day == 1 else eve.replace(day=1) - timedelta(days=1)
    assert f"Fissa la prima scadenza entro il {latest:%d/%m/%Y}" in default
    assert simulated.json()["barred_on"] == barred_on.isoformat()
