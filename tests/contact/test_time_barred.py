"""A debtor whose every still-due position is time-barred (`services.kernel.limitation`) is for the
relazione di scarico, not for the phone: not leased, marked on the queue and the card, and a call
on it is recorded only by a supervisor with a written reason (audited). One not-barred position
keeps the debtor in the queue; the debtor leaves it the day the limitation passes."""

from __future__ import annotations

import html
import uuid
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from services.contact import handlers, repository, repository_lease
from services.contact.domain import ROME
from services.contact.repository_reversals import TakenBack, revocation_id
from services.kernel.identity import Identity
from services.kernel.limitation import barred_from
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import seed, uncapped
from tests.contact.test_conduct_web import HX, MONDAY, audited, record, take
from tests.contact.test_web import as_user, base
from tests.support import contact_clock, position_fact

BARRED = "Prescritto: da proporre per il discarico"


async def leased_at(platform: Platform, who: Identity, moment: datetime) -> uuid.UUID | None:
    """The debtor «Prossimo debitore» gives at `moment`, the lease rolled back with its transaction."""
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        return await repository_lease.take_next(uow, who.tenant_id, "op-at", uncapped(moment))


@pytest.mark.asyncio
async def test_a_debtor_owing_only_time_barred_positions_is_not_leased_and_is_marked(
    platform: Platform, tenant: Identity
) -> None:
    barred, mixed, paid_recent = (str(uuid.uuid4()) for _ in range(3))
    recent = position_fact(30_000, debtor_id=paid_recent, credit=("IMU", 2023, "N"), name="VERDI ANNA")
    old_tari = position_fact(20_000, debtor_id=mixed, credit=("TARI", 2019, "M"), name="NERI PAOLA")
    new_imu = position_fact(20_000, debtor_id=mixed, credit=("IMU", 2022, "X"), name="NERI PAOLA")
    await seed(
        platform,
        tenant.tenant_id,
        position_fact(900_000, debtor_id=barred, credit=("TARI", 2019, "B"), name="BIANCHI LUCA"),
        position_fact(900_000, debtor_id=barred, credit=("IMU", 2018, "C"), name="BIANCHI LUCA"),
        old_tari,
        new_imu,
        # Its 2023 IMU is paid: what it still owes (2019) is all time-barred.
        position_fact(900_000, debtor_id=paid_recent, credit=("TARI", 2019, "P"), name="VERDI ANNA"),
        recent,
    )
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        payment = (uuid.uuid4(), uuid.UUID(paid_recent), uuid.UUID(recent.position_id))
        await repository.register_payment(uow, tenant.tenant_id, *payment, 30_000, date(2026, 3, 2))
        await uow.commit()
    # Last in the queue's order (a lease never scans past them); the mixed one's limitation part
    # counts from its oldest act not yet barred.
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        sql = "SELECT id, queue_score FROM contact.debtors WHERE tenant_id = :t"
        scores = {str(r.id): r.queue_score for r in await uow.execute(sa.text(sql), {"t": tenant.tenant_id})}
    assert scores[barred] == scores[paid_recent] == -1.0 and scores[mixed] > 0
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{mixed}" in await take(platform, as_user(tenant, "op-1"))
        assert "Nessun debitore da lavorare" in await take(platform, as_user(tenant, "op-2"))
        supervisor = as_user(tenant, "sup-barred", ("supervisor",))
        async with service_client(platform, "contact", supervisor) as client:
            card = await client.get(f"{base(supervisor)}/debtors/{barred}")
            queue = await client.get(f"{base(supervisor)}/", headers=HX)
            full_page = await client.get(f"{base(supervisor)}/")
            mixed_card = await client.get(f"{base(supervisor)}/debtors/{mixed}")
    assert card.status_code == 200 and BARRED in card.text
    assert 'id="override_reason"' in card.text
    assert mixed_card.status_code == 200 and BARRED not in mixed_card.text
    # No plan nor notice is made on what the Comune can no longer collect; one not barred, yes.
    assert 'data-testid="pay-barred"' in card.text and "payments/plans/builder" not in card.text
    assert 'data-testid="pay-barred"' not in mixed_card.text and "payments/plans/builder" in mixed_card.text
    # Of the mixed debtor's, the builder gets the IMU still in time; the TARI 2019 reads «Prescritta».
    builder = mixed_card.text.split("payments/plans/builder?", 1)[1].split('"', 1)[0]
    assert new_imu.position_id in builder and old_tari.position_id not in builder
    tari_row = mixed_card.text.split(old_tari.act_number, 1)[1].split("</tr>", 1)[0]
    assert "Prescritta dal 01/01/2025" in tari_row
    assert "(di cui prescritto € 200,00: non più riscuotibile)" in mixed_card.text
    assert queue.status_code == 200 and queue.text.count('data-testid="time-barred"') == 2
    rows = {name: queue.text.split(name, 1)[1].split("</tr>", 1)[0] for name in ("BIANCHI", "NERI", "VERDI")}
    assert BARRED in rows["BIANCHI"] and BARRED in rows["VERDI"] and BARRED not in rows["NERI"]
    # The counts by status include them: the page says how many.
    assert "Nei conteggi ci sono anche 2 debitori con soli atti prescritti" in full_page.text


