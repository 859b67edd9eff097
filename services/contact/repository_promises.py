"""Queries of promises to pay."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.contact.domain import CALLBACK_GRACE, ROME, Status
from services.contact.domain_lists import WorkList
from services.contact.domain_promises import Applied, OpenPromise, Promise
from services.contact.models import debtors, promises
from services.contact.repository_conduct import enforceable
from services.contact.repository_lists import list_params, listed_conditions
from services.kernel.db import UnitOfWork, constants

Row = sa.Row[Any]


async def insert_promise(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    contact_id: uuid.UUID,
    operator: str,
    promise: Promise,
    made_at: datetime,
    operator_name: str | None = None,
) -> uuid.UUID:
    promise_id = uuid.uuid4()
    values = {
        "id": promise_id,
        "tenant_id": tenant_id,
        "debtor_id": debtor_id,
        "contact_id": contact_id,
        "operator": operator,
        "operator_name": operator_name,
        "amount_cents": promise.amount_cents,
        "due_on": promise.due_on,
        "made_at": made_at,
    }
    await uow.execute(sa.insert(promises).values(**values))
    return promise_id


async def open_promises(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[OpenPromise]:
    """The debtor's open promises, locked: two payments applied at once see each other's share."""
    p = promises
    stmt = (
        sa.select(p.c.id, p.c.amount_cents, p.c.paid_cents, p.c.made_at)
        .where(p.c.tenant_id == tenant_id, p.c.debtor_id == debtor_id, p.c.status == "open")
        .with_for_update()
    )
    rows = (await uow.execute(stmt)).all()
    return [OpenPromise(r.id, r.amount_cents, r.paid_cents, r.made_at.astimezone(ROME).date()) for r in rows]


async def apply(uow: UnitOfWork, tenant_id: uuid.UUID, applied: list[Applied], paid_on: date) -> list[Row]:
    """Record what a payment did to the promises; the ones it kept, with their debtor."""
    kept = []
    p = promises
    for item in applied:
        values: dict[str, Any] = {"paid_cents": item.paid_cents}
        if item.kept:
            values |= {"status": "kept", "closed_on": paid_on}
        stmt = sa.update(p).where(p.c.tenant_id == tenant_id, p.c.id == item.id).values(**values)
        row = (
            await uow.execute(stmt.returning(p.c.id, p.c.debtor_id, p.c.amount_cents, p.c.paid_cents))
        ).one()
        if item.kept:
            kept.append(row)
    return kept


async def back_to_queue(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: list[uuid.UUID]) -> None:
    """Debtors waiting on a promise that is now kept or broken go back to the queue (those who
    still owe something; the others have left it)."""
    d = debtors
    stmt = (
        sa.update(d)
        .where(d.c.tenant_id == tenant_id, d.c.id.in_(debtor_ids), d.c.status == Status.PROMESSA.value)
        .values(status=Status.DA_LAVORARE.value, updated_at=sa.func.now())
    )
    await uow.execute(stmt)


async def break_overdue(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> list[Row]:
    """Open promises whose day has passed become broken; those, with their debtor."""
    p = promises
    stmt = (
        sa.update(p)
        .where(p.c.tenant_id == tenant_id, p.c.status == "open", p.c.due_on < today)
        .values(status="broken", closed_on=today)
        .returning(p.c.id, p.c.debtor_id, p.c.amount_cents, p.c.paid_cents, p.c.due_on)
    )
    return list((await uow.execute(stmt)).all())


def overdue_debtors(tenant_id: uuid.UUID, today: date) -> Any:
    """The debtors with a promise past its day and not kept (a small set, from the promises' index)."""
    p = promises
    return sa.select(p.c.debtor_id).where(
        p.c.tenant_id == tenant_id, p.c.status.in_(constants(("open", "broken"))), p.c.due_on < today
    )


def overdue_exists(today: date | Any) -> Any:
    """The queue's condition of a debtor with a promise past its day and not kept (`today`: a day or
    a bound parameter)."""
    p = promises
    return sa.exists().where(
        p.c.tenant_id == debtors.c.tenant_id,
        p.c.debtor_id == debtors.c.id,
        p.c.status.in_(constants(("open", "broken"))),
        p.c.due_on < today,
    )


async def promises_of(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    """The debtor's promises, newest first, for the card."""
    return list((await uow.execute(PROMISES, {"tenant": tenant_id, "debtor": debtor_id})).all())


PROMISES = (
    sa.select(promises)
    .where(
        promises.c.tenant_id == sa.bindparam("tenant", type_=sa.Uuid),
        promises.c.debtor_id == sa.bindparam("debtor", type_=sa.Uuid),
    )
    .order_by(promises.c.made_at.desc())
)


async def queue_summary(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    now: datetime,
    today: date,
    work_list: WorkList | None = None,
    user_id: str | None = None,
) -> dict[str, int]:
    """What waits in the Comune's queue: debtors to call, callbacks due now, promises due today and
    promises past their day unpaid (the operator's home); debtors owing only time-barred positions
    are not to call, and with an operator's work list only its debtors, as the lease offers them.
    For an operator (`user_id`), the callbacks due that the lease would give them: for anyone,
    kept for them, or kept for a colleague who let the grace pass."""
    d, p = debtors, promises
    takes: tuple[Any, ...] = ()
    if user_id is not None:
        takes = (
            sa.or_(
                d.c.callback_for.is_(None),
                d.c.callback_for == user_id,
                d.c.callback_at <= now - CALLBACK_GRACE,
            ),
        )
    in_list = listed_conditions() if work_list else ()
    params = list_params(work_list) if work_list else {}
    owing = sa.and_(
        d.c.tenant_id == tenant_id,
        d.c.total_due_cents > 0,
        sa.not_(d.c.do_not_call),
        enforceable(today),
    )
    counts = sa.select(
        sa.func.count().filter(d.c.status == Status.DA_LAVORARE.value, *in_list).label("to_call"),
        sa.func.count()
        .filter(d.c.status == Status.DA_RICHIAMARE.value, d.c.callback_at <= now, *takes)
        .label("callbacks_due"),
    ).where(owing)
    row = (await uow.execute(counts, params)).one()
    due = sa.select(
        sa.func.count().filter(p.c.status == "open", p.c.due_on == today).label("promises_due"),
        sa.func.count()
        .filter(p.c.status.in_(constants(("open", "broken"))), p.c.due_on < today)
        .label("promises_late"),
    ).where(p.c.tenant_id == tenant_id)
    late = (await uow.execute(due)).one()
    waiting = sa.select(sa.func.count()).where(
        owing, d.c.status == Status.PROMESSA.value, overdue_exists(today)
    )
    return {
        "to_call": row.to_call,
        "callbacks_due": row.callbacks_due,
        "promises_due": late.promises_due,
        "promises_late": int((await uow.execute(waiting)).scalar_one()),
    }


async def with_open(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these debtors have an open promise (one query for a batch of payments)."""
    p = promises
    stmt = sa.select(p.c.debtor_id).where(
        p.c.tenant_id == tenant_id, p.c.debtor_id.in_(list(set(debtor_ids))), p.c.status == "open"
    )
    return set((await uow.execute(stmt.distinct())).scalars())
