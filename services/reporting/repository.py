"""All queries of the reporting service. Every function takes the tenant and filters by it (RLS too)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contracts import PositionFact
from services.kernel.access_log import AccessLog
from services.kernel.db import UnitOfWork
from services.reporting import domain
from services.reporting.models import (
    access_log,
    batches,
    outcomes,
    payments,
    positions,
    tenant_totals,
)
from services.reporting.models_ledger import debtors, refunds

COUNTERS = ("assigned_cents", "collected_cents", "positions", "outcomes", "payments")


@dataclass(frozen=True)
class Summary:
    totals: domain.Totals
    positions: int
    payments: int
    outcomes: int
    debtors_contacted: int  # worked (called at least once), as the portal's «Lavorati»
    updated_at: datetime | None


# --- what the campaign's figures count -----------------------------------------------------------


def counted_positions(tenant_id: uuid.UUID) -> list[Any]:
    """The positions the campaign's figures count (the dashboard, the portal, the digests): the
    Comune's, less those the office cancelled (sgravio). A debtor counts only through one of them:
    one whose every position was cancelled is neither worked nor reached any more."""
    return [positions.c.tenant_id == tenant_id, positions.c.state != "cancelled"]


def has_counted_position(tenant_id: uuid.UUID, debtor_id: Any) -> Any:
    """Whether the debtor `debtor_id` (a column) has a position the figures count."""
    return sa.exists().where(*counted_positions(tenant_id), positions.c.debtor_id == debtor_id)


# --- projections -------------------------------------------------------------------------------


async def bump_totals(uow: UnitOfWork, tenant_id: uuid.UUID, **deltas: int) -> None:
    """Add `deltas` to the tenant's running counters, creating the row on first use."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters: {unknown}")
    stmt = pg_insert(tenant_totals).values(tenant_id=tenant_id, **deltas)
    stmt = stmt.on_conflict_do_update(
        index_elements=[tenant_totals.c.tenant_id],
        set_={
            **{name: tenant_totals.c[name] + stmt.excluded[name] for name in deltas},
            "updated_at": sa.func.now(),
        },
        where=tenant_totals.c.tenant_id == tenant_id,
    )
    await uow.execute(stmt)


async def insert_positions(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    batch_id: str,
    facts: tuple[PositionFact, ...],
    registered_at: datetime | None = None,
) -> list[uuid.UUID]:
    """Insert positions not seen before (`registered_at`: when the event says they were, so a
    replay keeps the date); returns the ids actually inserted."""
    if not facts:
        return []
    rows = [
        {
            "tenant_id": tenant_id,
            "position_id": uuid.UUID(f.position_id),
            "debtor_id": uuid.UUID(f.debtor_id),
            "fiscal_code": f.fiscal_code,
            "debtor_name": f.debtor_name,
            "revenue_type": f.revenue_type,
            "year": f.year,
            "act_number": f.act_number,
            "amount_cents": f.amount_cents,
            "act_on": f.act_day,
            "batch_id": batch_id,
            **({"registered_at": registered_at} if registered_at else {}),
        }
        for f in facts
    ]
    stmt = pg_insert(positions).values(rows).on_conflict_do_nothing().returning(positions.c.position_id)
    return list((await uow.execute(stmt)).scalars())


async def catch_up_collected(uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: list[uuid.UUID]) -> None:
    """Payments (and their refunds) may arrive before their position: credit them once the position
    exists; revoked payments do not count, refunds are taken off."""
    debt = payments.c.amount_cents - payments.c.interest_cents  # the plan's interest is not the debt's
    counted = sa.select(payments.c.position_id, debt.label("cents")).where(
        payments.c.tenant_id == tenant_id,
        payments.c.position_id.in_(position_ids),
        payments.c.revoked_on.is_(None),
    )
    revoked = sa.select(payments.c.payment_id).where(
        payments.c.tenant_id == tenant_id,
        payments.c.payment_id == refunds.c.payment_id,
        payments.c.revoked_on.is_not(None),
    )
    refunded = sa.select(refunds.c.position_id, (-refunds.c.amount_cents).label("cents")).where(
        refunds.c.tenant_id == tenant_id, refunds.c.position_id.in_(position_ids), ~revoked.exists()
    )
    moves = sa.union_all(counted, refunded).subquery()
    paid = (
        sa.select(moves.c.position_id, sa.func.sum(moves.c.cents).label("paid"))
        .group_by(moves.c.position_id)
        .subquery()
    )
    await uow.execute(
        sa.update(positions)
        .where(positions.c.tenant_id == tenant_id, positions.c.position_id == paid.c.position_id)
        .values(collected_cents=paid.c.paid)
    )