@pytest.mark.asyncio
async def test_a_call_on_a_time_barred_debtor_needs_a_supervisors_written_reason(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, position_fact(50_000, debtor_id=d, credit=("TARI", 2019, "B")))
    with contact_clock(platform, MONDAY):
        status, text = await record(platform, as_user(tenant, "op-barred"), d, outcome="contattato")
        assert status == 409 and BARRED in text and "Solo un supervisore" in text
        supervisor = as_user(tenant, "sup-barred", ("supervisor",))
        status, text = await record(platform, supervisor, d, outcome="contattato")
        assert status == 400 and BARRED in text and "scrivi il motivo" in text
        reason = "Il contribuente ha chiesto di parlare del discarico"
        status, _ = await record(platform, supervisor, d, outcome="contattato", override_reason=reason)
        assert status == 303
        async with service_client(platform, "contact", supervisor) as client:
            card = html.unescape((await client.get(f"{base(supervisor)}/debtors/{d}")).text)
    # The reason shows in the card's history too, not only in the audit.
    assert f"Deroga del supervisore: {reason}" in card
    details = await audited(platform, tenant)
    assert len(details) == 1 and BARRED in details[0] and reason in details[0]
    sql = "SELECT override_reason FROM contact.contacts WHERE tenant_id = :t AND debtor_id = :d"
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        kept = (await uow.execute(sa.text(sql), {"t": tenant.tenant_id, "d": uuid.UUID(d)})).scalars()
        assert list(kept) == [reason]


@pytest.mark.asyncio
async def test_the_debtor_leaves_the_queue_the_day_the_limitation_passes(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, position_fact(50_000, debtor_id=d, credit=("TARI", 2021, "L")))
    assert barred_from(2021, []) == date(2027, 1, 1)
    assert await leased_at(platform, tenant, datetime(2026, 12, 31, 20, 0, tzinfo=ROME)) == uuid.UUID(d)
    assert await leased_at(platform, tenant, datetime(2027, 1, 1, 0, 30, tzinfo=ROME)) is None


