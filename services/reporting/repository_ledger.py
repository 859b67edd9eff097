"""Queries of the reporting ledger: revocations and refunds of payments, settled positions, plans,
one row per debtor (attempts, conversations, promises, tracing) and the event log. Every function
takes the tenant and filters by it (RLS too)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.reporting.models import batches, outcomes, payments, positions, tenant_totals
from services.reporting.models_ledger import charges, debtor_notices, debtors, event_log, plans, refunds

# What `riscossa replay reporting` empties and rebuilds from the event log, children first.
PROJECTED_TABLES = (
    refunds,
    payments,
    plans,
    debtors,
    outcomes,
    positions,
    batches,
    tenant_totals,
    charges,
    debtor_notices,
)


@dataclass(frozen=True)
class Revocation:
    payment_id: uuid.UUID
    position_id: uuid.UUID
    debtor_id: uuid.UUID
    amount_cents: int
    revoked_on: date
    iuv: str
    receipt_ref: str
    flow_id: str


@dataclass(frozen=True)
class Refund:
    refund_id: uuid.UUID
    payment_id: uuid.UUID
    position_id: uuid.UUID
    amount_cents: int
    refunded_on: date
    reason: str


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    consumer: str
    body: bytes


# --- payments ------------------------------------------------------------------------------------


async def revoke_payment(uow: UnitOfWork, tenant_id: uuid.UUID, fact: Revocation) -> int | None:
    """Mark a counted payment revoked; returns what of it paid the debt, that it no longer
    contributes (its plan's interest never counted as collected), or None when it
    was revoked already. A revocation that arrives before its payment leaves a revoked row, so the
    payment, when it comes, is known and never counted."""
    marked = await uow.execute(
        sa.update(payments)
        .where(
            payments.c.tenant_id == tenant_id,
            payments.c.payment_id == fact.payment_id,
            payments.c.revoked_on.is_(None),
        )
        .values(revoked_on=fact.revoked_on)
        .returning(payments.c.amount_cents - payments.c.interest_cents)
    )
    amount = marked.scalar_one_or_none()
    if amount is not None:
        return int(amount)
    placeholder = {
        "tenant_id": tenant_id,
        "payment_id": fact.payment_id,
        "position_id": fact.position_id,
        "debtor_id": fact.debtor_id,
        "amount_cents": fact.amount_cents,
        "paid_on": fact.revoked_on,
        "revoked_on": fact.revoked_on,
        "source": "flow",
        "iuv": fact.iuv,
        "receipt_ref": fact.receipt_ref,
        "flow_id": fact.flow_id,
    }
    await uow.execute(pg_insert(payments).values(placeholder).on_conflict_do_nothing())
    return None


async def refunded_of(uow: UnitOfWork, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> int:
    """What was refunded so far of a payment."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(refunds.c.amount_cents), 0)).where(
        refunds.c.tenant_id == tenant_id, refunds.c.payment_id == payment_id
    )
    return int((await uow.execute(stmt)).scalar_one())


