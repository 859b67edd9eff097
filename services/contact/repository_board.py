"""Queries of the supervisors' live board: today's work per operator, the leases held now."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contact.domain import ANSWERED, CONVERSATIONS, LOCK_DURATION, Outcome, Status
from services.contact.models import contacts, debtor_payments, debtors, promises, quality_reviews
from services.contact.models_lists import operators_seen, work_lists
from services.kernel.db import UnitOfWork

Row = sa.Row[Any]
# What the history holds that was a call (not a message, not a plan event).
CALLS = sorted(o.value for o in Outcome)


async def work_today(uow: UnitOfWork, tenant_id: uuid.UUID, since: datetime) -> list[Row]:
    """Per operator since `since` (the start of the Rome day): calls, conversations, promises made
    and the euro promised, promises kept since."""
    c, p = contacts, promises
    calls = (
        sa.select(
            c.c.operator,
            sa.func.max(c.c.operator_name).label("operator_name"),
            sa.func.count().label("calls"),
            sa.func.count().filter(c.c.outcome.in_(sorted(CONVERSATIONS))).label("conversations"),
        )
        .where(c.c.tenant_id == tenant_id, c.c.recorded_at >= since, c.c.outcome.in_(CALLS))
        .group_by(c.c.operator)
        .subquery()
    )
    made = (
        sa.select(
            p.c.operator,
            sa.func.count().label("promises"),
            sa.func.coalesce(sa.func.sum(p.c.amount_cents), 0).label("promised_cents"),
        )
        .where(p.c.tenant_id == tenant_id, p.c.made_at >= since)
        .group_by(p.c.operator)
        .subquery()
    )
    kept = (
        sa.select(p.c.operator, sa.func.count().label("kept"))
        .where(p.c.tenant_id == tenant_id, p.c.status == "kept", p.c.closed_on >= since.date())
        .group_by(p.c.operator)
        .subquery()
    )
    stmt = (
        sa.select(
            calls.c.operator,
            calls.c.operator_name,
            calls.c.calls,
            calls.c.conversations,
            sa.func.coalesce(made.c.promises, 0).label("promises"),
            sa.func.coalesce(made.c.promised_cents, 0).label("promised_cents"),
            sa.func.coalesce(kept.c.kept, 0).label("kept"),
        )
        .select_from(calls)
        .outerjoin(made, made.c.operator == calls.c.operator)
        .outerjoin(kept, kept.c.operator == calls.c.operator)
        .order_by(calls.c.calls.desc(), calls.c.operator)
    )
    return list((await uow.execute(stmt)).all())


async def outcomes_today(uow: UnitOfWork, tenant_id: uuid.UUID, since: datetime) -> list[Row]:
    """Calls since `since` by operator and outcome (the board's breakdown)."""
    c = contacts
    stmt = (
        sa.select(c.c.operator, c.c.outcome, sa.func.count().label("calls"))
        .where(c.c.tenant_id == tenant_id, c.c.recorded_at >= since, c.c.outcome.in_(CALLS))
        .group_by(c.c.operator, c.c.outcome)
    )
    return list((await uow.execute(stmt)).all())


async def roster(uow: UnitOfWork, tenant_id: uuid.UUID, since: datetime) -> dict[str, str]:
    """The operators this service knows on the Comune (the gateway alone holds its people): who
    recorded a call or opened its queue since `since`, has a work list or holds a card; id -> name."""
    c, d = contacts, debtors
    named = sa.union_all(
        sa.select(c.c.operator.label("id"), c.c.operator_name.label("name")).where(
            c.c.tenant_id == tenant_id, c.c.recorded_at >= since, c.c.outcome.in_(CALLS)
        ),
        sa.select(work_lists.c.operator, work_lists.c.operator_name).where(
            work_lists.c.tenant_id == tenant_id
        ),
        sa.select(d.c.assigned_to, d.c.assigned_name).where(
            d.c.tenant_id == tenant_id, d.c.assigned_to.is_not(None)
        ),
        sa.select(operators_seen.c.operator, operators_seen.c.operator_name).where(
            operators_seen.c.tenant_id == tenant_id, operators_seen.c.seen_at >= since
        ),
    ).subquery()
    stmt = sa.select(named.c.id, sa.func.max(named.c.name).label("name")).group_by(named.c.id)
    rows = (await uow.execute(stmt)).all()
    return dict(sorted(((r.id, r.name or r.id) for r in rows), key=lambda item: item[1].casefold()))


async def holder(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, now: datetime) -> Row | None:
    """Who holds the debtor's card now (id and name), locked until the transaction ends; None when
    nobody does."""
    d = debtors
    stmt = (
        sa.select(d.c.name, d.c.assigned_to, d.c.assigned_name)
        .where(
            d.c.tenant_id == tenant_id,
            d.c.id == debtor_id,
            d.c.assigned_to.is_not(None),
            d.c.locked_until > now,
        )
        .with_for_update()
    )
    return (await uow.execute(stmt)).first()


async def reassign(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, now: datetime, to: tuple[str, str]
) -> None:
    """The card (held, locked by `holder`) handed to another operator (`to`: id and name), locked
    for them from now."""
    d = debtors
    await uow.execute(
        sa.update(d)
        .where(d.c.tenant_id == tenant_id, d.c.id == debtor_id)
        .values(assigned_to=to[0], assigned_name=to[1], locked_until=now + LOCK_DURATION)
    )


RESERVED_SHOWN = 100


async def reserved_callbacks(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Row]:
    """Callbacks kept for one operator, soonest first (at most `RESERVED_SHOWN`): a supervisor may
    hand them to another operator or to anyone."""
    d = debtors
    stmt = (
        sa.select(d.c.id, d.c.name, d.c.fiscal_code, d.c.callback_at, d.c.callback_for)
        .where(d.c.tenant_id == tenant_id, d.c.callback_for.is_not(None), d.c.callback_at.is_not(None))
        .order_by(d.c.callback_at, d.c.id)
        .limit(RESERVED_SHOWN)
    )
    return list((await uow.execute(stmt)).all())


async def hand_callback(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, to: str | None
) -> Row | None:
    """A callback kept for one operator handed to `to` (None: anyone); the debtor's name and the
    operator it was kept for, or None when no callback is kept for anyone."""
    d = debtors
    before = (
        sa.select(d.c.id, d.c.name, d.c.callback_for)
        .where(
            d.c.tenant_id == tenant_id,
            d.c.id == debtor_id,
            d.c.callback_for.is_not(None),
            d.c.callback_at.is_not(None),
        )
        .with_for_update()
        .cte("before")
    )
    stmt = (
        sa.update(d)
        .where(d.c.tenant_id == tenant_id, d.c.id == before.c.id)
        .values(callback_for=to)
        .returning(d.c.name, before.c.callback_for.label("was_for"))
    )
    return (await uow.execute(stmt)).first()


async def collected_since(uow: UnitOfWork, tenant_id: uuid.UUID, day: Any) -> tuple[int, int]:
    """Euro cents the payments service reported paid from `day` on (all channels), and what was
    given back since (refunds and revocations, as a positive figure): apart, so a day with a
    refund and no payment does not read as negative takings."""
    pay = debtor_payments
    paid = sa.func.coalesce(sa.func.sum(pay.c.amount_cents).filter(pay.c.kind == "payment"), 0)
    back = sa.func.coalesce(-sa.func.sum(pay.c.amount_cents).filter(pay.c.kind != "payment"), 0)
    stmt = sa.select(paid.label("paid"), back.label("back")).where(
        pay.c.tenant_id == tenant_id, pay.c.paid_on >= day
    )
    row = (await uow.execute(stmt)).one()
    return int(row.paid), int(row.back)


async def leases(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime) -> list[Row]:
    """The debtors leased to an operator right now, longest held first."""
    d = debtors
    stmt = (
        sa.select(
            d.c.id,
            d.c.name,
            d.c.fiscal_code,
            d.c.assigned_to,
            d.c.assigned_name,
            d.c.locked_until,
            d.c.total_due_cents,
        )
        .where(d.c.tenant_id == tenant_id, d.c.assigned_to.is_not(None), d.c.locked_until > now)
        .order_by(d.c.locked_until, d.c.id)
    )
    return list((await uow.execute(stmt)).all())


async def release(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> Row | None:
    """A lease given back to the queue by a supervisor; the debtor as it was, or None."""
    d = debtors
    stmt = (
        sa.update(d)
        .where(d.c.tenant_id == tenant_id, d.c.id == debtor_id, d.c.assigned_to.is_not(None))
        .values(
            assigned_to=None,
            assigned_name=None,
            locked_until=None,
            status=sa.case(
                (d.c.status == Status.IN_LAVORAZIONE.value, Status.DA_LAVORARE.value), else_=d.c.status
            ),
        )
        .returning(d.c.id, d.c.name)
    )
    return (await uow.execute(stmt)).first()


SAMPLE = 5


async def sample_calls(uow: UnitOfWork, tenant_id: uuid.UUID, operator: str, since: datetime) -> list[Row]:
    """Up to `SAMPLE` answered calls of the operator since `since` (by the taxpayer or another
    person: one nobody answered has no conduct to score) not reviewed yet, drawn at random; with what the call
    set (callback, promise and its fate, a supervisor's override) for the reviewer to judge."""
    c, q, d, p = contacts, quality_reviews, debtors, promises
    reviewed = sa.exists().where(q.c.tenant_id == c.c.tenant_id, q.c.contact_id == c.c.id)
    stmt = (
        sa.select(
            c.c.id,
            c.c.outcome,
            c.c.note,
            c.c.recorded_at,
            c.c.operator_name,
            c.c.callback_at,
            c.c.override_reason,
            d.c.name,
            p.c.amount_cents.label("promised_cents"),
            p.c.due_on.label("promised_on"),
            p.c.status.label("promise_status"),
        )
        .join(d, sa.and_(d.c.tenant_id == c.c.tenant_id, d.c.id == c.c.debtor_id))
        .outerjoin(p, sa.and_(p.c.tenant_id == c.c.tenant_id, p.c.contact_id == c.c.id))
        .where(
            c.c.tenant_id == tenant_id,
            c.c.operator == operator,
            c.c.recorded_at >= since,
            c.c.outcome.in_(sorted(ANSWERED)),
            ~reviewed,
        )
        .order_by(sa.func.random())
        .limit(SAMPLE)
    )
    return list((await uow.execute(stmt)).all())


async def review_call(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID, score: int, comment: str, reviewer: str
) -> Row | None:
    """A call's review (a call reviewed again keeps the latest); the call's operator (id and
    name), or None."""
    c = contacts
    call = (
        await uow.execute(
            sa.select(c.c.operator, c.c.operator_name).where(
                c.c.tenant_id == tenant_id, c.c.id == contact_id, c.c.outcome.in_(sorted(ANSWERED))
            )
        )
    ).first()
    if call is None:
        return None
    q = quality_reviews
    values = {"operator": call.operator, "score": score, "comment": comment, "reviewer": reviewer}
    stmt = pg_insert(q).values(tenant_id=tenant_id, contact_id=contact_id, **values)
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[q.c.tenant_id, q.c.contact_id], set_={**values, "reviewed_at": sa.func.now()}
        )
    )
    return call


async def quality(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, tuple[Decimal, int]]:
    """Per operator: the average score of the calls reviewed (to one decimal), and how many."""
    q = quality_reviews
    stmt = (
        sa.select(q.c.operator, sa.func.avg(q.c.score).label("average"), sa.func.count().label("reviews"))
        .where(q.c.tenant_id == tenant_id)
        .group_by(q.c.operator)
    )
    rows = (await uow.execute(stmt)).all()
    tenth = Decimal("0.1")
    return {r.operator: (Decimal(r.average).quantize(tenth, ROUND_HALF_UP), int(r.reviews)) for r in rows}
