"""The reporting ledger: revocations, refunds, plans, promises and contact data projected from the
other services' events, and `riscossa replay reporting` rebuilding the same state from the log."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from services.contracts import (
    ChargesPaid,
    ChargesRevoked,
    DebtorContactUpdated,
    DisputeOpened,
    Event,
    OutcomeRecorded,
    PaymentFact,
    PaymentRefunded,
    PaymentRevoked,
    PaymentsReceived,
    PlanCreated,
    PlanLapsed,
    PlanReamounted,
    PositionFact,
    PositionSettled,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from services.platform import Platform
from services.replay import replay_reporting
from services.reporting import handlers_cases
from services.reporting import repository as repo
from services.reporting.models import batches, outcomes, payments, positions, tenant_totals
from services.reporting.models_ledger import charges, debtors, event_log, plans, refunds
from tests.reporting.helpers import deliver, fact, paid, registered
from tests.reporting.test_cases import to_cases
from tests.support import make_identity

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def flow_payment(position: PositionFact, cents: int, flow: str = "2026-03-05ABI-S001") -> PaymentFact:
    return PaymentFact(
        payment_id=str(uuid.uuid4()),
        position_id=position.position_id,
        debtor_id=position.debtor_id,
        amount_cents=cents,
        paid_on="2026-03-04",
        source="flow",
        iuv=uuid.uuid4().hex[:17],
        receipt_ref="R-" + uuid.uuid4().hex[:8],
        flow_id=flow,
        settled=False,
    )


def outcome(debtor_id: str, code: str, minutes: int) -> OutcomeRecorded:
    at = START + timedelta(minutes=minutes)
    return OutcomeRecorded(str(uuid.uuid4()), debtor_id, code, "Olga Russo", at.isoformat())


def revoked(p: PaymentFact) -> PaymentRevoked:
    return PaymentRevoked(
        p.payment_id, p.position_id, p.debtor_id, p.amount_cents, p.iuv, p.receipt_ref, p.flow_id
    )


def refunded(p: PaymentFact, cents: int) -> PaymentRefunded:
    return PaymentRefunded(
        str(uuid.uuid4()), p.payment_id, p.position_id, p.debtor_id, cents, "2026-03-10", "doppio", "Anna"
    )


def history() -> tuple[list[Event], dict[str, Any]]:
    """A small campaign: three debtors, payments by flow (one revoked, one partly refunded), a plan
    that lapsed, calls, a promise kept and one broken, a number found by tracing."""
    a, b, c = fact(50_000, "IMU", 2021), fact(30_000, "TARI", 2022), fact(12_345, "CDS", 2023)
    pa, pb, pc = flow_payment(a, 50_000), flow_payment(b, 10_000), flow_payment(c, 2_345)
    plan_id, charged = str(uuid.uuid4()), str(uuid.uuid4())
    events: list[Event] = [
        registered(a, b, c),
        outcome(a.debtor_id, "non_risponde", 0),
        outcome(a.debtor_id, "promessa_pagamento", 60),
        PromiseMade(
            str(uuid.uuid4()), a.debtor_id, str(uuid.uuid4()), 50_000, "2026-03-20", "Olga", START.isoformat()
        ),
        PaymentsReceived(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, payments=(pa, pb, pc)),
        PositionSettled(a.position_id, a.debtor_id, 50_000, "2026-03-04"),
        PromiseKept(str(uuid.uuid4()), a.debtor_id, 50_000, 50_000, "2026-03-04"),
        revoked(pc),
        refunded(pb, 2_500),
        outcome(b.debtor_id, "vuole_rateizzare", 5),
        PlanCreated(plan_id, b.debtor_id, (b.position_id,), "TARI", 20_000, 10, "2026-04-01", "Olga"),
        # The office corrected the position: the plan's open installments spread again (and one
        # partly paid closed: eleven in all).
        PlanReamounted(plan_id, b.debtor_id, b.position_id, 5_000, 12_000, 11),
        PlanLapsed(plan_id, b.debtor_id, (b.position_id,), "TARI", 20_000, "2026-09-01"),
        # The plan's c.803 charges: paid apart (their own notice), then revoked, then paid again.
        ChargesPaid(charged, plan_id, b.debtor_id, "TARI", 600, "2026-04-20", "0" * 17, "C-1", ""),
        ChargesRevoked(charged, plan_id, b.debtor_id, 600, "FDR-9"),
        ChargesPaid(str(uuid.uuid4()), plan_id, b.debtor_id, "TARI", 600, "2026-05-02", "1" * 17, "C-2", ""),
        PromiseBroken(str(uuid.uuid4()), c.debtor_id, 5_000, 0, "2026-03-15"),
        outcome(c.debtor_id, "terzo_risponde", 10),  # the taxpayer not reached
        DebtorContactUpdated(
            c.debtor_id,
            c.fiscal_code,
            str(uuid.uuid4()),
            "phone",
            "+393331234567",
            "tracing",
            True,
            "phone",
            ("+393331234567",),
        ),
        paid(c, 1_000),
    ]
    return events, {"a": a, "b": b, "c": c, "plan_id": plan_id}


async def rows(platform: Platform, tenant: uuid.UUID, table: sa.Table, *skip: str) -> list[tuple[Any, ...]]:
    columns = [col for col in table.c if col.name not in skip]
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        result = await uow.execute(sa.select(*columns).where(table.c.tenant_id == tenant))
        return sorted((tuple(r) for r in result), key=repr)


SNAPSHOT = (
    (tenant_totals, ("updated_at",)),
    (positions, ()),
    (payments, ()),
    (refunds, ()),
    (plans, ()),
    (debtors, ()),
    (outcomes, ()),
    (batches, ()),
    (charges, ()),
)


async def snapshot(platform: Platform, tenant: uuid.UUID) -> list[list[tuple[Any, ...]]]:
    return [await rows(platform, tenant, table, *skip) for table, skip in SNAPSHOT]


@pytest.mark.asyncio
async def test_the_ledger_follows_payments_plans_promises_and_calls(platform: Platform) -> None:
    tenant = uuid.uuid4()
    events, known = history()
    await deliver(platform, tenant, *events)
    [totals] = await rows(platform, tenant, tenant_totals, "tenant_id", "updated_at", "debtors_contacted")
    # assigned, collected (50,000 + 10,000 - 2,500 refunded + 1,000; 2,345 revoked), positions,
    # outcomes, payments
    assert totals == (92_345, 58_500, 3, 4, 4)
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        assert (await repo.summary(uow, tenant)).debtors_contacted == 3
    by_position = {r.position_id: r for r in await rows_of(platform, tenant, positions)}
    a, b, c = known["a"], known["b"], known["c"]
    assert by_position[uuid.UUID(a.position_id)].collected_cents == 50_000
    assert str(by_position[uuid.UUID(a.position_id)].settled_on) == "2026-03-04"
    assert by_position[uuid.UUID(b.position_id)].collected_cents == 7_500
    assert by_position[uuid.UUID(b.position_id)].plan_id == uuid.UUID(known["plan_id"])
    assert by_position[uuid.UUID(c.position_id)].collected_cents == 1_000
    people = {r.debtor_id: r for r in await rows_of(platform, tenant, debtors)}
    da, db_, dc = (people[uuid.UUID(p.debtor_id)] for p in (a, b, c))
    assert (da.attempts, da.conversations, da.last_outcome) == (2, 1, "promessa_pagamento")
    assert (da.promises, da.promised_cents, da.promise_state) == (1, 50_000, "kept")
    assert (db_.attempts, db_.conversations, db_.last_outcome) == (1, 1, "vuole_rateizzare")
    assert (dc.attempts, dc.conversations, dc.promise_state, dc.grade, dc.traced) == (
        1,
        0,
        "broken",
        "phone",
        1,
    )
    [plan] = await rows_of(platform, tenant, plans)
    assert (plan.installments, str(plan.lapsed_on), plan.residual_cents) == (11, "2026-09-01", 20_000)
    assert plan.corrected_cents == 5_000
    revoked_rows = [r for r in await rows_of(platform, tenant, payments) if r.revoked_on is not None]
    assert [(r.amount_cents, r.source) for r in revoked_rows] == [(2_345, "flow")]
    # The c.803 charges stay apart: in no position's collected amount, one revoked, one counted.
    paid_charges = sorted(
        (r.amount_cents, r.revenue_type, r.revoked_on is None)
        for r in await rows_of(platform, tenant, charges)
    )
    assert paid_charges == [(600, "TARI", False), (600, "TARI", True)]


async def rows_of(platform: Platform, tenant: uuid.UUID, table: sa.Table) -> list[Any]:
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        return list(await uow.execute(sa.select(table).where(table.c.tenant_id == tenant)))


@pytest.mark.asyncio
async def test_a_revocation_before_its_payment_leaves_the_payment_uncounted(platform: Platform) -> None:
    tenant = uuid.uuid4()
    position = fact(10_000)
    payment = flow_payment(position, 4_000)
    await deliver(platform, tenant, registered(position), revoked(payment))
    await deliver(platform, tenant, PaymentsReceived(batch_id="x", chunk=1, chunks=1, payments=(payment,)))
    await deliver(platform, tenant, revoked(payment))  # once more: nothing changes
    [totals] = await rows(platform, tenant, tenant_totals, "tenant_id", "updated_at")
    assert totals[1] == 0
    # The same for the c.803 charges: revoked first, then paid: known, and never counted.
    charge = ChargesPaid(
        str(uuid.uuid4()), str(uuid.uuid4()), position.debtor_id, "IMU", 300, "2026-03-02", "", "", ""
    )
    gone = ChargesRevoked(charge.payment_id, charge.plan_id, charge.debtor_id, 300, "FDR-1")
    await deliver(platform, tenant, gone, charge, gone)
    [row] = await rows_of(platform, tenant, charges)
    assert (row.revenue_type, str(row.paid_on), row.revoked_on is not None) == ("IMU", "2026-03-02", True)


async def decide(
    platform: Platform, tenant: uuid.UUID, answer: str, position: PositionFact, corrected: str
) -> None:
    """The office answers a dispute on the position's debtor: a cancellation or a correction."""
    case = str(uuid.uuid4())
    await to_cases(
        platform, tenant, DisputeOpened(case, position.debtor_id, "Non dovuto", "op-1", START.isoformat())
    )
    office = make_identity(tenant, "comune-x", roles=("comune_admin",), user_id="ut-admin")
    typed = handlers_cases.Typed(answer, "Verificato in archivio", corrected, (position.position_id,))
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        await handlers_cases.answer(uow, office, uuid.UUID(case), typed)
        await uow.commit()


