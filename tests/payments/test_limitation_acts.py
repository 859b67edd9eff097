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
from services.payments.domain_schedule import month_end
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
async def test_the_builder_brings_the_first_installment_before_the_limitation_or_warns(
    platform: Platform, tenant: Identity
) -> None:
    """A position that runs out on the default first due day (the end of next month): its payment
    would come too late to interrupt it. Untouched, the builder brings the first installment to
    the end of this month (when that is still ahead); a date the operator types is kept, warned."""
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    today = datetime.now(ROME).date()
    barred_on = month_end(today, 1)
    act_on = barred_on.replace(day=1, year=barred_on.year - 5)
    while barred_from(act_on.year, [], act_on) < barred_on:
        act_on += timedelta(days=1)
    assert barred_from(act_on.year, [], act_on) == barred_on
    near = position_fact(
        90_000, debtor_id=str(uuid.uuid4()), credit=("IMU", act_on.year, "NEAR"), act_on=act_on.isoformat()
    )
    recent = position_fact(
        40_000,
        debtor_id=near.debtor_id,
        credit=("TARI", today.year - 1, "RECENT"),
        act_on=f"{today.year - 1}-06-30",
    )
    await seed(platform, tenant.tenant_id, near, recent)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, ("operator",))
    url = f"/t/{tenant.tenant_slug}/payments/plans/builder"
    latest = month_end(today, 0)
    positions = f"/t/{tenant.tenant_slug}/payments/positions"
    async with service_client(platform, "payments", operator) as http:
        near_page = (await http.get(f"{positions}/{near.position_id}")).text
        recent_page = (await http.get(f"{positions}/{recent.position_id}")).text
    # A single notice would fall due on the limitation day itself: the page says so by its button.
    assert (
        'data-testid="notice-after-barring"' in near_page
        and 'aria-describedby="notice-after-barring"' in near_page
    )
    assert (
        f"l&#39;avviso scadrebbe il {barred_on:%d/%m/%Y}" in near_page
        or f"l'avviso scadrebbe il {barred_on:%d/%m/%Y}" in near_page
    )
    assert 'data-testid="notice-after-barring"' not in recent_page
    async with service_client(platform, "payments", operator) as http:
        default = (await http.get(url, params={"position_id": near.position_id})).text
        typed = (
            await http.get(url, params={"position_id": near.position_id, "first_due_date": barred_on})
        ).text
        simulated = await http.post(
            "/api/v1/payments/plans/simulate", json={"position_ids": [near.position_id], "installments": 6}
        )
    if latest > today:
        assert 'data-testid="first-due-brought-forward"' in default
        assert f'value="{latest.isoformat()}"' in default and f"Anticipata al {latest:%d/%m/%Y}" in default
    else:  # the last day of a month: nothing earlier is still ahead
        assert 'data-testid="first-due-after-barring"' in default
    assert 'data-testid="first-due-after-barring"' in typed
    assert f"Una posizione si prescrive dal {barred_on:%d/%m/%Y}" in typed
    assert f"Fissa la prima scadenza entro il {latest:%d/%m/%Y}" in typed
    assert 'aria-describedby="first_due-prescrizione"' in typed  # read out with the date field
    assert simulated.json()["barred_on"] == barred_on.isoformat()
