"""Queries of the Ufficio tributi's portal: figures aggregated in SQL (one scan for the campaign, by
revenue type and by year), the weekly trend, the drill-down to debtors and one debtor's file. Every
function takes the tenant and filters by it (row-level security too)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.kernel.formats import notice_code
from services.kernel.repository_limitation import BARRED_ON, act_rows
from services.reporting import domain_portal as dp
from services.reporting.models import outcomes, payments, positions
from services.reporting.models_cases import case_answers, cases
from services.reporting.models_ledger import debtor_notices, debtors, plans, refunds
from services.reporting.repository import counted_positions

Row = sa.Row[Any]
ROME = "Europe/Rome"


def _joined(tenant_id: uuid.UUID) -> tuple[Any, dict[str, Any]]:
    """Positions not cancelled, each with its debtor's contact figures and its plan; the condition
    that puts a position at each stage of the funnel."""
    p, d, pl = positions, debtors, plans
    source = p.outerjoin(d, sa.and_(d.c.tenant_id == p.c.tenant_id, d.c.debtor_id == p.c.debtor_id))
    source = source.outerjoin(pl, sa.and_(pl.c.tenant_id == p.c.tenant_id, pl.c.plan_id == p.c.plan_id))
    conditions = {
        "assigned": sa.true(),
        "worked": d.c.attempts > 0,
        "reached": d.c.conversations > 0,
        "promised": d.c.promises > 0,
        "in_plan": sa.and_(p.c.plan_id.is_not(None), pl.c.lapsed_on.is_(None)),
        "collected": p.c.collected_cents > 0,
        "residual": p.c.amount_cents > p.c.collected_cents,
    }
    return source, conditions


def _where(tenant_id: uuid.UUID) -> list[Any]:
    return counted_positions(tenant_id)


def _stage_amount(stage: str) -> Any:
    p = positions.c
    if stage == "collected":
        return p.collected_cents
    if stage in ("residual", "barring", "barred"):
        return p.amount_cents - p.collected_cents
    return p.amount_cents


def _per_debtor(tenant_id: uuid.UUID) -> Any:
    """First pass: per debtor, per debtor and revenue type, per debtor and year (GROUPING SETS), the
    positions and amount at each stage and whether the debtor has any position there; counting
    debtors is then a plain count, with no DISTINCT (which sorts once per stage and group)."""
    p = positions.c
    source, conditions = _joined(tenant_id)
    columns = []
    for stage in dp.STAGES:
        cond = conditions[stage]
        columns += [
            sa.func.bool_or(cond).label(f"{stage}_any"),
            sa.func.count().filter(cond).label(f"{stage}_positions"),
            sa.func.coalesce(sa.func.sum(_stage_amount(stage)).filter(cond), 0).label(f"{stage}_cents"),
        ]
    sets = sa.func.grouping_sets(
        sa.tuple_(p.debtor_id), sa.tuple_(p.debtor_id, p.revenue_type), sa.tuple_(p.debtor_id, p.year)
    )
    return (
        sa.select(
            p.revenue_type,
            p.year,
            sa.func.grouping(p.revenue_type).label("no_type"),
            sa.func.grouping(p.year).label("no_year"),
            *columns,
        )
        .select_from(source)
        .where(*_where(tenant_id))
        .group_by(sets)
        .subquery()
    )


async def figures(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Row]:
    """The stages for the whole campaign, per revenue type and per year: each row has
    `revenue_type`, `year`, `by_type`/`by_year` (true when grouped by it) and, per stage,
    `<stage>_debtors`, `<stage>_positions` and `<stage>_cents`."""
    first = _per_debtor(tenant_id)
    columns = []
    for stage in dp.STAGES:
        columns += [
            sa.func.count().filter(first.c[f"{stage}_any"]).label(f"{stage}_debtors"),
            sa.func.coalesce(sa.func.sum(first.c[f"{stage}_positions"]), 0).label(f"{stage}_positions"),
            sa.func.coalesce(sa.func.sum(first.c[f"{stage}_cents"]), 0).label(f"{stage}_cents"),
        ]
    keys = (first.c.no_type, first.c.no_year, first.c.revenue_type, first.c.year)
    stmt = sa.select(
        first.c.revenue_type,
        first.c.year,
        (first.c.no_type == 0).label("by_type"),
        (first.c.no_year == 0).label("by_year"),
        *columns,
    ).group_by(*keys)
    return list((await uow.execute(stmt)).all())


async def promised_cents(uow: UnitOfWork, tenant_id: uuid.UUID) -> int:
    """What the debtors with assigned positions promised to pay."""
    d = debtors.c
    assigned = sa.select(positions.c.debtor_id).where(*_where(tenant_id))
    stmt = sa.select(sa.func.coalesce(sa.func.sum(d.promised_cents), 0)).where(
        d.tenant_id == tenant_id, d.promises > 0, d.debtor_id.in_(assigned)
    )
    return int((await uow.execute(stmt)).scalar_one())


async def weekly(uow: UnitOfWork, tenant_id: uuid.UUID, since: date, since_at: datetime) -> dict[str, Any]:
    """Per ISO week (its Monday) from `since`: payments not revoked, refunds, outcomes recorded (the
    outcomes' instants in Europe/Rome; `since_at` is `since`'s midnight there)."""
    pay_week = sa.cast(sa.func.date_trunc("week", payments.c.paid_on), sa.Date)
    paid = (  # what paid the debt, as the stages count it (a plan's interest is on top)
        sa.select(pay_week, sa.func.sum(payments.c.amount_cents - payments.c.interest_cents))
        .where(
            payments.c.tenant_id == tenant_id, payments.c.revoked_on.is_(None), payments.c.paid_on >= since
        )
        .group_by(pay_week)
    )
    refund_week = sa.cast(sa.func.date_trunc("week", refunds.c.refunded_on), sa.Date)
    refunded = (
        sa.select(refund_week, sa.func.sum(refunds.c.amount_cents))
        .where(refunds.c.tenant_id == tenant_id, refunds.c.refunded_on >= since)
        .group_by(refund_week)
    )
    local = sa.func.timezone(ROME, outcomes.c.recorded_at)
    outcome_week = sa.cast(sa.func.date_trunc("week", local), sa.Date)
    recorded = (
        sa.select(outcome_week, sa.func.count())
        .where(outcomes.c.tenant_id == tenant_id, outcomes.c.recorded_at >= since_at)
        .group_by(outcome_week)
    )
    return {
        "paid": _by_week((await uow.execute(paid)).all()),
        "refunded": _by_week((await uow.execute(refunded)).all()),
        "outcomes": _by_week((await uow.execute(recorded)).all()),
    }


def _by_week(rows: Any) -> dict[date, int]:
    return {row[0]: int(row[1]) for row in rows}


def _debtor_rows(tenant_id: uuid.UUID, filt: dp.DebtorFilter) -> Any:
    """One row per debtor at the filter's stage, over the positions of its revenue type and year."""
    p = positions.c
    source, conditions = _joined(tenant_id)
    if filt.stage in ("barring", "barred"):
        stage = _limitation_stage(filt.stage, tenant_id, filt.today or datetime.now(ZoneInfo(ROME)).date())
    else:
        stage = conditions[filt.stage or "assigned"]
    where = [*_where(tenant_id), stage]
    if filt.revenue_type:
        where.append(p.revenue_type == filt.revenue_type)
    if filt.year:
        where.append(p.year == filt.year)
    if filt.search:
        where.append(_matching(tenant_id, filt.search))
    per_debtor = (
        sa.select(
            p.debtor_id,
            sa.func.min(p.fiscal_code).label("fiscal_code"),
            sa.func.min(p.debtor_name).label("debtor_name"),
            sa.func.count().label("positions"),
            sa.func.sum(p.amount_cents).label("assigned_cents"),
            sa.func.sum(p.collected_cents).label("collected_cents"),
        )
        .select_from(source)
        .where(*where)
        .group_by(p.debtor_id)
        .subquery()
    )
    d = debtors.c
    return sa.select(
        per_debtor,
        (per_debtor.c.assigned_cents - per_debtor.c.collected_cents).label("residual_cents"),
        sa.func.coalesce(d.last_outcome, "").label("last_outcome"),
        d.last_outcome_at,
        sa.func.coalesce(d.attempts, 0).label("attempts"),
        sa.func.count().over().label("total"),
    ).select_from(
        per_debtor.outerjoin(
            debtors, sa.and_(d.tenant_id == tenant_id, d.debtor_id == per_debtor.c.debtor_id)
        )
    )


