"""Queries of the Ufficio tributi's portal: the figures and the drill-down to the debtors read the
tables the projections keep (`models_portal`: a few rows, whatever the Comune's size), the weekly
trend and one debtor's file read the projections. Every function takes the tenant and filters by it
(row-level security too)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.kernel.db import UnitOfWork
from services.reporting import domain_portal as dp
from services.reporting.models import outcomes, payments, positions
from services.reporting.models_cases import case_answers, cases
from services.reporting.models_ledger import debtors, plans, refunds
from services.reporting.models_portal import portal_debtors, portal_figures

Row = sa.Row[Any]


def _group(table: sa.Table, tenant_id: uuid.UUID, filt: dp.DebtorFilter) -> list[Any]:
    """The rows of the filter's group: its revenue type and year, or every one."""
    return [
        table.c.tenant_id == tenant_id,
        table.c.revenue_type == (filt.revenue_type or dp.ALL_TYPES),
        table.c.year == (filt.year or dp.ALL_YEARS),
    ]


async def figures(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Row]:
    """The figures of the whole campaign (revenue type "" and year 0), of each revenue type (year
    0) and of each year (type ""): `promises_cents` and, per stage, `<stage>_debtors`,
    `<stage>_positions` and `<stage>_cents`."""
    f = portal_figures.c
    stmt = sa.select(portal_figures).where(
        f.tenant_id == tenant_id, sa.or_(f.revenue_type == dp.ALL_TYPES, f.year == dp.ALL_YEARS)
    )
    return list((await uow.execute(stmt)).all())


async def weekly(
    uow: UnitOfWork, tenant_id: uuid.UUID, weeks: Sequence[date], starts_at: Sequence[datetime]
) -> dict[str, dict[date, int]]:
    """Per week of `weeks` (their Mondays, in order; `starts_at`: their midnights in Europe/Rome):
    payments not revoked, refunds, outcomes recorded. A row finds its week by comparisons with the
    weeks' starts (`width_bucket`), not by converting every instant to Rome's time."""
    days = sa.bindparam("weeks", list(weeks), type_=ARRAY(sa.Date))
    moments = sa.bindparam("starts_at", list(starts_at), type_=ARRAY(sa.DateTime(timezone=True)))
    pay, back, out = payments.c, refunds.c, outcomes.c
    sums = {
        "paid": (pay.paid_on, days, weeks[0], sa.func.sum(pay.amount_cents), pay.revoked_on.is_(None)),
        "refunded": (back.refunded_on, days, weeks[0], sa.func.sum(back.amount_cents), sa.true()),
        "outcomes": (out.recorded_at, moments, starts_at[0], sa.func.count(), sa.true()),
    }
    found = {}
    for name, (when, starts, first, total, counted) in sums.items():
        week = sa.func.width_bucket(when, starts)
        stmt = sa.select(week, total).where(when.table.c.tenant_id == tenant_id, when >= first, counted)
        rows: Sequence[Any] = (await uow.execute(stmt.group_by(week))).all()
        found[name] = {weeks[number - 1]: int(value) for number, value in rows}
    return found


def _at_stage(stage: str) -> tuple[Any, Any, Any, Any]:
    """Whether a debtor's row is at `stage`, and its positions there with their amount assigned and
    collected: a debtor's own stage takes every position of theirs."""
    c = portal_debtors.c
    if stage in dp.DEBTOR_STAGES:
        return c[stage], c.assigned_positions, c.assigned_amount_cents, c.assigned_collected_cents
    count = c[f"{stage}_positions"]
    return count > 0, count, c[f"{stage}_amount_cents"], c[f"{stage}_collected_cents"]


def _debtor_rows(tenant_id: uuid.UUID, filt: dp.DebtorFilter) -> Any:
    """One row per debtor at the filter's stage, over their positions of its revenue type and year,
    by name."""
    c, d = portal_debtors.c, debtors.c
    at_stage, count, assigned, collected = _at_stage(filt.stage or "assigned")
    return (
        sa.select(
            c.debtor_id,
            c.fiscal_code,
            c.debtor_name,
            count.label("positions"),
            assigned.label("assigned_cents"),
            collected.label("collected_cents"),
            (assigned - collected).label("residual_cents"),
            sa.func.coalesce(d.last_outcome, "").label("last_outcome"),
            d.last_outcome_at,
            sa.func.coalesce(d.attempts, 0).label("attempts"),
        )
        .select_from(
            portal_debtors.outerjoin(debtors, sa.and_(d.tenant_id == tenant_id, d.debtor_id == c.debtor_id))
        )
        .where(*_group(portal_debtors, tenant_id, filt), at_stage)
        .order_by(c.debtor_name, c.debtor_id)
    )


async def debtor_page(uow: UnitOfWork, tenant_id: uuid.UUID, filt: dp.DebtorFilter, size: int) -> list[Row]:
    """A page of the drill-down, by name."""
    stmt = _debtor_rows(tenant_id, filt).limit(size).offset(filt.offset)
    return list((await uow.execute(stmt)).all())


async def debtor_count(uow: UnitOfWork, tenant_id: uuid.UUID, filt: dp.DebtorFilter) -> int:
    """How many debtors the filter finds: the figure of its stage in its group."""
    column = portal_figures.c[f"{filt.stage or 'assigned'}_debtors"]
    stmt = sa.select(column).where(*_group(portal_figures, tenant_id, filt))
    return int((await uow.execute(stmt)).scalar_one_or_none() or 0)


async def all_debtors(uow: UnitOfWork, tenant_id: uuid.UUID, filt: dp.DebtorFilter) -> list[Row]:
    """Every debtor the filter finds (for a download), by name."""
    return list((await uow.execute(_debtor_rows(tenant_id, filt))).all())


async def choices(uow: UnitOfWork, tenant_id: uuid.UUID) -> tuple[list[str], list[int]]:
    """The revenue types and years of the positions assigned, for the drill-down's filters."""
    f = portal_figures.c
    mine = f.tenant_id == tenant_id
    types = sa.select(f.revenue_type).where(mine, f.year == dp.ALL_YEARS, f.revenue_type != dp.ALL_TYPES)
    years = sa.select(f.year).where(mine, f.revenue_type == dp.ALL_TYPES, f.year != dp.ALL_YEARS)
    return (
        list((await uow.execute(types.order_by(f.revenue_type))).scalars()),
        list((await uow.execute(years.order_by(f.year))).scalars()),
    )


async def clear_kept(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """Empty the Comune's portal tables, for a replay to rebuild them from nothing: once its
    projections are emptied the triggers have taken every debtor's rows off, and this drops whatever
    a write around them (a hand-made fix) left behind."""
    for table in (portal_debtors, portal_figures):
        await uow.execute(sa.delete(table).where(table.c.tenant_id == tenant_id))


# --- one debtor ----------------------------------------------------------------------------------


async def debtor_positions(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    p = positions.c
    stmt = (
        sa.select(positions, plans.c.lapsed_on.label("plan_lapsed_on"))
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
