"""Queries of the supervisors' live board: today's work per operator, the leases held now."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.contact.domain import CONVERSATIONS, Outcome, Status
from services.contact.models import contacts, debtor_payments, debtors, promises
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


async def collected_since(uow: UnitOfWork, tenant_id: uuid.UUID, day: Any) -> int:
    """Euro cents the payments service reported paid from `day` on (all channels)."""
    pay = debtor_payments
    stmt = sa.select(sa.func.coalesce(sa.func.sum(pay.c.amount_cents), 0)).where(
        pay.c.tenant_id == tenant_id, pay.c.paid_on >= day
    )
    return int((await uow.execute(stmt)).scalar_one())


async def leases(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime) -> list[Row]:
    """The debtors leased to an operator right now, longest held first."""
    d = debtors
    stmt = (
        sa.select(d.c.id, d.c.name, d.c.assigned_to, d.c.locked_until, d.c.total_due_cents)
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
            locked_until=None,
            status=sa.case(
                (d.c.status == Status.IN_LAVORAZIONE.value, Status.DA_LAVORARE.value), else_=d.c.status
            ),
        )
        .returning(d.c.id, d.c.name)
    )
    return (await uow.execute(stmt)).first()