@pytest.mark.asyncio
async def test_replay_rebuilds_the_same_state_as_live(platform: Platform) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    events, _ = history()
    extra, corrected = fact(4_000), fact(9_000)
    events.insert(1, registered(extra, corrected))
    await deliver(platform, tenant, *events)
    await decide(platform, tenant, "cancelled", extra, "")
    await decide(platform, tenant, "corrected", corrected, "60,00")
    [totals] = await rows(platform, tenant, tenant_totals, "tenant_id", "updated_at")
    assert totals[0] == 92_345 + 6_000  # the sgravio leaves the assigned total, the correction moves it
    assert totals[2] == 4  # and the cancelled position leaves the positions assigned
    await deliver(platform, other, registered(fact(777)))
    live, other_live = await snapshot(platform, tenant), await snapshot(platform, other)
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        logged = (
            await uow.execute(sa.select(sa.func.count()).where(event_log.c.tenant_id == tenant))
        ).scalar()
    assert logged == len(events)

    # A projection gone wrong (a lost payment, a wrong total), then the replay.
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        await uow.execute(sa.delete(refunds).where(refunds.c.tenant_id == tenant))
        await uow.execute(
            sa.update(tenant_totals).where(tenant_totals.c.tenant_id == tenant).values(collected_cents=1)
        )
        await uow.commit()
    assert await snapshot(platform, tenant) != live
    done = await replay_reporting(platform, [tenant])
    assert done == {tenant: len(events)}
    assert await snapshot(platform, tenant) == live
    assert await snapshot(platform, other) == other_live


