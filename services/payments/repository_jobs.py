"""Queries of the payments jobs (imports, bulk notices) and their progress."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.payments.models import plan_positions, positions
from services.payments.models_reconciliation import debtor_contacts, jobs

Row = sa.Row[Any]


async def create_job(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await uow.execute(sa.insert(jobs).values(tenant_id=tenant_id, **values))


async def job(uow: UnitOfWork, tenant_id: uuid.UUID, job_id: uuid.UUID) -> Row | None:
    stmt = sa.select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id)
    return (await uow.execute(stmt)).first()


async def update_job(
    uow: UnitOfWork, tenant_id: uuid.UUID, job_id: uuid.UUID, values: dict[str, Any]
) -> None:
    stmt = sa.update(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id).values(**values)
    await uow.execute(stmt)


async def recent_jobs(
    uow: UnitOfWork, tenant_id: uuid.UUID, kinds: tuple[str, ...], limit: int = 10
) -> list[Row]:
    stmt = (
        sa.select(jobs)
        .where(jobs.c.tenant_id == tenant_id, jobs.c.kind.in_(kinds))
        .order_by(jobs.c.created_at.desc())
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


async def positions_for_mailing(
    uow: UnitOfWork, tenant_id: uuid.UUID, fiscal_codes: list[str] | None, limit: int
) -> list[Row]:
    """Positions with something still due (not cancelled) and in no active plan: of these taxpayers, or (None) of
    every taxpayer the Comune cannot reach by e-mail or PEC; in mailing order."""
    p, pp, de = positions, plan_positions, debtor_contacts
    in_plan = sa.select(pp.c.position_id).where(pp.c.tenant_id == tenant_id, pp.c.active)
    stmt = sa.select(p.c.id, p.c.fiscal_code).where(
        p.c.tenant_id == tenant_id,
        p.c.paid_cents < p.c.amount_cents,
        p.c.state == "open",  # not cancelled by the Ufficio tributi
        p.c.id.not_in(in_plan),
    )
    if fiscal_codes is not None:
        stmt = stmt.where(p.c.fiscal_code.in_(fiscal_codes))
    else:
        reachable = sa.select(de.c.debtor_id).where(
            de.c.tenant_id == tenant_id, de.c.active, de.c.kind.in_(("email", "pec"))
        )
        stmt = stmt.where(p.c.debtor_id.not_in(reachable))
    stmt = stmt.order_by(p.c.debtor_name, p.c.fiscal_code, p.c.year, p.c.act_number).limit(limit)
    return list((await uow.execute(stmt)).all())
