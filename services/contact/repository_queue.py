"""The queue's order after due callbacks and broken promises: a weighted score, and the debtor's
figures it reads (the oldest act's year, the attempts, the best phone's reliability)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.contact.domain import Status
from services.contact.domain_conduct import ROME
from services.contact.domain_lists import WorkList
from services.contact.models import debtor_contacts, debtors
from services.contact.repository_conduct import day_params, enforceable, rules_of
from services.contact.repository_lists import list_params, listed_conditions
from services.contact.repository_promises import overdue_exists
from services.kernel.db import UnitOfWork, constant, constants
from services.kernel.limitation import LIMITATION_YEARS

# Limitation (`services.kernel.limitation`): the last day is 31 December, five years after the year of
# the oldest act still due and not yet time-barred; the score grows as that day nears, over the five
# years before it.
# A debtor whose every due act is time-barred scores -1 (last).
# €100,000 owed (and more) is the top of the amount's score, which grows with its logarithm.
AMOUNT_TOP_CENTS = 10_000_000


WEIGHTED = ("amount", "limitation", "attempts", "grade")


def queue_score(attempts: Any = None) -> Any:
    """The score of a debtor (higher first): each part from 0 to 1, times its weight (the
    parameters `w_amount`, `w_limitation`, `w_attempts`, `w_grade`, as `score_params` gives them),
    on the day `today`; `attempts`: the number of calls if not the debtor's own (an update that
    counts one more)."""
    d = debtors
    amount = sa.func.least(
        sa.func.ln(1 + sa.cast(d.c.total_due_cents, sa.Float)) / sa.func.ln(1 + AMOUNT_TOP_CENTS), 1.0
    )
    today = sa.bindparam("today", type_=sa.Date)
    # The position still due whose limitation runs out first, of those not yet time-barred.
    days = sa.func.unnest(d.c.due_barred_on).table_valued("day").render_derived(with_types=False)
    enforceable = sa.select(sa.func.min(days.c.day)).where(days.c.day > today).scalar_subquery()
    days_left = sa.cast(enforceable - 1 - today, sa.Float)
    limitation = sa.case(
        (enforceable.is_(None), 0.0),
        else_=sa.func.greatest(0.0, sa.func.least(1.0, 1.0 - days_left / (365.0 * LIMITATION_YEARS))),
    )
    tried = 1.0 / (1.0 + sa.cast(d.c.attempts if attempts is None else attempts, sa.Float))
    grade = sa.cast(sa.func.coalesce(d.c.best_confidence, 0), sa.Float) / 100.0
    parts = {"amount": amount, "limitation": limitation, "attempts": tried, "grade": grade}
    weighted = (sa.bindparam(f"w_{name}", type_=sa.Float) * part for name, part in parts.items())
    # A debtor owing only time-barred positions is never leased (repository_lease): last in the
    # order, so a lease's scan of the pool index never walks past them.
    return sa.case((d.c.barred_on <= today, -1.0), else_=sum(weighted, sa.literal(0.0)))


def _refresh(some: bool) -> Any:
    """The update of the scores, built once (it runs after every call): of the debtors `ids`, or
    (`some` false) of all the Comune's."""
    d = debtors
    stmt = sa.update(debtors).where(d.c.tenant_id == sa.bindparam("tenant", type_=sa.Uuid))
    if some:
        stmt = stmt.where(d.c.id == sa.func.any(sa.bindparam("debtor_ids", type_=postgresql.ARRAY(sa.Uuid))))
    return stmt.values(queue_score=queue_score())


REFRESH_SOME, REFRESH_ALL = _refresh(True), _refresh(False)


async def score_params(uow: UnitOfWork, tenant_id: uuid.UUID, today: date | None = None) -> dict[str, Any]:
    """The parameters of `queue_score`: the Comune's weights, and `today` (by default the day in
    Rome: the score's limitation part moves a little each day)."""
    weights = (await rules_of(uow, tenant_id)).weights
    params: dict[str, Any] = {f"w_{name}": float(weights.get(name, 0)) for name in WEIGHTED}
    params["today"] = today or datetime.now(ROME).date()
    return params