@pytest.mark.asyncio
async def test_a_payment_refunded_then_revoked_comes_off_once(platform: Platform) -> None:
    tenant = uuid.uuid4()
    position = fact(10_000)
    payment = flow_payment(position, 10_000)
    settled = PositionSettled(position.position_id, position.debtor_id, 10_000, "2026-03-04")
    received = PaymentsReceived(batch_id="x", chunk=1, chunks=1, payments=(payment,))
    await deliver(platform, tenant, registered(position), received, settled)
    await deliver(platform, tenant, refunded(payment, 3_000))
    [row] = await rows_of(platform, tenant, positions)
    assert (row.collected_cents, row.settled_on) == (7_000, None)  # owed again: no longer settled
    await deliver(platform, tenant, revoked(payment), refunded(payment, 1_000))
    [row] = await rows_of(platform, tenant, positions)
    [totals] = await rows(platform, tenant, tenant_totals, "tenant_id", "updated_at")
    assert (row.collected_cents, totals[1]) == (0, 0)  # not -3,000: the refund came off already
    # The same events projected again from scratch (a replay) give the same.
    await replay_reporting(platform, [tenant])
    [row] = await rows_of(platform, tenant, positions)
    assert row.collected_cents == 0


@pytest.mark.asyncio
async def test_the_grade_comes_with_the_positions_and_a_trace_changes_it(platform: Platform) -> None:
    """The relazione said «Non rilevato» for every debtor never traced: the ingest's grade of each
    debtor comes with its positions now (none usable: «Irreperibile»), a trace after it wins."""
    tenant = uuid.uuid4()
    reachable = dataclasses.replace(fact(10_000), debtor_grade="phone")
    lost = dataclasses.replace(fact(20_000), debtor_grade="none")
    old = fact(30_000)  # an event of before: no grade, none written
    await deliver(platform, tenant, registered(reachable, lost, old))
    graded = {str(r.debtor_id): r.grade for r in await rows_of(platform, tenant, debtors)}
    assert graded == {reachable.debtor_id: "phone", lost.debtor_id: "none"}
    traced = DebtorContactUpdated(
        debtor_id=lost.debtor_id,
        fiscal_code=lost.fiscal_code,
        contact_id=str(uuid.uuid4()),
        kind="phone",
        value="+393331234567",
        source="tracing",
        active=True,
        grade="phone",
        active_phones=("+393331234567",),
        found_on="2026-03-02",
        confidence=90,
    )
    await deliver(platform, tenant, traced)
    graded = {str(r.debtor_id): r.grade for r in await rows_of(platform, tenant, debtors)}
    assert graded[lost.debtor_id] == "phone"