async def _insert_once(
    uow: UnitOfWork, tenant_id: uuid.UUID, table: sa.Table, key: sa.Column[Any], **values: Any
) -> bool:
    """Insert a row of this tenant unless its key is known; False if it was."""
    stmt = pg_insert(table).values(tenant_id=tenant_id, **values).on_conflict_do_nothing().returning(key)
    return (await uow.execute(stmt)).first() is not None


async def insert_payment(uow: UnitOfWork, tenant_id: uuid.UUID, payment: domain.Payment) -> bool:
    """Record a payment once; False if this payment id is already known."""
    values = {name: value for name, value in asdict(payment).items() if value is not None}
    return await _insert_once(uow, tenant_id, payments, payments.c.payment_id, **values)


async def set_flow(uow: UnitOfWork, tenant_id: uuid.UUID, flow_id: str, payment_ids: list[uuid.UUID]) -> None:
    """The reporting flow that reported these payments (known until then from their receipts)."""
    if payment_ids:
        p = payments
        await uow.execute(
            sa.update(p)
            .where(p.c.tenant_id == tenant_id, p.c.payment_id.in_(payment_ids), p.c.flow_id == "")
            .values(flow_id=flow_id)
        )


async def credit_position(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, cents: int) -> None:
    await uow.execute(
        sa.update(positions)
        .where(positions.c.tenant_id == tenant_id, positions.c.position_id == position_id)
        .values(collected_cents=positions.c.collected_cents + cents)
    )


async def insert_outcome(uow: UnitOfWork, tenant_id: uuid.UUID, outcome: domain.Outcome) -> bool:
    """Record an outcome once; False if this contact id is already known."""
    return await _insert_once(uow, tenant_id, outcomes, outcomes.c.contact_id, **asdict(outcome))


async def insert_batch(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> bool:
    stmt = (
        pg_insert(batches)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_nothing()
        .returning(batches.c.batch_id)
    )
    return (await uow.execute(stmt)).first() is not None


# --- reads -------------------------------------------------------------------------------------


async def summary(uow: UnitOfWork, tenant_id: uuid.UUID) -> Summary:
    row = (await uow.execute(sa.select(tenant_totals).where(tenant_totals.c.tenant_id == tenant_id))).first()
    if row is None:
        return Summary(domain.Totals(0, 0), 0, 0, 0, 0, None)
    return Summary(
        domain.Totals(row.assigned_cents, row.collected_cents),
        row.positions,
        row.payments,
        row.outcomes,
        await debtors_worked(uow, tenant_id),
        row.updated_at,
    )


async def debtors_worked(uow: UnitOfWork, tenant_id: uuid.UUID) -> int:
    """The debtors called at least once who have a position the figures count."""
    d = debtors.c
    stmt = sa.select(sa.func.count()).where(
        d.tenant_id == tenant_id, d.attempts > 0, has_counted_position(tenant_id, d.debtor_id)
    )
    return int((await uow.execute(stmt)).scalar_one())


async def totals_by_type(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[domain.GroupTotals]:
    stmt = (
        sa.select(
            positions.c.revenue_type,
            sa.func.count().label("n"),
            sa.func.sum(positions.c.amount_cents).label("assigned"),
            sa.func.sum(positions.c.collected_cents).label("collected"),
        )
        .where(positions.c.tenant_id == tenant_id, positions.c.state == "open")
        .group_by(positions.c.revenue_type)
        .order_by(positions.c.revenue_type)
    )
    return [
        domain.GroupTotals(r.revenue_type, None, r.n, domain.Totals(int(r.assigned), int(r.collected)))
        for r in await uow.execute(stmt)
    ]


async def first_registration(uow: UnitOfWork, tenant_id: uuid.UUID) -> datetime | None:
    stmt = sa.select(sa.func.min(positions.c.registered_at)).where(positions.c.tenant_id == tenant_id)
    value: datetime | None = (await uow.execute(stmt)).scalar_one()
    return value


async def position_collected(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> int | None:
    stmt = sa.select(positions.c.collected_cents).where(
        positions.c.tenant_id == tenant_id, positions.c.position_id == position_id
    )
    value: int | None = (await uow.execute(stmt)).scalar_one_or_none()
    return value


# --- the e-mails sent after the commit (digests, rendiconti) -----------------------------------


def mail_claimable(status: Any, claimed_at: Any, now: datetime) -> Any:
    """When a run may claim a digest's or rendiconto's e-mail again: it failed, or the run that set it
    `sending` at `claimed_at` died before recording the outcome (`domain.SENDING_LEASE` ago)."""
    stale = sa.and_(status == "sending", claimed_at < now - domain.SENDING_LEASE)
    return sa.or_(status == "failed", stale)


# --- settings ----------------------------------------------------------------------------------


access = AccessLog(access_log)
# What names a record of the register of accesses (`web_access.subject_names`): the debtor.
ACCESS_NAMES = [(positions, "debtor_id", positions.c.debtor_name + " · " + positions.c.fiscal_code)]
