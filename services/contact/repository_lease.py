"""The lease of the next debtor: one statement, built once, run on every «Prossimo debitore».

The stages of the queue are the arguments of a COALESCE, each a subquery that locks its candidate
with SKIP LOCKED: PostgreSQL evaluates them in order and stops at the first that finds one, so the
later stages cost nothing when an earlier one answers. The statement is built once per shape (with
or without a work list) and run with parameters: building and hashing it anew on every request cost
more CPU than the database spends on it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.contact.domain import CALLBACK_GRACE, LOCK_DURATION, Status
from services.contact.models import debtors
from services.contact.repository_conduct import CallLimits, callable_at, day_params, enforceable
from services.contact.repository_lists import LEASE_PLANNING, list_params, listed_conditions, lock_and_list
from services.contact.repository_promises import overdue_debtors
from services.kernel.db import UnitOfWork, constant, constants

# Each stage's LIMIT written into the statement's text: a LIMIT sent as a parameter leaves the
# generic plan guessing how many rows are wanted (it then sorts whole stages: 120 ms, not 0.5).
ONE = constant(1)

# A debtor whose promise passed its day unpaid: waiting on it, or back in the pool once broken.
_AFTER_PROMISE = (Status.PROMESSA.value, Status.DA_LAVORARE.value, Status.IN_LAVORAZIONE.value)


def _param(name: str, kind: Any) -> Any:
    return sa.bindparam(name, type_=kind)


def _owing() -> Any:
    """Owing something not yet time-barred on `today` (a debtor whose every due position is barred
    is for discharge), and phoneable now under the conduct rules."""
    owing = debtors.c.total_due_cents > constant(0)
    return sa.and_(owing, enforceable(_param("today", sa.Date)), callable_at())


def _conditions(listed: bool) -> tuple[tuple[Any, tuple[Any, ...]], ...]:
    """The queue's stages in order, each its condition and its order."""
    d = debtors
    tenant, user = _param("tenant", sa.Uuid), _param("user", sa.Text)
    now = _param("now", sa.DateTime(timezone=True))
    free = sa.or_(d.c.locked_until.is_(None), d.c.locked_until <= now)
    owing = _owing()
    for_me_or_anyone = sa.or_(
        d.c.callback_for.is_(None),
        d.c.callback_for == user,
        d.c.callback_at <= _param("grace_ended", sa.DateTime(timezone=True)),
    )
    return (
        # The debtor the operator already holds (a second click is given the same one).
        (sa.and_(d.c.assigned_to == user, d.c.locked_until > now), (d.c.id,)),
        # Callbacks due now: the operator's own first, then anyone's (others' after a grace).
        (
            sa.and_(
                d.c.status == constant(Status.DA_RICHIAMARE.value),
                d.c.callback_at <= now,
                free,
                owing,
                for_me_or_anyone,
            ),
            ((d.c.callback_for == user).desc().nulls_last(), d.c.callback_at, d.c.id),
        ),
        # Promises past their day and unpaid.
        (
            sa.and_(
                d.c.id.in_(overdue_debtors(tenant, _param("today", sa.Date))),
                d.c.status.in_(constants(_AFTER_PROMISE)),
                free,
                owing,
            ),
            (d.c.queue_score.desc(), d.c.id),
        ),
        # A card left open past its lock (the operator went away): the longest abandoned first,
        # through the partial index `debtors_lapsed`, within the operator's work list if any.
        (
            sa.and_(
                d.c.status == constant(Status.IN_LAVORAZIONE.value),
                d.c.locked_until <= now,
                owing,
                *(listed_conditions() if listed else ()),
            ),
            (d.c.locked_until, d.c.id),
        ),
        # The pool, in the order of the partial index `debtors_pool` (debtors waiting: the cards
        # other operators hold are not in it), within the operator's work list if they have one.
        (
            sa.and_(
                d.c.status == constant(Status.DA_LAVORARE.value),
                free,
                owing,
                *(listed_conditions() if listed else ()),
            ),
            (d.c.queue_score.desc(), d.c.id),
        ),
    )