async def refresh_scores(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID] | None, today: date | None = None
) -> None:
    """Keep `queue_score` with the Comune's weights (all its debtors when `debtor_ids` is None);
    `today` defaults to the day in Rome (the score's limitation part moves a little each day, and
    the contact daily run refreshes every debtor)."""
    if debtor_ids is not None and not debtor_ids:
        return
    params = await score_params(uow, tenant_id, today)
    params["tenant"] = tenant_id
    if debtor_ids is None:
        await uow.execute(REFRESH_ALL, params)
    else:
        await uow.execute(REFRESH_SOME, {**params, "debtor_ids": list(debtor_ids)})


async def refresh_best_phone(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]) -> None:
    """The reliability of each debtor's best active phone (None: no phone)."""
    if not debtor_ids:
        return
    dc = debtor_contacts
    best = (
        sa.select(sa.func.max(sa.func.coalesce(dc.c.confidence, 0)))
        .where(
            dc.c.tenant_id == debtors.c.tenant_id,
            dc.c.debtor_id == debtors.c.id,
            dc.c.kind == "phone",
            dc.c.active,
        )
        .scalar_subquery()
    )
    stmt = (
        sa.update(debtors)
        .where(debtors.c.tenant_id == tenant_id, debtors.c.id.in_(list(debtor_ids)))
        .values(best_confidence=best)
    )
    await uow.execute(stmt)
    await refresh_scores(uow, tenant_id, debtor_ids)


# The queue page's stages, in the order the lease takes them (`repository_lease`).
(
    _STAGE_OWN,
    _STAGE_CALLBACK,
    _STAGE_PROMISE,
    _STAGE_LAPSED,
    _STAGE_POOL,
    _STAGE_HELD,
    _STAGE_LATER,
    _STAGE_OTHER,
) = range(8)
_AFTER_PROMISE = (Status.PROMESSA.value, Status.DA_LAVORARE.value, Status.IN_LAVORAZIONE.value)


def _page_order() -> list[Any]:
    """The queue page's order: what the lease would give now first (the card the viewer holds;
    callbacks due, the viewer's first; promises past their day; cards left open past their lock,
    the longest abandoned first; the pool by score), then the cards colleagues hold, callbacks not
    yet due by their hour, then the rest by score. A debtor who owes nothing or only time-barred
    acts is never leased: with the rest."""
    d = debtors
    now, user = sa.bindparam("now", type_=sa.DateTime(timezone=True)), sa.bindparam("user", type_=sa.Text)
    leasable = sa.and_(d.c.total_due_cents > constant(0), enforceable(sa.bindparam("today", type_=sa.Date)))
    callback = d.c.status == constant(Status.DA_RICHIAMARE.value)
    due_callback = sa.and_(callback, d.c.callback_at <= now)
    open_card = d.c.status == constant(Status.IN_LAVORAZIONE.value)
    stage = sa.case(
        (sa.and_(d.c.assigned_to == user, d.c.locked_until > now), _STAGE_OWN),
        (sa.not_(leasable), _STAGE_OTHER),
        (due_callback, _STAGE_CALLBACK),
        (
            sa.and_(
                d.c.status.in_(constants(_AFTER_PROMISE)),
                overdue_exists(sa.bindparam("today", type_=sa.Date)),
            ),
            _STAGE_PROMISE,
        ),
        (sa.and_(open_card, d.c.locked_until <= now), _STAGE_LAPSED),
        (d.c.status == constant(Status.DA_LAVORARE.value), _STAGE_POOL),
        (open_card, _STAGE_HELD),
        (callback, _STAGE_LATER),
        else_=_STAGE_OTHER,
    )
    return [
        stage,
        sa.case((due_callback, d.c.callback_for == user)).desc().nulls_last(),  # mine first, when due
        sa.case((callback, d.c.callback_at)).nulls_last(),
        sa.case((open_card, d.c.locked_until)).nulls_last(),
        d.c.queue_score.desc(),
        d.c.id,
    ]


