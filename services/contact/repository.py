"""All queries of the contact service; every function takes the tenant and filters by it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contact.domain import (
    CALLBACK_GRACE,
    LOCK_DURATION,
    ROME,
    ContactRecord,
    OutcomeDecision,
    Status,
    card_order,
    dedupe_records,
)
from services.contact.models import (
    access_log,
    contacts,
    debtor_contacts,
    debtor_payments,
    debtor_positions,
    debtors,
)
from services.contact.repository_conduct import CallLimits, callable_now
from services.contact.repository_lists import pool_conditions
from services.contact.repository_promises import overdue_debtors
from services.contact.repository_queue import refresh_scores
from services.contracts import PositionFact
from services.kernel import db
from services.kernel.db import UnitOfWork

Row = sa.Row[Any]


async def register_positions(uow: UnitOfWork, tenant_id: uuid.UUID, facts: Sequence[PositionFact]) -> int:
    """Upsert debtors and positions; totals are recomputed so a repeated position never counts twice."""
    if not facts:
        return 0
    debtor_rows: dict[str, dict[str, Any]] = {
        f.debtor_id: {
            "id": uuid.UUID(f.debtor_id),
            "tenant_id": tenant_id,
            "fiscal_code": f.fiscal_code,
            "name": f.debtor_name,
        }
        for f in facts
    }
    # DO UPDATE (not DO NOTHING) locks each debtor row, serialising concurrent chunks of one debtor
    # so the recomputed totals below always see the other chunk's committed positions.
    stmt = pg_insert(debtors).values(sorted(debtor_rows.values(), key=lambda r: r["id"]))
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[debtors.c.id, debtors.c.tenant_id],
            set_={"fiscal_code": stmt.excluded.fiscal_code, "name": stmt.excluded.name},
        )
    )
    inserted = await uow.execute(
        pg_insert(debtor_positions)
        .values([_position_row(tenant_id, f) for f in facts])
        .on_conflict_do_nothing(index_elements=[debtor_positions.c.position_id, debtor_positions.c.tenant_id])
        .returning(debtor_positions.c.position_id)
    )
    await _refresh_totals(uow, tenant_id, [r["id"] for r in debtor_rows.values()])
    return len(inserted.all())


def _position_row(tenant_id: uuid.UUID, f: PositionFact) -> dict[str, Any]:
    return {
        "position_id": uuid.UUID(f.position_id),
        "tenant_id": tenant_id,
        "debtor_id": uuid.UUID(f.debtor_id),
        "revenue_type": f.revenue_type,
        "year": f.year,
        "act_number": f.act_number,
        "amount_cents": f.amount_cents,
    }


async def _refresh_totals(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: list[uuid.UUID]) -> None:
    """Still due = positions assigned − payments received (never below zero)."""
    p, pay = debtor_positions, debtor_payments
    paid = (
        sa.select(sa.func.coalesce(sa.func.sum(pay.c.amount_cents), 0))
        .where(pay.c.tenant_id == tenant_id, pay.c.debtor_id == p.c.debtor_id)
        .scalar_subquery()
    )
    totals = (
        sa.select(
            p.c.debtor_id,
            sa.func.greatest(sa.func.sum(p.c.amount_cents) - sa.func.max(paid), 0).label("total"),
            sa.func.count().label("n"),
            sa.func.min(p.c.year).label("oldest"),
        )
        .where(p.c.tenant_id == tenant_id, p.c.debtor_id.in_(debtor_ids))
        .group_by(p.c.debtor_id)
        .subquery()
    )
    await uow.execute(
        sa.update(debtors)
        .where(debtors.c.tenant_id == tenant_id, debtors.c.id == totals.c.debtor_id)
        .values(
            total_due_cents=totals.c.total,
            positions_count=totals.c.n,
            oldest_year=totals.c.oldest,
            updated_at=sa.func.now(),
        )
    )
    await refresh_scores(uow, tenant_id, debtor_ids)


async def register_payment(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    payment_id: uuid.UUID,
    debtor_id: uuid.UUID,
    position_id: uuid.UUID,
    amount_cents: int,
    paid_on: date,
) -> bool:
    """Record a payment once (by its id) and refresh what the debtor still owes."""
    inserted = await uow.execute(
        pg_insert(debtor_payments)
        .values(
            payment_id=payment_id,
            tenant_id=tenant_id,
            debtor_id=debtor_id,
            position_id=position_id,
            amount_cents=amount_cents,
            paid_on=paid_on,
        )
        .on_conflict_do_nothing(index_elements=[debtor_payments.c.payment_id, debtor_payments.c.tenant_id])
        .returning(debtor_payments.c.payment_id)
    )
    if inserted.first() is None:
        return False
    await _refresh_totals(uow, tenant_id, [debtor_id])
    return True


async def status_counts(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, int]:
    rows = await uow.execute(
        sa.select(debtors.c.status, sa.func.count().label("n"))
        .where(debtors.c.tenant_id == tenant_id)
        .group_by(debtors.c.status)
    )
    counts = {s.value: 0 for s in Status}
    counts.update({r.status: int(r.n) for r in rows})
    return counts


async def list_debtors(
    uow: UnitOfWork, tenant_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> list[Row]:
    stmt = sa.select(debtors).where(debtors.c.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(debtors.c.status == status)
    stmt = stmt.order_by(debtors.c.total_due_cents.desc(), debtors.c.id).limit(limit).offset(offset)
    return list((await uow.execute(stmt)).all())


# A debtor whose promise passed its day unpaid: waiting on it, or back in the pool once broken.
_AFTER_PROMISE = (Status.PROMESSA.value, Status.DA_LAVORARE.value, Status.IN_LAVORAZIONE.value)


async def take_next(
    uow: UnitOfWork, tenant_id: uuid.UUID, user_id: str, limits: CallLimits
) -> uuid.UUID | None:
    """Assign the next workable debtor the conduct rules let be phoned now (`limits`) to
    `user_id`: the one they hold; else a due callback (kept for them first); else a promise past
    its day; else the best `queue_score` of the pool (an index scan: the first that may be phoned
    wins), within the operator's work list if they have one (`repository_lists`). SKIP LOCKED
    keeps two operators apart, and a lock per operator keeps two requests of the same operator (a
    double click) from leasing two debtors: the second waits for the first and is given the
    debtor the first leased."""
    key = sa.func.hashtextextended(f"contact.lease {tenant_id} {user_id}", 0)
    await uow.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    d, now = debtors, limits.now
    today = now.astimezone(ROME).date()
    free = sa.or_(d.c.locked_until.is_(None), d.c.locked_until <= now)
    owing = sa.and_(d.c.total_due_cents > 0, callable_now(limits))
    listed = await pool_conditions(uow, tenant_id, user_id)  # the operator's work list, if any
    for_me_or_anyone = sa.or_(
        d.c.callback_for.is_(None), d.c.callback_for == user_id, d.c.callback_at <= now - CALLBACK_GRACE
    )
    stages = (
        (sa.and_(d.c.assigned_to == user_id, d.c.locked_until > now), (d.c.id,)),
        (
            sa.and_(
                d.c.status == Status.DA_RICHIAMARE.value,
                d.c.callback_at <= now,
                free,
                owing,
                for_me_or_anyone,
            ),
            ((d.c.callback_for == user_id).desc().nulls_last(), d.c.callback_at, d.c.id),
        ),
        (
            sa.and_(
                d.c.id.in_(overdue_debtors(tenant_id, today)),
                d.c.status.in_(_AFTER_PROMISE),
                free,
                owing,
            ),
            (d.c.queue_score.desc(), d.c.id),
        ),
        # The pool, in the order of the partial index `debtors_pool` (a card left open past its
        # lock comes back with it). Nothing is offered once it is paid.
        (
            sa.and_(
                d.c.status.in_((Status.DA_LAVORARE.value, Status.IN_LAVORAZIONE.value)), free, owing, *listed
            ),
            (d.c.queue_score.desc(), d.c.id),
        ),
    )
    for condition, order in stages:
        leased = await _lease(uow, tenant_id, user_id, now, condition, order)
        if leased is not None:
            return leased
    return None


async def _lease(
    uow: UnitOfWork, tenant_id: uuid.UUID, user_id: str, now: datetime, condition: Any, order: Any
) -> uuid.UUID | None:
    d = debtors
    candidate = (
        sa.select(d.c.id)
        .where(d.c.tenant_id == tenant_id, condition)
        .order_by(*order)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        sa.update(d)
        .where(d.c.tenant_id == tenant_id, d.c.id == candidate)
        .values(
            assigned_to=user_id,
            locked_until=now + LOCK_DURATION,
            status=Status.IN_LAVORAZIONE.value,
            updated_at=now,
        )
        .returning(d.c.id)
    )
    return (await uow.execute(stmt)).scalar_one_or_none()


async def get_debtor(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, lock: bool = False
) -> Row | None:
    stmt = sa.select(debtors).where(debtors.c.tenant_id == tenant_id, debtors.c.id == debtor_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await uow.execute(stmt)).first()


async def debtor_positions_of(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    """The debtor's positions, each with what the payments service reported paid on it."""
    p, pay = debtor_positions, debtor_payments
    paid = (
        sa.select(sa.func.coalesce(sa.func.sum(pay.c.amount_cents), 0))
        .where(pay.c.tenant_id == p.c.tenant_id, pay.c.position_id == p.c.position_id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(p, paid.label("paid_cents"))
        .where(p.c.tenant_id == tenant_id, p.c.debtor_id == debtor_id)
        .order_by(p.c.year.desc(), p.c.revenue_type, p.c.act_number)
    )
    return list((await uow.execute(stmt)).all())


async def contact_history(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    c = contacts
    stmt = (
        sa.select(c)
        .where(c.c.tenant_id == tenant_id, c.c.debtor_id == debtor_id)
        .order_by(c.c.recorded_at.desc(), c.c.id)
    )
    return list((await uow.execute(stmt)).all())


async def record_outcome(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    operator: str,
    decision: OutcomeDecision,
    recorded_at: datetime,
    override_reason: str | None = None,
    callback_for: str | None = None,
    operator_name: str | None = None,
) -> uuid.UUID:
    """Store the contact and move the debtor to its next status, releasing the lock."""
    contact_id = uuid.uuid4()
    await uow.execute(
        sa.insert(contacts).values(
            id=contact_id,
            tenant_id=tenant_id,
            debtor_id=debtor_id,
            operator=operator,
            outcome=decision.outcome.value,
            note=decision.note,
            callback_at=decision.callback_at,
            recorded_at=recorded_at,
            override_reason=override_reason,
            operator_name=operator_name,
        )
    )
    await uow.execute(
        sa.update(debtors)
        .where(debtors.c.tenant_id == tenant_id, debtors.c.id == debtor_id)
        .values(
            status=decision.status.value,
            last_outcome=decision.outcome.value,
            callback_at=decision.callback_at,
            callback_for=callback_for if decision.callback_at else None,
            attempts=debtors.c.attempts + 1,
            assigned_to=None,
            locked_until=None,
            updated_at=recorded_at,
        )
    )
    await refresh_scores(uow, tenant_id, [debtor_id])
    return contact_id


async def upsert_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, records: Sequence[ContactRecord]) -> None:
    """Store contact data by contact id, whether or not the debtor is known yet."""
    if not records:
        return
    rows = [{"tenant_id": tenant_id, **vars(r)} for r in dedupe_records(records)]
    dc = debtor_contacts
    stmt = pg_insert(dc).values(sorted(rows, key=lambda r: r["contact_id"]))
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[dc.c.contact_id, dc.c.tenant_id],
            set_={
                "debtor_id": stmt.excluded.debtor_id,
                "kind": stmt.excluded.kind,
                "value": stmt.excluded.value,
                "source": stmt.excluded.source,
                "found_on": sa.func.coalesce(stmt.excluded.found_on, dc.c.found_on),
                "confidence": sa.func.coalesce(stmt.excluded.confidence, dc.c.confidence),
                # Ingest never reactivates a datum marked wrong, so a late or repeated registration
                # must not bring it back to the card.
                "active": dc.c.active & stmt.excluded.active,
                "updated_at": sa.func.now(),
            },
            where=dc.c.tenant_id == tenant_id,
        )
    )