@pytest.mark.asyncio
async def test_a_credit_counts_from_its_acts_day_not_its_year(platform: Platform, tenant: Identity) -> None:
    """A 2019 TARI whose act the Comune served on 10 May 2023 is not time-barred with its year (from
    1 January 2025) but from 11 May 2028: the debtor is called until then."""
    d = str(uuid.uuid4())
    fact = position_fact(50_000, debtor_id=d, credit=("TARI", 2019, "S"), act_on="2023-05-10")
    await seed(platform, tenant.tenant_id, fact)
    assert await leased_at(platform, tenant, datetime(2026, 12, 3, 10, 0, tzinfo=ROME)) == uuid.UUID(d)
    assert await leased_at(platform, tenant, datetime(2028, 5, 10, 20, 0, tzinfo=ROME)) == uuid.UUID(d)
    assert await leased_at(platform, tenant, datetime(2028, 5, 11, 9, 0, tzinfo=ROME)) is None
    sql = "SELECT barred_on FROM contact.debtors WHERE tenant_id = :t AND id = :d"
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        found = (await uow.execute(sa.text(sql), {"t": tenant.tenant_id, "d": uuid.UUID(d)})).scalar_one()
    assert found == date(2028, 5, 11)
    # The card names the act's day, to speak of it on the phone.
    supervisor = as_user(tenant, "sup-act", ("supervisor",))
    async with service_client(platform, "contact", supervisor) as client:
        card = (await client.get(f"{base(supervisor)}/debtors/{d}")).text
    row = card.split('data-testid="positions"', 1)[1].split("</tr>", 2)[1]
    assert fact.act_number in row and "<small>del 10/05/2023</small>" in row


@pytest.mark.asyncio
async def test_the_limitation_part_counts_from_the_oldest_act_still_due_and_not_yet_barred(
    platform: Platform, tenant: Identity
) -> None:
    """On 2026-11-30 acts of 2020 and before are time-barred: a debtor owing 2019 and 2022 nears its
    limitation as one owing 2022 and 2023 does (31/12/2027), later than one owing 2021 (31/12/2026);
    a 2021 act paid off no longer counts."""
    mixed, twin, sooner, paid_old = (str(uuid.uuid4()) for _ in range(4))
    old_paid = position_fact(20_000, debtor_id=paid_old, credit=("IMU", 2021, "Q"), name="GIALLI RITA")
    await seed(
        platform,
        tenant.tenant_id,
        position_fact(20_000, debtor_id=mixed, credit=("TARI", 2019, "M"), name="NERI PAOLA"),
        position_fact(20_000, debtor_id=mixed, credit=("IMU", 2022, "X"), name="NERI PAOLA"),
        position_fact(20_000, debtor_id=twin, credit=("TARI", 2022, "T"), name="ROSSI UGO"),
        position_fact(20_000, debtor_id=twin, credit=("IMU", 2023, "U"), name="ROSSI UGO"),
        position_fact(20_000, debtor_id=sooner, credit=("TARI", 2021, "S"), name="BLU ADA"),
        position_fact(20_000, debtor_id=sooner, credit=("IMU", 2022, "V"), name="BLU ADA"),
        old_paid,
        position_fact(20_000, debtor_id=paid_old, credit=("TARI", 2022, "R"), name="GIALLI RITA"),
        position_fact(20_000, debtor_id=paid_old, credit=("IMU", 2023, "W"), name="GIALLI RITA"),
    )
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        payment = (uuid.uuid4(), uuid.UUID(paid_old), uuid.UUID(old_paid.position_id))
        await repository.register_payment(uow, tenant.tenant_id, *payment, 20_000, date(2026, 3, 2))
        await repository.refresh_scores(uow, tenant.tenant_id, None, date(2026, 11, 30))
        await uow.commit()
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        sql = "SELECT id, queue_score, due_barred_on FROM contact.debtors WHERE tenant_id = :t"
        found = {str(r.id): r for r in await uow.execute(sa.text(sql), {"t": tenant.tenant_id})}
    assert found[paid_old].due_barred_on == [date(2028, 1, 1), date(2029, 1, 1)]
    assert found[mixed].due_barred_on == [date(2025, 1, 1), date(2028, 1, 1)]
    # The same amount owed, attempts and phone: only the limitation part differs.
    paid_old_total = found[paid_old].queue_score
    assert found[mixed].queue_score == pytest.approx(found[twin].queue_score)
    assert found[sooner].queue_score > found[twin].queue_score
    assert paid_old_total == pytest.approx(found[twin].queue_score)


