"""The Ufficio tributi's cancellations and corrections in the contact service (`CaseAnswered`
through the `contact.queue_builder` inbox, as the worker delivers it): a cancelled position leaves
what the debtor owes, the card and the queue; a debtor with nothing left owed leaves the queue; a
corrected amount changes what is owed and the queue's order."""

from __future__ import annotations

import uuid

import pytest

from services.contact import repository_lease
from services.contracts import CaseAnswered, PaymentReceived, PositionFact
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import debtor, deliver, fact, registered, scalar, uncapped
from tests.support import make_identity


def answered(
    who: Identity, debtor_id: str, answer: str, positions: list[PositionFact], cents: int = 0
) -> Envelope:
    return CaseAnswered(
        answer_id=str(uuid.uuid4()),
        case_id=str(uuid.uuid4()),
        debtor_id=debtor_id,
        kind="dispute",
        answer=answer,
        note="Provvedimento dell'ufficio n. 12",
        corrected_cents=cents,
        answered_by="Anna Bianchi",
        answered_at="2026-11-24T09:00:00+01:00",
        position_ids=tuple(p.position_id for p in positions),
    ).envelope(who.tenant_id, "test")


async def next_debtor(platform: Platform, who: Identity, user: str) -> uuid.UUID | None:
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        taken = await repository_lease.take_next(uow, who.tenant_id, user, uncapped())
        await uow.commit()
    return taken


@pytest.mark.asyncio
async def test_a_cancelled_position_leaves_what_is_owed_and_the_last_one_the_queue(
    platform: Platform, tenant: Identity
) -> None:
    tid, d = tenant.tenant_id, str(uuid.uuid4())
    imu, tari = fact(d, 50_000), fact(d, 20_000)
    await deliver(platform, registered(tid, imu, tari))
    paid = PaymentReceived(str(uuid.uuid4()), imu.position_id, d, 5_000, "2026-11-20", "operatore")
    await deliver(platform, paid.envelope(tid))
    first = answered(tenant, d, "cancelled", [tari])
    await deliver(platform, first)
    await deliver(platform, first)  # redelivered: handled once
    row = await debtor(platform, tid, d)
    assert row is not None
    assert (row.total_due_cents, row.positions_count, row.status) == (45_000, 1, "da_lavorare")
    operator = make_identity(tid, tenant.tenant_slug, roles=("operator",), user_id="op-card")
    async with service_client(platform, "contact", operator) as client:
        card = (await client.get(f"/t/{tenant.tenant_slug}/contact/debtors/{d}")).text
    assert "Annullata dall'Ufficio tributi (sgravio)" in card
    assert f"Contestazione: Annullata (sgravio) (atto {tari.act_number})" in card
    assert f"position_id={tari.position_id}" not in card and f"position_id={imu.position_id}" in card
    assert await next_debtor(platform, tenant, "op-1") == uuid.UUID(d)
    # The other position cancelled too (its payment no longer counts against anything): nothing
    # is owed, the calls stop and nobody is given the debtor.
    await deliver(platform, answered(tenant, d, "cancelled", [imu]))
    row = await debtor(platform, tid, d)
    assert row is not None and (row.total_due_cents, row.positions_count, row.status) == (0, 0, "chiuso")
    assert await next_debtor(platform, tenant, "op-2") is None


@pytest.mark.asyncio
async def test_a_corrected_amount_changes_what_is_owed_and_the_queue_order(
    platform: Platform, tenant: Identity
) -> None:
    tid, d, other = tenant.tenant_id, str(uuid.uuid4()), str(uuid.uuid4())
    big = fact(d, 90_000)
    await deliver(platform, registered(tid, big, fact(other, 40_000)))
    before = await scalar(
        platform, tid, "SELECT queue_score FROM contact.debtors WHERE id = :d", d=uuid.UUID(d)
    )
    await deliver(platform, answered(tenant, d, "corrected", [big], 12_000))
    row = await debtor(platform, tid, d)
    assert row is not None and (row.total_due_cents, row.status) == (12_000, "da_lavorare")
    after = await scalar(
        platform, tid, "SELECT queue_score FROM contact.debtors WHERE id = :d", d=uuid.UUID(d)
    )
    assert isinstance(before, float) and isinstance(after, float) and after < before
    sql = "SELECT original_cents FROM contact.debtor_positions WHERE position_id = :p"
    assert await scalar(platform, tid, sql, p=uuid.UUID(big.position_id)) == 90_000
    operator = make_identity(tid, tenant.tenant_slug, roles=("operator",), user_id="op-card")
    async with service_client(platform, "contact", operator) as client:
        card = (await client.get(f"/t/{tenant.tenant_slug}/contact/debtors/{d}")).text
    assert "€ 120,00" in card and "(era € 900,00)" in card
