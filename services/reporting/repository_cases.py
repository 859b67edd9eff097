"""Queries of the Ufficio tributi's worklist; every function takes the tenant and filters by it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.reporting.domain_cases import NOT_FINAL, Effect, OpenPosition
from services.reporting.models import positions, tenant_totals
from services.reporting.models_cases import case_answers, case_evidence, cases
from services.reporting.models_ledger import plans

Row = sa.Row[Any]


async def open_case(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    """A case the contact service opened (once per call: a repeated event changes nothing)."""
    stmt = pg_insert(cases).values(tenant_id=tenant_id, **values)
    await uow.execute(stmt.on_conflict_do_nothing(index_elements=[cases.c.id]))


async def add_evidence(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    stmt = pg_insert(case_evidence).values(tenant_id=tenant_id, **values)
    await uow.execute(stmt.on_conflict_do_nothing(index_elements=[case_evidence.c.id]))


def _debtor(column: str) -> Any:
    """The debtor's name or fiscal code, from any of their positions here."""
    return (
        sa.select(positions.c[column])
        .where(positions.c.tenant_id == cases.c.tenant_id, positions.c.debtor_id == cases.c.debtor_id)
        .limit(1)
        .scalar_subquery()
    )


def _open_case() -> Any:
    """Unanswered, or suspended (`domain_cases.NOT_FINAL`): still waiting for a final answer."""
    return sa.or_(cases.c.answer.is_(None), cases.c.answer.in_(sorted(NOT_FINAL)))


async def worklist(uow: UnitOfWork, tenant_id: uuid.UUID, waiting: bool, limit: int) -> list[Row]:
    """The cases waiting for a final answer, suspended ones included (oldest first), or those
    answered for good (latest first)."""
    c = cases
    stmt = sa.select(
        c, _debtor("debtor_name").label("debtor_name"), _debtor("fiscal_code").label("fiscal_code")
    )
    stmt = stmt.where(c.c.tenant_id == tenant_id)
    if waiting:
        stmt = stmt.where(_open_case()).order_by(c.c.opened_at, c.c.id)
    else:
        stmt = stmt.where(sa.not_(_open_case())).order_by(c.c.answered_at.desc(), c.c.id)
    return list((await uow.execute(stmt.limit(limit))).all())


async def get_case(
    uow: UnitOfWork, tenant_id: uuid.UUID, case_id: uuid.UUID, lock: bool = False
) -> Row | None:
    c = cases
    stmt = sa.select(
        c, _debtor("debtor_name").label("debtor_name"), _debtor("fiscal_code").label("fiscal_code")
    )
    stmt = stmt.where(c.c.tenant_id == tenant_id, c.c.id == case_id)
    return (await uow.execute(stmt.with_for_update(of=c) if lock else stmt)).first()


async def answers_of(uow: UnitOfWork, tenant_id: uuid.UUID, case_id: uuid.UUID) -> list[Row]:
    a = case_answers
    stmt = sa.select(a).where(a.c.tenant_id == tenant_id, a.c.case_id == case_id).order_by(a.c.answered_at)
    return list((await uow.execute(stmt)).all())


async def evidence_of(uow: UnitOfWork, tenant_id: uuid.UUID, case_ids: list[uuid.UUID]) -> list[Row]:
    e = case_evidence
    stmt = sa.select(e).where(e.c.tenant_id == tenant_id, e.c.case_id.in_(case_ids)).order_by(e.c.uploaded_at)
    return list((await uow.execute(stmt)).all()) if case_ids else []


async def evidence(uow: UnitOfWork, tenant_id: uuid.UUID, evidence_id: uuid.UUID) -> Row | None:
    e = case_evidence
    stmt = sa.select(e).where(e.c.tenant_id == tenant_id, e.c.id == evidence_id)
    return (await uow.execute(stmt)).first()


async def record_answer(
    uow: UnitOfWork, tenant_id: uuid.UUID, case_id: uuid.UUID, values: dict[str, Any], at: datetime
) -> uuid.UUID:
    """Keep the answer (every one, with who and when) and make it the case's current one."""
    answer_id = uuid.uuid4()
    await uow.execute(
        sa.insert(case_answers).values(
            id=answer_id, tenant_id=tenant_id, case_id=case_id, answered_at=at, **values
        )
    )
    await uow.execute(
        sa.update(cases)
        .where(cases.c.tenant_id == tenant_id, cases.c.id == case_id)
        .values(answer=values["answer"], answered_at=at)
    )
    return answer_id


