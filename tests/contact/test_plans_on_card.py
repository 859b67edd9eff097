"""The payments service's plans on the contact card: a position in a plan says so (and leaves the
builder), a lapsed plan says the residue is due at once, and both events join the history once."""

from __future__ import annotations

import html
import uuid

import pytest

from services.contracts import PaymentReceived, PlanCreated, PlanLapsed, PlanReamounted
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import deliver, fact, scalar, seed
from tests.contact.test_web import as_user, base


@pytest.mark.asyncio
async def test_a_plan_and_its_lapse_show_on_the_card_and_in_the_history(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    in_plan, alone = fact(d, 120_000), fact(d, 30_000)
    await seed(platform, tenant.tenant_id, in_plan, alone)
    plan_id = str(uuid.uuid4())
    created = PlanCreated(
        plan_id, d, (in_plan.position_id,), "IMU", 120_000, 6, "2026-12-31", "user-7f3a", "Olga Russo"
    )
    for _ in range(2):  # delivered twice: one history entry
        await deliver(platform, created.envelope(tenant.tenant_id))
    op = as_user(tenant, "op-plan")
    async with service_client(platform, "contact", op) as client:
        card = html.unescape((await client.get(f"{base(op)}/debtors/{d}")).text)
    assert "In un piano di rate" in card
    assert "Piano di rate concesso" in card and "6 rate per € 1.200,00, prima scadenza il 31/12/2026" in card
    # Who granted it by name, as the outcomes show their operator; never the identity's raw id.
    assert "Olga Russo" in card and "user-7f3a" not in card
    assert f"position_id={alone.position_id}" in card and f"position_id={in_plan.position_id}" not in card
    # The plan's notices can be sent from the card later too (the payments service's fragment).
    assert f"/payments/plans/{plan_id}/send" in card
    assert f'href="/t/{tenant.tenant_slug}/payments/positions/{in_plan.position_id}"' in card
    sql = "SELECT count(*) FROM contact.contacts WHERE tenant_id = :t AND outcome = 'piano_creato'"
    assert await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id) == 1
    lapsed = PlanLapsed(plan_id, d, (in_plan.position_id,), "IMU", 100_000, "2027-03-01")
    await deliver(platform, lapsed.envelope(tenant.tenant_id))
    async with service_client(platform, "contact", op) as client:
        card = html.unescape((await client.get(f"{base(op)}/debtors/{d}")).text)
    assert "Piano decaduto: residuo dovuto subito" in card
    assert "Residuo di € 1.000,00 dovuto in un'unica soluzione" in card
    assert f"position_id={in_plan.position_id}" in card  # owed at once: the builder offers it again
    assert f"/payments/plans/{plan_id}/send" not in card


@pytest.mark.asyncio
async def test_a_plan_spread_again_or_cancelled_by_the_office_joins_the_history(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    first, second = fact(d, 120_000), fact(d, 80_000)
    await seed(platform, tenant.tenant_id, first, second)
    plan_id = str(uuid.uuid4())
    ids = (first.position_id, second.position_id)
    created = PlanCreated(plan_id, d, ids, "IMU", 200_000, 6, "2026-12-31", "user-7f3a", "Olga Russo")
    await deliver(platform, created.envelope(tenant.tenant_id))
    # The office cancelled the first position: the plan goes on, spread again, on the second.
    spread = PlanReamounted(plan_id, d, first.position_id, 120_000, 80_000, 6)
    for _ in range(2):  # delivered twice: one history entry
        await deliver(platform, spread.envelope(tenant.tenant_id))
    op = as_user(tenant, "op-reamount")
    async with service_client(platform, "contact", op) as client:
        card = html.unescape((await client.get(f"{base(op)}/debtors/{d}")).text)
    assert "Piano di rate ricalcolato dopo una decisione dell'Ufficio tributi" in card
    assert "€ 1.200,00 in meno, rate ricalcolate sulle stesse scadenze (6 in tutto)" in card
    assert f"/payments/plans/{plan_id}/send" in card
    # Then the second too: the plan is cancelled, no longer offered on the card.
    cancelled = PlanReamounted(plan_id, d, second.position_id, 80_000, 0, 0)
    await deliver(platform, cancelled.envelope(tenant.tenant_id))
    async with service_client(platform, "contact", op) as client:
        card = html.unescape((await client.get(f"{base(op)}/debtors/{d}")).text)
    assert "Piano di rate annullato dall'Ufficio tributi" in card
    assert "Annullate (sgravio) le posizioni del piano (€ 800,00): le rate non sono più dovute" in card
    assert f"/payments/plans/{plan_id}/send" not in card and "In un piano di rate" not in card
    sql = "SELECT count(*) FROM contact.contacts WHERE tenant_id = :t AND outcome LIKE 'piano_%'"
    assert await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id) == 3


@pytest.mark.asyncio
async def test_payments_join_the_history_by_their_day(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    position = fact(d, 50_000)
    await seed(platform, tenant.tenant_id, position)
    paid = PaymentReceived(str(uuid.uuid4()), position.position_id, d, 30_000, "2026-11-20", "pagoPA")
    await deliver(platform, paid.envelope(tenant.tenant_id))
    op = as_user(tenant, "op-history")
    async with service_client(platform, "contact", op) as client:
        card = html.unescape((await client.get(f"{base(op)}/debtors/{d}")).text)
    assert "<td>20/11/2026</td><td>—</td><td>Pagamento ricevuto</td><td></td><td>€ 300,00</td>" in card
