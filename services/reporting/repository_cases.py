"""Queries of the Ufficio tributi's worklist; every function takes the tenant and filters by it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.reporting.models import positions
from services.reporting.models_cases import case_answers, case_evidence, cases

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


async def worklist(uow: UnitOfWork, tenant_id: uuid.UUID, waiting: bool, limit: int) -> list[Row]:
    """The cases waiting for an answer (oldest first), or those answered (latest first)."""
    c = cases
    stmt = sa.select(
        c, _debtor("debtor_name").label("debtor_name"), _debtor("fiscal_code").label("fiscal_code")
    )
    stmt = stmt.where(c.c.tenant_id == tenant_id)
    if waiting:
        stmt = stmt.where(c.c.answer.is_(None)).order_by(c.c.opened_at, c.c.id)
    else:
        stmt = stmt.where(c.c.answer.is_not(None)).order_by(c.c.answered_at.desc(), c.c.id)
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
    stmt = sa.select(sa.func.count()).where(c.c.tenant_id == tenant_id, c.c.answer.is_(None))
    return int((await uow.execute(stmt)).scalar_one())
