"""Queries of the hand-over to pagoPA GPD: the payable options of positions and of active plans."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.payments.models import payment_options, plan_positions, plans, positions
from services.payments.models_reconciliation import gpd_positions

Row = sa.Row[Any]


async def position_options(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: tuple[uuid.UUID, ...] | None = None
) -> list[Row]:
    """The payable options of positions alone (not of a plan, and not in an active plan, which is
    handed over as a whole), with what GPD needs of the position; all of the Comune's when
    `position_ids` is None."""
    o, p, pp = payment_options, positions, plan_positions
    in_plan = sa.exists().where(
        pp.c.tenant_id == o.c.tenant_id, pp.c.position_id == o.c.position_id, pp.c.active
    )
    stmt = (
        sa.select(
            o.c.position_id,
            o.c.nav,
            o.c.iuv,
            o.c.amount_cents,
            o.c.due_date,
            p.c.fiscal_code,
            p.c.debtor_name,
            p.c.revenue_type,
            p.c.year,
            p.c.act_number,
        )
        .join(p, sa.and_(p.c.tenant_id == o.c.tenant_id, p.c.id == o.c.position_id))
        .where(o.c.tenant_id == tenant_id, o.c.plan_id.is_(None), o.c.status == "payable", ~in_plan)
        .order_by(p.c.created_at, p.c.id, o.c.issued_at, o.c.nav)
    )
    if position_ids is not None:
        stmt = stmt.where(o.c.position_id.in_(position_ids))
    return list((await uow.execute(stmt)).all())


async def plan_heads(uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID | None = None) -> list[Row]:
    """Plans with their debtor and the acts they cover (status included, so a caller can tell a
    lapsed plan from a missing one); all of the Comune's when `plan_id` is None."""
    pl, pp, p = plans, plan_positions, positions
    stmt = (
        sa.select(
            pl.c.id,
            pl.c.status,
            pl.c.revenue_type,
            sa.func.min(p.c.fiscal_code).label("fiscal_code"),
            sa.func.min(p.c.debtor_name).label("debtor_name"),
            sa.func.array_agg(sa.distinct(p.c.act_number)).label("acts"),
        )
        .join(pp, sa.and_(pp.c.tenant_id == pl.c.tenant_id, pp.c.plan_id == pl.c.id))
        .join(p, sa.and_(p.c.tenant_id == pp.c.tenant_id, p.c.id == pp.c.position_id))
        .where(pl.c.tenant_id == tenant_id)
        .group_by(pl.c.id, pl.c.status, pl.c.revenue_type, pl.c.created_at)
        .order_by(pl.c.created_at, pl.c.id)
    )
    if plan_id is not None:
        stmt = stmt.where(pl.c.id == plan_id)
    return list((await uow.execute(stmt)).all())


async def plan_options(uow: UnitOfWork, tenant_id: uuid.UUID, plan_ids: list[uuid.UUID]) -> list[Row]:
    """The payable options of these plans: the single payment (installment None) and installments."""
    o = payment_options
    stmt = (
        sa.select(o.c.plan_id, o.c.installment, o.c.nav, o.c.iuv, o.c.amount_cents, o.c.due_date)
        .where(o.c.tenant_id == tenant_id, o.c.plan_id.in_(plan_ids), o.c.status == "payable")
        .where(o.c.kind == "debt")
        .order_by(o.c.plan_id, o.c.installment.nulls_first(), o.c.nav)
    )
    return list((await uow.execute(stmt)).all()) if plan_ids else []


async def charges_options(uow: UnitOfWork, tenant_id: uuid.UUID, plan_ids: list[uuid.UUID]) -> list[Row]:
    """The payable notices of these plans' c.803 charges."""
    o = payment_options
    stmt = (
        sa.select(o.c.id, o.c.plan_id, o.c.nav, o.c.iuv, o.c.amount_cents, o.c.due_date)
        .where(o.c.tenant_id == tenant_id, o.c.plan_id.in_(plan_ids), o.c.status == "payable")
        .where(o.c.kind == "charges")
        .order_by(o.c.plan_id, o.c.nav)
    )
    return list((await uow.execute(stmt)).all()) if plan_ids else []


async def record_published(
    uow: UnitOfWork, tenant_id: uuid.UUID, published: list[dict[str, Any]], by: str
) -> None:
    """Positions and plans now published on GPD (`iupd`, `kind`, `subject_id`); one published
    again (after an invalidation failed, say) is published anew."""
    if not published:
        return
    g = gpd_positions
    stmt = pg_insert(g).values(
        [{**row, "tenant_id": tenant_id, "status": "published", "published_by": by} for row in published]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[g.c.tenant_id, g.c.iupd],
        set_={
            "status": "published",
            "published_by": by,
            "published_at": sa.func.now(),
            "changed_at": None,
            "note": None,
        },
    )
    await uow.execute(stmt)


async def published_of(uow: UnitOfWork, tenant_id: uuid.UUID, subject_ids: list[uuid.UUID]) -> list[Row]:
    """What of these positions and plans is published on GPD and still valid there."""
    g = gpd_positions
    stmt = sa.select(g.c.iupd, g.c.kind, g.c.subject_id).where(
        g.c.tenant_id == tenant_id, g.c.subject_id.in_(subject_ids), g.c.status == "published"
    )
    return list((await uow.execute(stmt.order_by(g.c.iupd))).all())


async def mark_gpd(uow: UnitOfWork, tenant_id: uuid.UUID, iupd: str, status: str, note: str | None) -> None:
    g = gpd_positions
    stmt = sa.update(g).where(g.c.tenant_id == tenant_id, g.c.iupd == iupd)
    await uow.execute(stmt.values(status=status, note=note, changed_at=sa.func.now()))


async def handed_over(uow: UnitOfWork, tenant_id: uuid.UUID, subject_ids: list[uuid.UUID]) -> list[Row]:
    """The GPD hand-overs of a position and its plan, newest first, for its page."""
    g = gpd_positions
    stmt = sa.select(g).where(g.c.tenant_id == tenant_id, g.c.subject_id.in_(subject_ids))
    return list((await uow.execute(stmt.order_by(g.c.published_at.desc()))).all())
