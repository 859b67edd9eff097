from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.contact import handlers, repository, repository_lease, repository_queue
from services.contact.domain import ContactRecord, Outcome, OutcomeDecision, Status
from services.contact.models import access_log, debtor_contacts, debtors
from services.kernel.identity import Identity
from services.platform import Platform
from tests.contact.helpers import debtor, fact, seed, uncapped


@pytest.mark.asyncio
async def test_register_positions_sums_per_debtor_and_ignores_repeats(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    first, second = fact(d, 10_000), fact(d, 2_550)
    await seed(platform, tenant.tenant_id, first, second)
    # the same position again, in another message, must not be counted twice
    await seed(platform, tenant.tenant_id, first, fact(d, 450))
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.total_due_cents, row.positions_count, row.status) == (13_000, 3, "da_lavorare")


@pytest.mark.asyncio
async def test_take_next_orders_by_total_and_keeps_operators_apart(
    platform: Platform, tenant: Identity
) -> None:
    small, big, mid = (str(uuid.uuid4()) for _ in range(3))
    await seed(platform, tenant.tenant_id, fact(small, 100), fact(big, 90_000), fact(mid, 5_000))
    db = platform.databases["contact"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        got_1 = await repository_lease.take_next(uow, tenant.tenant_id, "op-1", uncapped())
        got_2 = await repository_lease.take_next(uow, tenant.tenant_id, "op-2", uncapped())
        again_1 = await repository_lease.take_next(uow, tenant.tenant_id, "op-1", uncapped())
        await uow.commit()
    assert (str(got_1), str(got_2), str(again_1)) == (big, mid, big)
    row = await debtor(platform, tenant.tenant_id, big)
    assert row is not None
    assert (row.status, row.assigned_to) == ("in_lavorazione", "op-1")
    assert row.locked_until > datetime.now(UTC)


@pytest.mark.asyncio
async def test_the_lease_runs_on_its_kept_plan_and_leaves_the_planner_as_it_was(
    platform: Platform, tenant: Identity
) -> None:
    """Planning the lease anew on every call cost four times its execution: it runs on the generic
    plan of its prepared statement from the first call (PostgreSQL's `auto` would plan it five times
    first, then keep planning it), never compiled by the JIT, and the statements after it are
    planned as before."""
    await seed(platform, tenant.tenant_id, *(fact(str(uuid.uuid4()), 100 * n) for n in range(1, 4)))
    leases = sa.text(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
        " WHERE statement LIKE 'UPDATE contact.debtors SET status=''in_lavorazione''%'"
    )
    settings = sa.text("SELECT current_setting('plan_cache_mode') AS mode, current_setting('jit') AS jit")
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await uow.execute(sa.text("SELECT set_config('jit', 'on', true)"))
        for operator in ("op-1", "op-2", "op-3", "op-1", "op-2", "op-3", "op-1"):
            assert await repository_lease.take_next(uow, tenant.tenant_id, operator, uncapped()) is not None
        plans = (await uow.execute(leases)).one()
        after = (await uow.execute(settings)).one()
    assert (plans.generic_plans >= 7, plans.custom_plans) == (True, 0)
    assert (after.mode, after.jit) == ("auto", "on")


@pytest.mark.asyncio
async def test_a_card_left_open_past_its_lock_comes_back_before_the_pool(
    platform: Platform, tenant: Identity
) -> None:
    """A lapsed lease is offered to the next operator before a better-scored waiting debtor, and a
    lease still running is not."""
    left, held, best = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(left, 100), fact(held, 200), fact(best, 900))
    db = platform.databases["contact"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        past, soon = datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=5)
        for debtor_id, until, operator in ((left, past, "op-away"), (held, soon, "op-busy")):
            await uow.execute(
                sa.update(debtors)
                .where(debtors.c.id == uuid.UUID(debtor_id))
                .values(status="in_lavorazione", assigned_to=operator, locked_until=until)
            )
        first = await repository_lease.take_next(uow, tenant.tenant_id, "op-1", uncapped())
        second = await repository_lease.take_next(uow, tenant.tenant_id, "op-2", uncapped())
        await uow.commit()
    assert (str(first), str(second)) == (left, best)
    row = await debtor(platform, tenant.tenant_id, left)
    assert row is not None and row.assigned_to == "op-1"