def _stages(listed: bool) -> list[Any]:
    """The queue's stages in order, each the id of its first free candidate (locked) or NULL."""
    d, tenant = debtors, _param("tenant", sa.Uuid)
    held, *free_stages = _conditions(listed)
    # The debtor the operator holds is read without SKIP LOCKED: another operator's scan may have
    # locked its row for a moment (FOR UPDATE locks a row before rechecking it), and skipping it
    # would lease this operator a second debtor. The update below waits for that lock instead.
    own = sa.select(d.c.id).where(d.c.tenant_id == tenant, held[0]).order_by(*held[1]).limit(ONE)
    return [
        own.scalar_subquery(),
        *(
            sa.select(d.c.id)
            .where(d.c.tenant_id == tenant, condition)
            .order_by(*order)
            .limit(ONE)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
            for condition, order in free_stages
        ),
    ]


def _lease_statement(listed: bool) -> Any:
    d = debtors
    tenant = _param("tenant", sa.Uuid)
    # The plan was chosen before this statement ran (`lock_and_list` set `LEASE_PLANNING`): the
    # settings before are put back for the rest of the transaction.
    planned = sa.select(
        *(
            sa.func.set_config(constant(n), _param(f"was_{n}", sa.Text), sa.true()).label(n)
            for n in LEASE_PLANNING
        )
    ).subquery("planned")
    chosen = sa.select(sa.func.coalesce(*_stages(listed))).select_from(planned)
    return (
        sa.update(d)
        # The COALESCE inside a subquery of its own: its answer is then a plain parameter of the
        # update, which finds the row through the primary key (else a scan of the whole table).
        .where(d.c.tenant_id == tenant, d.c.id == chosen.scalar_subquery())
        .values(
            assigned_to=_param("user", sa.Text),
            assigned_name=_param("user_name", sa.Text),
            locked_until=_param("until", sa.DateTime(timezone=True)),
            status=constant(Status.IN_LAVORAZIONE.value),
            updated_at=_param("now", sa.DateTime(timezone=True)),
        )
        .returning(d.c.id)
    )


LEASE, LEASE_LISTED = _lease_statement(False), _lease_statement(True)


async def take_next(
    uow: UnitOfWork, tenant_id: uuid.UUID, user_id: str, limits: CallLimits, user_name: str | None = None
) -> uuid.UUID | None:
    """Assign the next workable debtor the conduct rules let be phoned now (`limits`) to
    `user_id`: the one they hold; else a due callback (kept for them first); else a promise past
    its day; else a card another operator left open past its lock; else the best `queue_score` of
    the pool (an index scan: the first that may be phoned
    wins), within the operator's work list if they have one (`repository_lists`). SKIP LOCKED
    keeps two operators apart, and a lock per operator keeps two requests of the same operator (a
    double click) from leasing two debtors: the second waits for the first and is given the
    debtor the first leased."""
    stored, before = await lock_and_list(uow, tenant_id, user_id, f"contact.lease {tenant_id} {user_id}")
    now = limits.now
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "user": user_id,
        "user_name": user_name,
        "until": now + LOCK_DURATION,
        "grace_ended": now - CALLBACK_GRACE,
        **day_params(now),
        **_limit_params(limits),
        **{f"was_{n}": v for n, v in before.items()},
    }
    if stored is None:
        return (await uow.execute(LEASE, params)).scalar_one_or_none()
    listed = {**params, **list_params(stored.work_list)}
    return (await uow.execute(LEASE_LISTED, listed)).scalar_one_or_none()


def _limit_params(limits: CallLimits) -> dict[str, Any]:
    return {
        "day_start": limits.day_start,
        "week_start": limits.week_start,
        "daily_cap": limits.daily_cap,
        "weekly_cap": limits.weekly_cap,
    }


async def release_lapsed(uow: UnitOfWork, tenant_id: uuid.UUID, before: datetime) -> int:
    """Cards left open whose lock ended before `before` go back to the pool (waiting): a lapsed card
    nobody may take any more (paid off, time-barred, asked not to be phoned) would otherwise stay
    first in `debtors_lapsed`, walked past by every lease. How many."""
    d = debtors
    stmt = (
        sa.update(d)
        .where(
            d.c.tenant_id == tenant_id,
            d.c.status == Status.IN_LAVORAZIONE.value,
            d.c.locked_until < before,
        )
        .values(status=Status.DA_LAVORARE.value, assigned_to=None, assigned_name=None, locked_until=None)
    )
    return (await uow.execute(stmt)).rowcount or 0