def _matching(tenant_id: uuid.UUID, search: str) -> Any:
    """Positions of a debtor whose fiscal code starts with `search` or whose name contains each of
    its words in any order («giulia russo» finds RUSSO GIULIA; any case; the characters LIKE treats
    as wildcards taken as typed), or to whom the pagoPA notice `search` names (its NAV or IUV as
    printed) was issued."""
    p = positions.c
    words = search.replace(",", " ").split()
    found = [
        p.fiscal_code.startswith("".join(words).upper(), autoescape=True),
        sa.and_(*[p.debtor_name.icontains(w, autoescape=True) for w in words]),
    ]
    code = notice_code(search)
    if code is not None:
        n = debtor_notices.c
        issued = sa.select(n.debtor_id).where(n.tenant_id == tenant_id, sa.or_(n.nav == code, n.iuv == code))
        found.append(p.debtor_id.in_(issued))
    return sa.or_(*found)


async def debtor_page(uow: UnitOfWork, tenant_id: uuid.UUID, filt: dp.DebtorFilter, size: int) -> list[Row]:
    """A page of the drill-down, by name; each row carries the `total` of debtors found."""
    stmt = _debtor_rows(tenant_id, filt)
    sub = stmt.subquery()
    ordered = sa.select(sub).order_by(sub.c.debtor_name, sub.c.debtor_id).limit(size).offset(filt.offset)
    return list((await uow.execute(ordered)).all())