@pytest.mark.asyncio
async def test_the_daily_run_puts_cards_left_open_before_the_day_back_in_the_pool(
    platform: Platform, tenant: Identity
) -> None:
    """A card abandoned yesterday that nobody may take (here: paid off) would stay first among the
    lapsed cards for ever; the daily run returns it to the pool. A card leased today stays leased."""
    yesterday, today = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(yesterday, 100), fact(today, 200))
    day = date(2026, 12, 1)
    locks = {
        yesterday: datetime(2026, 11, 30, 18, 0, tzinfo=UTC),
        today: datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    }
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        for debtor_id, until in locks.items():
            await uow.execute(
                sa.update(debtors)
                .where(debtors.c.id == uuid.UUID(debtor_id))
                .values(status="in_lavorazione", assigned_to="op-away", locked_until=until, total_due_cents=0)
            )
        await handlers.run_daily(uow, tenant.tenant_id, day)
        await uow.commit()
    left, held = (
        await debtor(platform, tenant.tenant_id, yesterday),
        await debtor(platform, tenant.tenant_id, today),
    )
    assert left is not None and (left.status, left.assigned_to, left.locked_until) == (
        "da_lavorare",
        None,
        None,
    )
    assert held is not None and (held.status, held.assigned_to) == ("in_lavorazione", "op-away")


@pytest.mark.asyncio
async def test_take_next_skips_rows_locked_by_an_open_transaction(
    platform: Platform, tenant: Identity
) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(a, 900), fact(b, 800))
    db = platform.databases["contact"]
    async with db.unit_of_work(tenant.tenant_id) as first, db.unit_of_work(tenant.tenant_id) as second:
        got_first = await repository_lease.take_next(first, tenant.tenant_id, "op-1", uncapped())
        # `first` has not committed: without SKIP LOCKED this would wait, or return the same debtor
        got_second = await repository_lease.take_next(second, tenant.tenant_id, "op-2", uncapped())
        await first.commit()
        await second.commit()
    assert {str(got_first), str(got_second)} == {a, b}


@pytest.mark.asyncio
async def test_due_callbacks_come_back_future_ones_do_not(platform: Platform, tenant: Identity) -> None:
    due, future = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(due, 100), fact(future, 999_999))
    now = datetime.now(UTC)
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        for debtor_id, when in ((due, now - timedelta(minutes=5)), (future, now + timedelta(days=1))):
            decision = OutcomeDecision(Outcome.RICHIAMARE, "", Status.DA_RICHIAMARE, when)
            await repository.record_outcome(
                uow, tenant.tenant_id, uuid.UUID(debtor_id), "op-1", decision, now
            )
        got = await repository_lease.take_next(uow, tenant.tenant_id, "op-1", uncapped())
        nothing = await repository_lease.take_next(uow, tenant.tenant_id, "op-2", uncapped())
        await uow.commit()
    assert (str(got), nothing) == (due, None)


@pytest.mark.asyncio
async def test_record_outcome_updates_status_and_history(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 100))
    now = datetime.now(UTC)
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await repository_lease.take_next(uow, tenant.tenant_id, "op-1", uncapped())
        decision = OutcomeDecision(Outcome.PROMESSA_PAGAMENTO, "paga lunedì", Status.LAVORATO, None)
        await repository.record_outcome(uow, tenant.tenant_id, uuid.UUID(d), "op-1", decision, now)
        history = await repository.contact_history(uow, tenant.tenant_id, uuid.UUID(d))
        await uow.commit()
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.status, row.last_outcome, row.assigned_to, row.locked_until) == (
        "lavorato",
        "promessa_pagamento",
        None,
        None,
    )
    assert [(h.outcome, h.note, h.operator) for h in history] == [
        ("promessa_pagamento", "paga lunedì", "op-1")
    ]