async def active_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    """The debtor's usable contact data in the order the card shows them."""
    dc = debtor_contacts
    stmt = (
        sa.select(dc)
        .where(dc.c.tenant_id == tenant_id, dc.c.debtor_id == debtor_id, dc.c.active)
        .order_by(dc.c.found_on.desc().nulls_last(), dc.c.contact_id)
    )
    rows = list((await uow.execute(stmt)).all())
    return sorted(rows, key=lambda r: card_order(r.kind, r.confidence))


async def debtor_contact(uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID) -> Row | None:
    dc = debtor_contacts
    stmt = sa.select(dc).where(dc.c.tenant_id == tenant_id, dc.c.contact_id == contact_id)
    return (await uow.execute(stmt)).first()


access = db.AccessLog(access_log)


async def record_message(
    uow: UnitOfWork, tenant_id: uuid.UUID, message_id: uuid.UUID, debtor_id: uuid.UUID, entry: dict[str, Any]
) -> bool:
    """A message sent to the debtor (`entry`: operator, outcome, note, recorded_at) joins its contact
    history, once per message id; False when the debtor is not (yet) known here."""
    known = sa.select(debtors.c.id).where(debtors.c.tenant_id == tenant_id, debtors.c.id == debtor_id)
    if (await uow.execute(known)).first() is None:
        return False
    stmt = pg_insert(contacts).values(id=message_id, tenant_id=tenant_id, debtor_id=debtor_id, **entry)
    await uow.execute(stmt.on_conflict_do_nothing(index_elements=[contacts.c.id]))
    return True