async def debtor_count(uow: UnitOfWork, tenant_id: uuid.UUID, filt: dp.DebtorFilter) -> int:
    sub = _debtor_rows(tenant_id, filt).subquery()
    return int((await uow.execute(sa.select(sa.func.count()).select_from(sub))).scalar_one())


async def all_debtors(uow: UnitOfWork, tenant_id: uuid.UUID, filt: dp.DebtorFilter) -> list[Row]:
    """Every debtor the filter finds (for a download), by name."""
    sub = _debtor_rows(tenant_id, filt).subquery()
    stmt = sa.select(sub).order_by(sub.c.debtor_name, sub.c.debtor_id)
    return list((await uow.execute(stmt)).all())


async def choices(uow: UnitOfWork, tenant_id: uuid.UUID) -> tuple[list[str], list[int]]:
    """The revenue types and years of the positions assigned, for the drill-down's filters."""
    p = positions.c
    types = sa.select(p.revenue_type).where(*_where(tenant_id)).distinct().order_by(p.revenue_type)
    years = sa.select(p.year).where(*_where(tenant_id)).distinct().order_by(p.year)
    return list((await uow.execute(types)).scalars()), list((await uow.execute(years)).scalars())


# --- one debtor ----------------------------------------------------------------------------------


async def debtor_positions(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    p = positions.c
    stmt = (
        sa.select(
            positions,
            plans.c.lapsed_on.label("plan_lapsed_on"),
            plans.c.installments.label("plan_installments"),
        )
        .select_from(
            positions.outerjoin(
                plans, sa.and_(plans.c.tenant_id == p.tenant_id, plans.c.plan_id == p.plan_id)
            )
        )
        .where(p.tenant_id == tenant_id, p.debtor_id == debtor_id)
        .order_by(p.revenue_type, p.year, p.act_number)
    )
    return list((await uow.execute(stmt)).all())


async def debtor_payments(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, position_ids: list[uuid.UUID]
) -> list[Row]:
    pay = payments.c
    mine = sa.or_(pay.debtor_id == debtor_id, pay.position_id.in_(position_ids))
    refunded = (
        sa.select(sa.func.coalesce(sa.func.sum(refunds.c.amount_cents), 0))
        .where(refunds.c.tenant_id == tenant_id, refunds.c.payment_id == pay.payment_id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(payments, refunded.label("refunded_cents"))
        .where(pay.tenant_id == tenant_id, mine)
        .order_by(pay.paid_on.desc(), pay.received_at.desc())
    )
    return list((await uow.execute(stmt)).all())


async def debtor_outcomes(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    o = outcomes.c
    stmt = sa.select(outcomes).where(o.tenant_id == tenant_id, o.debtor_id == debtor_id)
    return list((await uow.execute(stmt.order_by(o.recorded_at.desc()))).all())


async def debtor_contact(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> Row | None:
    d = debtors.c
    stmt = sa.select(debtors).where(d.tenant_id == tenant_id, d.debtor_id == debtor_id)
    return (await uow.execute(stmt)).first()


async def debtor_plans(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    pl = plans.c
    stmt = sa.select(plans).where(pl.tenant_id == tenant_id, pl.debtor_id == debtor_id)
    return list((await uow.execute(stmt.order_by(pl.first_due_date.desc()))).all())


async def debtor_cases(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    """The office's cases about the debtor, each with its latest answer's note and author."""
    c, a = cases.c, case_answers.c
    latest = (
        sa.select(a.note, a.answered_by_name)
        .where(a.tenant_id == tenant_id, a.case_id == c.id)
        .order_by(a.answered_at.desc())
        .limit(1)
        .lateral()
    )
    stmt = (
        sa.select(cases, latest.c.note.label("answer_note"), latest.c.answered_by_name)
        .select_from(cases.outerjoin(latest, sa.true()))
        .where(c.tenant_id == tenant_id, c.debtor_id == debtor_id)
        .order_by(c.opened_at.desc())
    )
    return list((await uow.execute(stmt)).all())


# The residual of every position and the first day its limitation bars it (`kernel.limitation`,
# `BARRED_ON`: from its act's day, else the end of its year, started again by each payment not
# revoked and each interrupting act recorded and not withdrawn, while the term ran). `:lim_tenant`
# is the tenant.
_DUE = (
    "SELECT p.position_id, p.debtor_id, p.year, p.act_on, p.amount_cents - p.collected_cents AS residual"
    " FROM reporting.positions p WHERE p.tenant_id = :lim_tenant AND p.state <> 'cancelled'"
    " AND p.amount_cents > p.collected_cents"
)
_PAID = (
    "SELECT due.position_id, due.year, due.act_on, pay.paid_on FROM due LEFT JOIN reporting.payments pay"
    " ON pay.tenant_id = :lim_tenant AND pay.position_id = due.position_id AND pay.revoked_on IS NULL"
    f" UNION ALL {act_rows('reporting', ':lim_tenant')}"
)
_JUDGED = f"""
WITH due AS ({_DUE}), barred AS ({BARRED_ON.format(rows=_PAID)}),
judged AS (SELECT due.*, b.barred_on FROM due JOIN barred b ON b.position_id = due.position_id)
"""
# What ran out by `:today` and what runs out until `:until`, in all and month by month.
LIMITATION = sa.text(f"""{_JUDGED}
SELECT barred_on <= :today AS run_out,
       CASE WHEN grouping(date_trunc('month', barred_on)) = 0 THEN date_trunc('month', barred_on)::date END
           AS month,
       count(DISTINCT debtor_id) AS debtors, count(*) AS positions, coalesce(sum(residual), 0) AS cents,
       min(barred_on) AS first_on
FROM judged WHERE barred_on <= :until
GROUP BY GROUPING SETS ((barred_on <= :today), (barred_on <= :today, date_trunc('month', barred_on)))
""")
# The residual already time-barred on `:lim_today`, which the dashboard's «Residuo» includes.
_BARRED_RESIDUAL = sa.text(
    f"{_JUDGED} SELECT count(*) AS positions, coalesce(sum(residual), 0) AS cents"
    " FROM judged WHERE barred_on <= :lim_today"
)
# The positions of the drill-down's two limitation stages (`DebtorFilter.today`).
_BARRING = (
    f"{_JUDGED} SELECT position_id FROM judged WHERE barred_on > :lim_today AND barred_on <= :lim_until"
)
_BARRED = f"{_JUDGED} SELECT position_id FROM judged WHERE barred_on <= :lim_today"


async def limitation_rows(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> list[dict[str, Any]]:
    """The residual the limitation bars by `today` and within a year of it (`LIMITATION`)."""
    params = {"lim_tenant": tenant_id, "today": today, "until": dp.limitation_until(today)}
    return [dict(r._mapping) for r in await uow.execute(LIMITATION, params)]


async def barred_residual(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> tuple[int, int]:
    """How many positions are time-barred on `today` with something still due, and that residual."""
    row = (await uow.execute(_BARRED_RESIDUAL, {"lim_tenant": tenant_id, "lim_today": today})).one()
    return int(row.positions), int(row.cents)


def _limitation_stage(stage: str, tenant_id: uuid.UUID, today: date) -> Any:
    """The condition of a position at the limitation's `stage` ("barring", "barred") on `today`."""
    query = sa.text(_BARRED).bindparams(lim_tenant=tenant_id, lim_today=today)
    if stage == "barring":
        query = sa.text(_BARRING).bindparams(
            lim_tenant=tenant_id, lim_today=today, lim_until=dp.limitation_until(today)
        )
    return positions.c.position_id.in_(query.columns(position_id=sa.Uuid).subquery().select())
