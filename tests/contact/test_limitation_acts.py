"""An act the Ufficio tributi records as interrupting the limitation (`reporting.limitation_interrupted`)
brings a debtor whose debts were all time-barred back to the queue and the card's plan builder;
taken back, the debtor is time-barred again, whichever order the two events arrive in."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from services.contracts import LimitationInterrupted
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import deliver, seed
from tests.contact.test_conduct_web import MONDAY
from tests.contact.test_time_barred import BARRED
from tests.contact.test_web import as_user, base
from tests.support import contact_clock, position_fact


async def _limitation(platform: Platform, tenant: Identity, debtor_id: str) -> tuple[date | None, float]:
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        row = (
            await uow.execute(
                sa.text(
                    "SELECT barred_on, queue_score FROM contact.debtors WHERE tenant_id = :t AND id = :d"
                ),
                {"t": tenant.tenant_id, "d": debtor_id},
            )
        ).one()
    return row.barred_on, row.queue_score


@pytest.mark.asyncio
async def test_an_interrupting_act_brings_a_barred_debtor_back_and_its_withdrawal_takes_it_away(
    platform: Platform, tenant: Identity
) -> None:
    debtor = str(uuid.uuid4())
    old = position_fact(40_000, debtor_id=debtor, credit=("TARI", 2019, "OLD"), name="GRIGI ADA")
    await seed(platform, tenant.tenant_id, old)
    assert await _limitation(platform, tenant, debtor) == (date(2025, 1, 1), -1.0)
    act = LimitationInterrupted(str(uuid.uuid4()), debtor, (old.position_id,), "2024-06-10", "intimazione")
    recorded = act.envelope(tenant.tenant_id, "test")
    await deliver(platform, recorded)
    barred_on, score = await _limitation(platform, tenant, debtor)
    assert barred_on == date(2029, 6, 11) and score > 0
    supervisor = as_user(tenant, "sup-acts", ("supervisor",))
    with contact_clock(platform, MONDAY):
        async with service_client(platform, "contact", supervisor) as client:
            card = (await client.get(f"{base(supervisor)}/debtors/{debtor}")).text
    assert BARRED not in card and "payments/plans/builder" in card and "Prescritta dal" not in card
    # The history tells the operator why the debtor is back.
    assert "Atto interruttivo della prescrizione registrato dall&#39;Ufficio tributi" in card
    assert "Intimazione ad adempiere notificata il 10/06/2024: atto OLD" in card
    # Taken back; the first event delivered again (a redelivery) does not bring the act back.
    withdrawn = LimitationInterrupted(
        act.act_id, debtor, act.position_ids, act.served_on, act.kind, withdrawn=True
    )
    await deliver(platform, withdrawn.envelope(tenant.tenant_id, "test"))
    await deliver(platform, act.envelope(tenant.tenant_id, "test"))
    assert await _limitation(platform, tenant, debtor) == (date(2025, 1, 1), -1.0)
    with contact_clock(platform, MONDAY):
        async with service_client(platform, "contact", supervisor) as client:
            card = (await client.get(f"{base(supervisor)}/debtors/{debtor}")).text
    assert BARRED in card and 'data-testid="pay-barred"' in card
    assert card.count("Intimazione ad adempiere notificata il 10/06/2024") == 2  # recorded, then taken back
    assert "Atto interruttivo annullato dall&#39;Ufficio tributi" in card


@pytest.mark.asyncio
async def test_the_card_warns_of_a_position_that_becomes_time_barred_soon(
    platform: Platform, tenant: Identity
) -> None:
    """On 30 November 2026 a 2021 IMU without an act day runs out on 1 January 2027: its line says
    so (a payment before then interrupts it); a 2023 one, years away, says nothing."""
    debtor = str(uuid.uuid4())
    soon = position_fact(30_000, debtor_id=debtor, credit=("IMU", 2021, "SOON"), name="BRUNI EVA")
    later = position_fact(20_000, debtor_id=debtor, credit=("IMU", 2023, "LATER"), name="BRUNI EVA")
    await seed(platform, tenant.tenant_id, soon, later)
    operator = as_user(tenant, "op-soon")
    with contact_clock(platform, MONDAY):
        async with service_client(platform, "contact", operator) as client:
            card = (await client.get(f"{base(operator)}/debtors/{debtor}")).text
    rows = card.split('data-testid="positions"', 1)[1].split("</table>", 1)[0]
    assert rows.count('data-testid="barring-soon"') == 1
    assert "Si prescrive dal 01/01/2027: un pagamento prima di quel giorno la interrompe" in rows