@pytest.mark.asyncio
async def test_access_log_is_append_only(platform: Platform, tenant: Identity) -> None:
    d = uuid.uuid4()
    db = platform.databases["contact"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        await repository.access.record(uow, tenant.tenant_id, "op-1", "view_card", d)
        await uow.commit()
    async with db.unit_of_work(tenant.tenant_id) as uow:
        assert [r.user_id for r in await repository.access.entries(uow, tenant.tenant_id, d)] == ["op-1"]
        with pytest.raises(DBAPIError, match="append-only"):
            await uow.execute(sa.delete(access_log).where(access_log.c.subject_id == d))


@pytest.mark.asyncio
async def test_cross_tenant_isolation(platform: Platform, tenant: Identity, other_tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 7_000))
    db = platform.databases["contact"]
    a, b = tenant.tenant_id, other_tenant.tenant_id
    async with db.unit_of_work(b) as uow:
        assert await repository.get_debtor(uow, b, uuid.UUID(d)) is None
        assert await repository_queue.queue_page(uow, b, None, ("op-b", None), datetime.now(UTC), 10, 0) == []
        counts, barred = await repository_queue.status_counts(uow, b, ("op-b", None), datetime.now(UTC))
        assert sum(counts.values()) == 0 and barred == 0
        assert await repository_lease.take_next(uow, b, "op-b", uncapped()) is None
        # even asking for tenant A explicitly, RLS scopes B's transaction to B
        assert await repository.get_debtor(uow, a, uuid.UUID(d)) is None
        updated = await uow.execute(sa.update(debtors).where(debtors.c.id == uuid.UUID(d)).values(name="X"))
        assert updated.rowcount == 0
        await uow.commit()
    async with db.unit_of_work(b) as uow:
        decision = OutcomeDecision(Outcome.CONTATTATO, "", Status.LAVORATO, None)
        with pytest.raises(DBAPIError):
            # the contact row would point at a debtor B does not have
            await repository.record_outcome(uow, b, uuid.UUID(d), "op-b", decision, datetime.now(UTC))
    async with db.unit_of_work(b) as uow:
        with pytest.raises(DBAPIError, match="row-level security"):
            await repository.access.record(uow, a, "op-b", "view_card", uuid.UUID(d))
    row = await debtor(platform, a, d)
    assert row is not None
    assert (row.name, row.status, row.total_due_cents) == ("ROSSI MARIO", "da_lavorare", 7_000)


def record(debtor_id: uuid.UUID, value: str, contact_id: uuid.UUID | None = None) -> ContactRecord:
    return ContactRecord(
        contact_id=contact_id or uuid.uuid4(),
        debtor_id=debtor_id,
        kind="phone",
        value=value,
        source="comune",
        found_on=None,
        confidence=60,
        active=True,
    )


@pytest.mark.asyncio
async def test_contacts_cross_tenant_isolation(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    db = platform.databases["contact"]
    a, b = tenant.tenant_id, other_tenant.tenant_id
    d = uuid.uuid4()
    mine = record(d, "+393471234567")
    async with db.unit_of_work(a) as uow:
        await repository.upsert_contacts(uow, a, [mine])
        await uow.commit()
    async with db.unit_of_work(b) as uow:
        assert await repository.active_contacts(uow, b, d) == []
        assert await repository.active_contacts(uow, a, d) == []
        assert await repository.debtor_contact(uow, a, mine.contact_id) is None
        # the same contact id under B is B's own row; A's is untouched
        await repository.upsert_contacts(uow, b, [record(d, "+390000000000", mine.contact_id)])
        updated = await uow.execute(
            sa.update(debtor_contacts)
            .where(debtor_contacts.c.contact_id == mine.contact_id)
            .values(active=False)
        )
        assert updated.rowcount == 1  # only B's row
        await uow.commit()
    async with db.unit_of_work(b) as uow:
        with pytest.raises(DBAPIError, match="row-level security"):
            await repository.upsert_contacts(uow, a, [record(d, "+391111111111")])
    async with db.unit_of_work(a) as uow:
        row = await repository.debtor_contact(uow, a, mine.contact_id)
    assert row is not None
    assert (row.value, row.active, row.tenant_id) == ("+393471234567", True, a)
