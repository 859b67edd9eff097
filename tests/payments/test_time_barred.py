"""No installment plan nor pagoPA notice on a position already time-barred (`kernel.limitation`:
five years from its act's day, else from the end of its reference year, started again by each
payment not revoked): the Comune can no longer collect it, and the refusal says since when."""

from __future__ import annotations

import html
import uuid
from datetime import date
from typing import Any

import pytest

from services.kernel.errors import Conflict
from services.kernel.identity import Identity
from services.payments import handlers, handlers_notices, handlers_plans
from services.payments.domain_simulation import PlanRequest
from services.payments.seed import seed_creditors
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import seed
from tests.support import make_identity, position_fact

TODAY = date(2026, 12, 3)


async def run(platform: Platform, who: Identity, work: Any) -> Any:
    return await platform.databases["payments"].run(who.tenant_id, work)


def plan_of(position_id: str) -> PlanRequest:
    return PlanRequest((uuid.UUID(position_id),), 6, None, False)


@pytest.mark.asyncio
async def test_a_time_barred_position_gets_no_plan_nor_notice(platform: Platform, tenant: Identity) -> None:
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    debtor = str(uuid.uuid4())
    undated = position_fact(80_000, debtor_id=debtor, credit=("TARI", 2018, "OLD"))
    notified = position_fact(60_000, debtor_id=debtor, credit=("IMU", 2020, "NOT"), act_on="2022-03-16")
    await seed(platform, tenant.tenant_id, undated, notified)
    for work in (
        lambda uow: handlers_plans.create_plan(uow, tenant, plan_of(undated.position_id), TODAY),
        lambda uow: handlers_notices.issue_notices(uow, tenant, (uuid.UUID(undated.position_id),), TODAY),
    ):
        with pytest.raises(Conflict) as refused:
            await run(platform, tenant, work)
        assert f"La posizione {undated.act_number} è prescritta dal 01/01/2024" in refused.value.message
    # A 2020 IMU notified on 16 March 2022 runs until 16 March 2027: its plan is made.
    plan = await run(
        platform,
        tenant,
        lambda uow: handlers_plans.create_plan(uow, tenant, plan_of(notified.position_id), TODAY),
    )
    assert plan.amount_cents == 60_000


@pytest.mark.asyncio
async def test_a_payment_in_time_keeps_the_position_collectable(platform: Platform, tenant: Identity) -> None:
    """A 2018 TARI paid in part on 10 June 2023, before its term ran out (1 January 2024): the term
    runs again from that day, until 10 June 2028."""
    fact = position_fact(80_000, credit=("TARI", 2018, "PAID"))
    await seed(platform, tenant.tenant_id, fact)
    position = uuid.UUID(fact.position_id)
    values = {"amount": "100,00", "paid_on": "2023-06-10", "reason": "Bonifico sul conto del Comune"}
    await run(platform, tenant, lambda uow: handlers.record_payment(uow, tenant, position, values))
    plan = await run(
        platform,
        tenant,
        lambda uow: handlers_plans.create_plan(uow, tenant, plan_of(fact.position_id), TODAY),
    )
    assert plan.amount_cents == 70_000


@pytest.mark.asyncio
async def test_the_position_page_says_a_position_is_time_barred_and_offers_no_plan_nor_notice(
    platform: Platform, tenant: Identity
) -> None:
    debtor = str(uuid.uuid4())
    undated = position_fact(80_000, debtor_id=debtor, credit=("TARI", 2018, "OLDP"))
    notified = position_fact(60_000, debtor_id=debtor, credit=("IMU", 2020, "NOTP"), act_on="2022-03-16")
    await seed(platform, tenant.tenant_id, undated, notified)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, ("operator",))
    base = f"/t/{tenant.tenant_slug}/payments/positions"
    async with service_client(platform, "payments", operator) as http:
        old = (await http.get(f"{base}/{undated.position_id}")).text
        live = (await http.get(f"{base}/{notified.position_id}")).text
        listed = (await http.get(f"/t/{tenant.tenant_slug}/payments/", params={"q": "rossi"})).text
    assert 'data-testid="position-barred">Prescritta dal 01/01/2024' in old
    assert "payments/plans/builder" not in old and "Emetti l'avviso per il residuo" not in old
    assert "Registra pagamento" in old  # a payment made anyway is still recorded
    assert "position-barred" not in live and "payments/plans/builder" in live
    assert "Emetti l'avviso per il residuo" in live
    assert f"atto {notified.act_number} del 16/03/2022" in live
    # The list says it too, beside the balance, for the barred one only.
    assert listed.count('data-testid="search-barred"') == 1 and "Prescritta dal 01/01/2024" in listed


@pytest.mark.asyncio
async def test_the_plan_builder_opened_on_a_time_barred_position_says_so_and_offers_no_schedule(
    platform: Platform, tenant: Identity
) -> None:
    """Nothing links a barred position to the builder; a link typed by hand (or a card left open
    since the day before) gets the reason, not a schedule that could not be granted."""
    undated = position_fact(80_000, debtor_id=str(uuid.uuid4()), credit=("TARI", 2018, "OLDB"))
    await seed(platform, tenant.tenant_id, undated)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, ("operator",))
    url = f"/t/{tenant.tenant_slug}/payments/plans/builder?position_id={undated.position_id}"
    async with service_client(platform, "payments", operator) as http:
        answer = await http.get(url)
    assert answer.status_code == 200
    assert f"La posizione {undated.act_number} è prescritta dal 01/01/2024" in answer.text
    assert "plan-schedule" not in answer.text and "Calendario delle rate" not in answer.text
    # The reason alone: no form to fill in that could only be refused again.
    assert "Crea il piano" not in answer.text and 'name="installments"' not in answer.text


@pytest.mark.asyncio
async def test_the_plan_builder_without_a_position_or_with_a_bad_date_says_so_in_words(
    platform: Platform, tenant: Identity
) -> None:
    live = position_fact(60_000, debtor_id=str(uuid.uuid4()), credit=("IMU", 2024, "LIVE"))
    await seed(platform, tenant.tenant_id, live)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, ("operator",))
    url = f"/t/{tenant.tenant_slug}/payments/plans/builder"
    async with service_client(platform, "payments", operator) as http:
        bare = (await http.get(url)).text
        dated = (
            await http.get(url, params={"position_id": live.position_id, "first_due_date": "31/13/2027"})
        ).text
    assert "Indica da 1 a 500 posizioni" in bare and "Crea il piano" not in bare
    assert "«31/13/2027» non è una data valida per «Prima scadenza»" in html.unescape(dated)
    async with service_client(platform, "payments", operator) as http:
        italian = await http.get(
            url, params={"position_id": live.position_id, "first_due_date": "31/01/2027"}
        )
    assert italian.status_code == 200 and 'value="2027-01-31"' in italian.text  # as Italians write it