async def waiting_count(uow: UnitOfWork, tenant_id: uuid.UUID) -> int:
    c = cases
    stmt = sa.select(sa.func.count()).where(c.c.tenant_id == tenant_id, _open_case())
    return int((await uow.execute(stmt)).scalar_one())


# --- the positions an answer names ---------------------------------------------------------------


def _in_active_plan() -> Any:
    p, pl = positions, plans
    return sa.exists().where(
        pl.c.tenant_id == p.c.tenant_id, pl.c.plan_id == p.c.plan_id, pl.c.lapsed_on.is_(None)
    )


async def open_positions(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, lock: bool = False
) -> list[Row]:
    """The debtor's open positions (not cancelled), oldest act first, with whether an active plan
    covers them; `lock`: held until commit (an answer changes them)."""
    p = positions
    stmt = (
        sa.select(
            p.c.position_id,
            p.c.revenue_type,
            p.c.year,
            p.c.act_number,
            p.c.amount_cents,
            p.c.collected_cents,
            p.c.original_cents,
            _in_active_plan().label("in_active_plan"),
        )
        .where(p.c.tenant_id == tenant_id, p.c.debtor_id == debtor_id, p.c.state == "open")
        .order_by(p.c.year, p.c.revenue_type, p.c.act_number, p.c.position_id)
    )
    return list((await uow.execute(stmt.with_for_update(of=p) if lock else stmt)).all())


def as_open_position(row: Row) -> OpenPosition:
    return OpenPosition(
        row.position_id, row.act_number, row.amount_cents, row.collected_cents, bool(row.in_active_plan)
    )


async def apply_effects(
    uow: UnitOfWork, tenant_id: uuid.UUID, effects: list[Effect], amounts: dict[uuid.UUID, int], at: datetime
) -> int:
    """Cancel or re-amount the open positions named (`amounts`: their amount now); the change of
    the assigned amount. A position no longer open is left alone."""
    p, delta = positions, 0
    for effect in effects:
        if effect.position_id not in amounts:
            continue
        where = sa.and_(
            p.c.tenant_id == tenant_id, p.c.position_id == effect.position_id, p.c.state == "open"
        )
        if effect.cancel:
            values: dict[str, Any] = {"state": "cancelled", "decided_at": at}
            delta -= amounts[effect.position_id]
        else:
            new = int(effect.new_cents or 0)
            values = {
                "original_cents": sa.func.coalesce(p.c.original_cents, p.c.amount_cents),
                "amount_cents": new,
                "decided_at": at,
            }
            delta += new - amounts[effect.position_id]
        await uow.execute(sa.update(p).where(where).values(**values))
    return delta


async def amounts_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The amount of each of these positions still open."""
    p = positions
    stmt = sa.select(p.c.position_id, p.c.amount_cents).where(
        p.c.tenant_id == tenant_id, p.c.position_id.in_(position_ids), p.c.state == "open"
    )
    return {r.position_id: int(r.amount_cents) for r in await uow.execute(stmt)} if position_ids else {}


async def decisions(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Row]:
    """Every recorded answer that names positions, in the order given."""
    a = case_answers
    stmt = (
        sa.select(a.c.answer, a.c.position_ids, a.c.corrected_cents, a.c.answered_at)
        .where(a.c.tenant_id == tenant_id, sa.func.cardinality(a.c.position_ids) > 0)
        .order_by(a.c.answered_at, a.c.id)
    )
    return list((await uow.execute(stmt)).all())


async def recount_assigned(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """The assigned total and positions as the sum and count of the open positions (what the live
    answers keep)."""
    p = positions
    open_ = sa.and_(p.c.tenant_id == tenant_id, p.c.state == "open")
    total = sa.select(sa.func.coalesce(sa.func.sum(p.c.amount_cents), 0)).where(open_).scalar_subquery()
    count = sa.select(sa.func.count()).where(open_).scalar_subquery()
    t = tenant_totals
    await uow.execute(
        sa.update(t)
        .where(t.c.tenant_id == tenant_id)
        .values(assigned_cents=total, positions=count, updated_at=sa.func.now())
    )