async def interest_of(uow: UnitOfWork, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> tuple[int, int] | None:
    """A payment's amount and what of it paid a plan's interest; None while it is not known."""
    stmt = sa.select(payments.c.amount_cents, payments.c.interest_cents).where(
        payments.c.tenant_id == tenant_id, payments.c.payment_id == payment_id
    )
    row = (await uow.execute(stmt)).first()
    return None if row is None else (int(row.amount_cents), int(row.interest_cents))


async def is_revoked(uow: UnitOfWork, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> bool:
    stmt = sa.select(payments.c.revoked_on.is_not(None)).where(
        payments.c.tenant_id == tenant_id, payments.c.payment_id == payment_id
    )
    return bool((await uow.execute(stmt)).scalar_one_or_none())


async def unsettle(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> None:
    """A position owed again (a payment revoked or refunded) is no longer settled."""
    await uow.execute(
        sa.update(positions)
        .where(
            positions.c.tenant_id == tenant_id,
            positions.c.position_id == position_id,
            positions.c.collected_cents < positions.c.amount_cents,
        )
        .values(settled_on=None)
    )


async def insert_refund(uow: UnitOfWork, tenant_id: uuid.UUID, refund: Refund) -> bool:
    """Record a refund once; False if its id is known."""
    values = {"tenant_id": tenant_id, **refund.__dict__}
    stmt = pg_insert(refunds).values(values).on_conflict_do_nothing().returning(refunds.c.refund_id)
    return (await uow.execute(stmt)).first() is not None


async def settle_if_paid(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, on: date) -> None:
    """A position whose collected amount reached its amount is settled on `on` (the day of the
    payment that paid it off), unless it was settled already."""
    p = positions
    await uow.execute(
        sa.update(p)
        .where(p.c.tenant_id == tenant_id, p.c.position_id == position_id, p.c.settled_on.is_(None))
        .where(p.c.state != "cancelled", p.c.collected_cents >= p.c.amount_cents)
        .values(settled_on=on)
    )


async def settle_position(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, on: date) -> None:
    await uow.execute(
        sa.update(positions)
        .where(positions.c.tenant_id == tenant_id, positions.c.position_id == position_id)
        .values(settled_on=on)
    )


# --- plans ---------------------------------------------------------------------------------------


async def insert_plan(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> bool:
    """Record a plan once and point its positions at it; False if the plan is known."""
    stmt = pg_insert(plans).values(tenant_id=tenant_id, **values).on_conflict_do_nothing()
    if (await uow.execute(stmt.returning(plans.c.plan_id))).first() is None:
        return False
    await uow.execute(
        sa.update(positions)
        .where(positions.c.tenant_id == tenant_id, positions.c.position_id.in_(values["position_ids"]))
        .values(plan_id=values["plan_id"])
    )
    return True


async def extend_plan(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, installments: int) -> None:
    await uow.execute(
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.plan_id == plan_id)
        .values(extensions=plans.c.extensions + 1, installments=installments)
    )


async def reamount_plan(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, installments: int, cut_cents: int
) -> None:
    """A plan spread again after a correction took `cut_cents` off: its installments now."""
    await uow.execute(
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.plan_id == plan_id)
        .values(installments=installments, corrected_cents=plans.c.corrected_cents + cut_cents)
    )


async def lapse_plan(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, lapsed_on: date, residual_cents: int
) -> None:
    await uow.execute(
        sa.update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.plan_id == plan_id)
        .values(lapsed_on=lapsed_on, residual_cents=residual_cents)
    )


# --- debtors -------------------------------------------------------------------------------------


async def upsert_debtor(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    insert: dict[str, Any],
    update: dict[str, Any],
) -> int:
    """Create the debtor's row with `insert`, or change the existing one with `update` (functions of
    the `excluded` row giving SQL expressions); returns the debtor's attempts afterwards."""
    stmt = pg_insert(debtors).values(tenant_id=tenant_id, debtor_id=debtor_id, **insert)
    set_ = {name: change(stmt.excluded) for name, change in update.items()}
    upsert = stmt.on_conflict_do_update(
        index_elements=[debtors.c.debtor_id], set_=set_, where=debtors.c.tenant_id == tenant_id
    )
    return int((await uow.execute(upsert.returning(debtors.c.attempts))).scalar_one())


async def note_outcome(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, outcome: str, at: datetime, answered: bool
) -> None:
    """One more attempt (and conversation, when the taxpayer answered); the latest outcome wins."""

    def newer(ex: Any) -> Any:
        return sa.or_(debtors.c.last_outcome_at.is_(None), debtors.c.last_outcome_at <= ex.last_outcome_at)

    await upsert_debtor(
        uow,
        tenant_id,
        debtor_id,
        {"attempts": 1, "conversations": int(answered), "last_outcome": outcome, "last_outcome_at": at},
        {
            "attempts": lambda ex: debtors.c.attempts + 1,
            "conversations": lambda ex: debtors.c.conversations + ex.conversations,
            "last_outcome": lambda ex: sa.case((newer(ex), ex.last_outcome), else_=debtors.c.last_outcome),
            "last_outcome_at": lambda ex: sa.func.greatest(debtors.c.last_outcome_at, ex.last_outcome_at),
        },
    )


async def note_promise(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, state: str, cents: int, due_on: date | None
) -> None:
    """A promise made (counted, its amount added) or its fate (kept, broken)."""
    made = state == "made"
    insert = {"promises": int(made), "promised_cents": cents if made else 0, "promise_state": state}
    update: dict[str, Any] = {"promise_state": lambda ex: ex.promise_state}
    if made:
        insert["promise_due_on"] = due_on
        update |= {
            "promises": lambda ex: debtors.c.promises + 1,
            "promised_cents": lambda ex: debtors.c.promised_cents + ex.promised_cents,
            "promise_due_on": lambda ex: ex.promise_due_on,
        }
    await upsert_debtor(uow, tenant_id, debtor_id, insert, update)


async def note_grades(uow: UnitOfWork, tenant_id: uuid.UUID, grades: dict[uuid.UUID, str]) -> None:
    """The debtors' grades as the ingest gave them with a batch's positions (the latest wins, as
    a trace's does: `note_contact`)."""
    if not grades:
        return
    stmt = pg_insert(debtors).values(
        [{"tenant_id": tenant_id, "debtor_id": d, "grade": g} for d, g in sorted(grades.items())]
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[debtors.c.debtor_id],
        set_={"grade": stmt.excluded.grade},
        where=debtors.c.tenant_id == tenant_id,
    )
    await uow.execute(upsert)


async def note_notice(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    """A notice issued to a debtor (`debtor_notices`' columns but the tenant; once: a replayed or
    repeated event changes nothing)."""
    await uow.execute(
        pg_insert(debtor_notices).values(tenant_id=tenant_id, **values).on_conflict_do_nothing()
    )


async def note_contact(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, grade: str, active: bool
) -> None:
    """A contact datum found (traced) or found wrong (invalidated), with the debtor's new grade."""
    counter = "traced" if active else "invalidated"
    await upsert_debtor(
        uow,
        tenant_id,
        debtor_id,
        {"grade": grade, counter: 1},
        {"grade": lambda ex: ex.grade, counter: lambda ex: debtors.c[counter] + 1},
    )


# --- the event log -------------------------------------------------------------------------------


async def log_event(
    uow: UnitOfWork, tenant_id: uuid.UUID, consumer: str, message_id: uuid.UUID, routing_key: str, body: bytes
) -> None:
    values = {
        "tenant_id": tenant_id,
        "consumer": consumer,
        "message_id": message_id,
        "routing_key": routing_key,
        "body": body,
    }
    await uow.execute(pg_insert(event_log).values(values).on_conflict_do_nothing())


async def logged_events(
    uow: UnitOfWork, tenant_id: uuid.UUID, chunk: int = 200
) -> AsyncIterator[LoggedEvent]:
    """The tenant's logged events in the order they were projected, read a chunk at a time."""
    after = 0
    while True:
        stmt = (
            sa.select(event_log.c.seq, event_log.c.consumer, event_log.c.body)
            .where(event_log.c.tenant_id == tenant_id, event_log.c.seq > after)
            .order_by(event_log.c.seq)
            .limit(chunk)
        )
        rows = (await uow.execute(stmt)).all()
        for row in rows:
            yield LoggedEvent(row.seq, row.consumer, bytes(row.body))
        if len(rows) < chunk:
            return
        after = rows[-1].seq


async def clear_projections(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """Empty the tenant's projected tables before a replay (the log itself stays)."""
    for table in PROJECTED_TABLES:
        await uow.execute(sa.delete(table).where(table.c.tenant_id == tenant_id))


async def lock_projections(uow: UnitOfWork, tenant_id: uuid.UUID, consumer: str) -> None:
    """The lock the projections consumer takes per Comune (`Consumer.serialize_per_tenant`)."""
    await uow.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{consumer}:{tenant_id}"}
    )


async def notices_of(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Any]:
    """The pagoPA notices issued to the debtor, the latest due first."""
    n = debtor_notices.c
    stmt = (
        sa.select(debtor_notices)
        .where(n.tenant_id == tenant_id, n.debtor_id == debtor_id)
        .order_by(n.due_on.desc().nulls_last(), n.iuv)
    )
    return list((await uow.execute(stmt)).all())