def _in_list() -> Any:
    """An operator with a work list: what the lease may give them (callbacks and promises too)."""
    d = debtors
    now, user = sa.bindparam("now", type_=sa.DateTime(timezone=True)), sa.bindparam("user", type_=sa.Text)
    kept = sa.or_(
        d.c.status.in_(constants((Status.DA_RICHIAMARE.value, Status.PROMESSA.value))),
        overdue_exists(sa.bindparam("today", type_=sa.Date)),
        sa.and_(d.c.assigned_to == user, d.c.locked_until > now),
    )
    return sa.or_(kept, sa.and_(*listed_conditions()))


def _counts_statement(listed: bool) -> Any:
    """The debtors by status, and how many owe only time-barred acts (`:today`), of the Comune or
    of the operator's work list: the same debtors the queue's page lists."""
    d = debtors
    barred = sa.and_(d.c.total_due_cents > 0, sa.not_(enforceable(sa.bindparam("today", type_=sa.Date))))
    stmt = sa.select(
        d.c.status, sa.func.count().label("n"), sa.func.count().filter(barred).label("barred")
    ).where(d.c.tenant_id == sa.bindparam("tenant", type_=sa.Uuid))
    return (stmt.where(_in_list()) if listed else stmt).group_by(d.c.status)


QUEUE_COUNTS = {listed: _counts_statement(listed) for listed in (False, True)}


async def status_counts(
    uow: UnitOfWork, tenant_id: uuid.UUID, viewer: tuple[str, WorkList | None], now: datetime
) -> tuple[dict[str, int], int]:
    """The debtors by status and the time-barred ones among them, as the queue's page lists them
    (an operator's work list narrows both: they counted the whole Comune above a table of the list)."""
    user_id, work_list = viewer
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "user": user_id,
        **day_params(now),
        **(list_params(work_list) if work_list is not None else {}),
    }
    rows = (await uow.execute(QUEUE_COUNTS[work_list is not None], params)).all()
    counts = {s.value: 0 for s in Status}
    counts.update({r.status: int(r.n) for r in rows})
    return counts, sum(int(r.barred) for r in rows)


def _page_statement(filtered: bool, listed: bool) -> Any:
    d = debtors
    stmt = sa.select(d).where(d.c.tenant_id == sa.bindparam("tenant", type_=sa.Uuid))
    if filtered:
        stmt = stmt.where(d.c.status == sa.bindparam("status", type_=sa.Text))
    if listed:
        stmt = stmt.where(_in_list())
    limit, offset = sa.bindparam("limit", type_=sa.Integer), sa.bindparam("offset", type_=sa.Integer)
    return stmt.order_by(*_page_order()).limit(limit).offset(offset)


QUEUE_PAGES = {(f, w): _page_statement(f, w) for f in (False, True) for w in (False, True)}


async def queue_page(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    status: str | None,
    viewer: tuple[str, WorkList | None],
    now: datetime,
    limit: int,
    offset: int,
) -> list[Any]:
    """One page of the Comune's debtors (of one status when `status` is given) in the queue's
    order as the operator would be given them at `now` (`_page_order`); `viewer`: the operator's
    id and work list (only what it lets the lease give them)."""
    user_id, work_list = viewer
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "user": user_id,
        **day_params(now),
        "limit": limit,
        "offset": offset,
        **({"status": status} if status is not None else {}),
        **(list_params(work_list) if work_list is not None else {}),
    }
    # The sort's estimate (every debtor of the Comune) would set off PostgreSQL's JIT compiler:
    # 0.3 s of compiling for 0.15 s of work on 100,000 debtors.
    await uow.execute(sa.text("SET LOCAL jit = off"))
    statement = QUEUE_PAGES[(status is not None, work_list is not None)]
    return list((await uow.execute(statement, params)).all())
