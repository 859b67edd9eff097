import asyncio
import uuid

import pytest
import sqlalchemy as sa

from services.contracts import BatchAccepted, OutcomeRecorded
from services.kernel.bus import OutgoingMessage
from services.platform import Platform
from services.reporting import repository as repo
from services.reporting.models import batches
from tests.conftest import eventually
from tests.reporting.helpers import deliver, deliver_envelope, fact, paid, registered


async def summary(platform: Platform, tenant_id: uuid.UUID) -> repo.Summary:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        return await repo.summary(uow, tenant_id)


async def collected_on(platform: Platform, tenant_id: uuid.UUID, position_id: str) -> int | None:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        return await repo.position_collected(uow, tenant_id, uuid.UUID(position_id))


@pytest.mark.asyncio
async def test_positions_count_once_even_when_republished(platform: Platform) -> None:
    tenant = uuid.uuid4()
    a, b, c = fact(10_000), fact(2_550), fact(99)
    await deliver(platform, tenant, registered(a, b))
    await deliver(platform, tenant, registered(a, b))  # same facts, new envelope
    await deliver(platform, tenant, registered(b, c))  # one known, one new
    s = await summary(platform, tenant)
    assert s.positions == 3
    assert s.totals.assigned_cents == 12_649
    assert s.totals.collected_cents == 0


@pytest.mark.asyncio
async def test_redelivered_payment_with_same_id_does_not_double_count(platform: Platform) -> None:
    tenant = uuid.uuid4()
    position = fact(10_000)
    await deliver(platform, tenant, registered(position))
    payment_id = str(uuid.uuid4())
    [first] = await deliver(platform, tenant, paid(position, 4_000, payment_id))
    await deliver(platform, tenant, paid(position, 4_000, payment_id))  # new envelope, same payment
    await deliver_envelope(platform, first)  # the very same message again
    s = await summary(platform, tenant)
    assert (s.payments, s.totals.collected_cents, s.totals.residual_cents) == (1, 4_000, 6_000)
    assert await collected_on(platform, tenant, position.position_id) == 4_000

    await deliver(platform, tenant, paid(position, 1_500))
    s = await summary(platform, tenant)
    assert (s.payments, s.totals.collected_cents, s.totals.residual_cents) == (2, 5_500, 4_500)
    assert await collected_on(platform, tenant, position.position_id) == 5_500


@pytest.mark.asyncio
async def test_payment_arriving_before_its_position_is_credited_later(platform: Platform) -> None:
    tenant = uuid.uuid4()
    position = fact(8_000)
    await deliver(platform, tenant, paid(position, 3_000))
    assert await collected_on(platform, tenant, position.position_id) is None
    await deliver(platform, tenant, registered(position))
    assert await collected_on(platform, tenant, position.position_id) == 3_000
    s = await summary(platform, tenant)
    assert (s.totals.assigned_cents, s.totals.collected_cents, s.totals.residual_cents) == (
        8_000,
        3_000,
        5_000,
    )


@pytest.mark.asyncio
async def test_outcomes_count_contacts_and_distinct_debtors(platform: Platform) -> None:
    tenant = uuid.uuid4()
    debtor, other = str(uuid.uuid4()), str(uuid.uuid4())

    def outcome(d: str, contact_id: str | None = None) -> OutcomeRecorded:
        return OutcomeRecorded(
            contact_id=contact_id or str(uuid.uuid4()),
            debtor_id=d,
            outcome="no_answer",
            operator="op",
            recorded_at="2025-03-14T10:00:00+01:00",
        )

    repeated = str(uuid.uuid4())
    # Debtors count through their positions (an outcome before the position is counted once it comes).
    await deliver(platform, tenant, registered(fact(1_000, debtor_id=debtor), fact(2_000, debtor_id=other)))
    await deliver(platform, tenant, outcome(debtor), outcome(debtor, repeated), outcome(other))
    await deliver(platform, tenant, outcome(debtor, repeated))
    s = await summary(platform, tenant)
    assert (s.outcomes, s.debtors_contacted) == (3, 2)


@pytest.mark.asyncio
async def test_batch_accepted_is_recorded_once(platform: Platform) -> None:
    tenant = uuid.uuid4()
    event = BatchAccepted(
        batch_id=str(uuid.uuid4()),
        filename="carico.csv",
        data_rows=10,
        accepted=8,
        accepted_total_cents=123_456,
        duplicates=1,
        conflicts=0,
        rejected={"codice_fiscale": 1},
    )
    await deliver(platform, tenant, event, event)
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        rows = (await uow.execute(sa.select(batches).where(batches.c.tenant_id == tenant))).all()
    assert len(rows) == 1
    assert (rows[0].filename, rows[0].accepted_total_cents, rows[0].rejected) == (
        "carico.csv",
        123_456,
        {"codice_fiscale": 1},
    )


@pytest.mark.asyncio
async def test_projection_consumer_receives_events_over_the_bus(platform: Platform) -> None:
    tenant = uuid.uuid4()
    position = fact(7_700)
    envelopes = [e.envelope(tenant, "bus") for e in (registered(position), paid(position, 700))]
    # Other tests' relays may have left a backlog (e.g. a 100,000-row batch) on the shared queue.
    for queue in [c.queue(platform.settings.queue_prefix).name for c in platform.consumers("reporting")]:
        await platform.bus.purge(queue)
    await platform.start_workers(("reporting",))
    try:
        await platform.bus.publish_many(
            [OutgoingMessage(env.routing_key, env.encode(), str(env.message_id)) for env in envelopes]
        )

        async def projected() -> bool:
            s = await summary(platform, tenant)
            return (s.totals.assigned_cents, s.totals.collected_cents) == (7_700, 700)

        assert await eventually(projected)
    finally:
        await platform.stop_workers()


@pytest.mark.asyncio
async def test_a_payment_racing_its_position_is_never_lost(platform: Platform) -> None:
    """Delivered concurrently, neither transaction may miss the other's uncommitted row."""
    tenant = uuid.uuid4()
    positions = [fact(10_000) for _ in range(15)]
    await asyncio.gather(
        *(
            step
            for p in positions
            for step in (deliver(platform, tenant, registered(p)), deliver(platform, tenant, paid(p, 2_500)))
        )
    )
    credited = [await collected_on(platform, tenant, p.position_id) for p in positions]
    assert credited == [2_500] * len(positions)
    s = await summary(platform, tenant)
    assert (s.totals.assigned_cents, s.totals.collected_cents) == (150_000, 37_500)