@pytest.mark.asyncio
async def test_the_home_does_not_count_time_barred_debtors_as_to_call(
    platform: Platform, tenant: Identity
) -> None:
    barred, owing = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(
        platform,
        tenant.tenant_id,
        position_fact(900_000, debtor_id=barred, credit=("TARI", 2019, "B"), name="BIANCHI LUCA"),
        position_fact(20_000, debtor_id=owing, credit=("IMU", 2022, "X"), name="NERI PAOLA"),
    )
    operator = as_user(tenant, "op-home")
    with contact_clock(platform, MONDAY):
        async with service_client(platform, "contact", operator) as client:
            summary = await client.get(f"{base(operator)}/summary", headers=HX)
    assert summary.status_code == 200
    assert 'data-testid="to-call">1<' in summary.text


@pytest.mark.asyncio
async def test_a_payment_while_the_term_runs_keeps_the_debtor_enforceable(
    platform: Platform, tenant: Identity
) -> None:
    """A 2019 act is time-barred from 1 January 2025 unless something interrupted it: a payment of
    part of it on 10 March 2024 starts the term again (c.c. art. 2944), so the debtor is phoned
    until 10 March 2029; a payment made after the term ran out revives nothing; a revoked payment
    never happened."""
    kept, late, revoked = (str(uuid.uuid4()) for _ in range(3))
    facts = {
        d: position_fact(90_000, debtor_id=d, credit=("TARI", year, d[:6]), name=name)
        for d, year, name in (
            (kept, 2019, "ROSSI ADA"),
            (late, 2018, "VERDI UGO"),
            (revoked, 2019, "NERI IVO"),
        )
    }
    await seed(platform, tenant.tenant_id, *facts.values())
    payments = {d: uuid.uuid4() for d in facts}
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        for d, paid_on in ((kept, date(2024, 3, 10)), (late, date(2025, 6, 1)), (revoked, date(2024, 3, 10))):
            payment = (payments[d], uuid.UUID(d), uuid.UUID(facts[d].position_id))
            await handlers.register_payment(uow, tenant.tenant_id, payment, 10_000, paid_on)
        back = TakenBack(
            "revocation",
            revocation_id(payments[revoked]),
            payments[revoked],
            uuid.UUID(revoked),
            uuid.UUID(facts[revoked].position_id),
            10_000,
            date(2024, 4, 2),
        )
        await handlers.take_back_payment(uow, tenant.tenant_id, back)
        await uow.commit()
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        sql = "SELECT id, barred_on, due_barred_on, queue_score FROM contact.debtors WHERE tenant_id = :t"
        found = {str(r.id): r for r in await uow.execute(sa.text(sql), {"t": tenant.tenant_id})}
    assert (found[kept].barred_on, found[kept].due_barred_on) == (date(2029, 3, 11), [date(2029, 3, 11)])
    assert found[late].barred_on == date(2024, 1, 1) and found[revoked].barred_on == date(2025, 1, 1)
    assert found[kept].queue_score > 0 and found[late].queue_score == found[revoked].queue_score == -1.0
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{kept}" in await take(platform, as_user(tenant, "op-kept"))
        assert "Nessun debitore da lavorare" in await take(platform, as_user(tenant, "op-none"))
        supervisor = as_user(tenant, "sup-kept", ("supervisor",))
        async with service_client(platform, "contact", supervisor) as client:
            card = await client.get(f"{base(supervisor)}/debtors/{kept}")
    assert card.status_code == 200 and BARRED not in card.text
    # The day after the new term's end (10 March 2029, a Saturday) it is time-barred.
    assert await leased_at(platform, tenant, datetime(2029, 3, 10, 10, 0, tzinfo=ROME)) == uuid.UUID(kept)
    assert await leased_at(platform, tenant, datetime(2029, 3, 12, 10, 0, tzinfo=ROME)) is None
