"""All queries of the payments service; every function takes the tenant and filters by it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contracts import PositionFact
from services.kernel.access_log import AccessLog
from services.kernel.db import UnitOfWork
from services.payments.models import access_log, limitation_acts, payments, positions
from services.payments.models_refunds import refunds

Row = sa.Row[Any]


async def register_positions(uow: UnitOfWork, tenant_id: uuid.UUID, facts: Sequence[PositionFact]) -> int:
    """Insert new positions; one already known keeps its amount and payments."""
    if not facts:
        return 0
    rows = [
        {
            "id": uuid.UUID(f.position_id),
            "tenant_id": tenant_id,
            "debtor_id": uuid.UUID(f.debtor_id),
            "fiscal_code": f.fiscal_code,
            "debtor_name": f.debtor_name,
            "revenue_type": f.revenue_type,
            "year": f.year,
            "act_number": f.act_number,
            "amount_cents": f.amount_cents,
            "act_on": f.act_day,
        }
        for f in facts
    ]
    stmt = (
        pg_insert(positions)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[positions.c.id, positions.c.tenant_id])
        .returning(positions.c.id)
    )
    return len((await uow.execute(stmt)).all())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_positions(
    uow: UnitOfWork, tenant_id: uuid.UUID, query: str, limit: int, offset: int
) -> list[Row]:
    """Positions whose fiscal code starts with `query`, or whose debtor's name contains each of
    its words, in any order («giulia russo» finds RUSSO GIULIA)."""
    p = positions
    stmt = sa.select(p).where(p.c.tenant_id == tenant_id)
    words = query.replace(",", " ").split()
    if words:
        named = [p.c.debtor_name.ilike(f"%{_escape_like(w)}%", escape="\\") for w in words]
        stmt = stmt.where(
            sa.or_(p.c.fiscal_code.ilike(f"{_escape_like(''.join(words))}%", escape="\\"), sa.and_(*named))
        )
    stmt = stmt.order_by(p.c.debtor_name, p.c.year.desc(), p.c.act_number, p.c.id).limit(limit).offset(offset)
    return list((await uow.execute(stmt)).all())


# Balance states the API filters on: nothing paid yet, partly paid, paid in full (a position the
# Ufficio tributi cancelled is in none of them: it is no longer due).
_OWED = positions.c.state == "open"
_BALANCE = {
    "open": sa.and_(_OWED, positions.c.paid_cents <= 0),
    "partial": sa.and_(_OWED, positions.c.paid_cents > 0, positions.c.paid_cents < positions.c.amount_cents),
    "settled": sa.and_(_OWED, positions.c.paid_cents >= positions.c.amount_cents),
}


async def list_positions(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    fiscal_code: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[Row]:
    """A page of the Comune's positions, optionally of one taxpayer and one balance state."""
    p = positions
    stmt = sa.select(p).where(p.c.tenant_id == tenant_id)
    if fiscal_code:
        stmt = stmt.where(p.c.fiscal_code == fiscal_code)
    if status:
        stmt = stmt.where(_BALANCE[status])
    stmt = stmt.order_by(p.c.fiscal_code, p.c.year, p.c.act_number, p.c.id).limit(limit).offset(offset)
    return list((await uow.execute(stmt)).all())


async def get_position(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> Row | None:
    stmt = sa.select(positions).where(positions.c.tenant_id == tenant_id, positions.c.id == position_id)
    return (await uow.execute(stmt)).first()


async def positions_by_ids(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> list[Row]:
    stmt = sa.select(positions).where(positions.c.tenant_id == tenant_id, positions.c.id.in_(position_ids))
    return list((await uow.execute(stmt)).all())


async def limitation_days(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[date]]:
    """Each position's days that start its limitation again (`kernel.limitation`): its payments,
    those revoked left out, and its interrupting acts, those withdrawn left out."""
    ids = list(position_ids)
    paid = sa.select(payments.c.position_id, payments.c.paid_on.label("day")).where(
        payments.c.tenant_id == tenant_id, payments.c.position_id.in_(ids), payments.c.state != "REVOKED"
    )
    stmt = paid.union_all(_served(tenant_id, ids))
    found: dict[uuid.UUID, list[date]] = {}
    for row in await uow.execute(stmt):
        found.setdefault(row.position_id, []).append(row.day)
    return found


def _served(tenant_id: uuid.UUID, position_ids: list[uuid.UUID]) -> sa.Select[Any]:
    a = limitation_acts.c
    return sa.select(a.position_id, a.served_on.label("day")).where(
        a.tenant_id == tenant_id, a.position_id.in_(position_ids), sa.not_(a.withdrawn)
    )


async def served_days(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[date]]:
    """Each position's days its interrupting acts not withdrawn were served."""
    found: dict[uuid.UUID, list[date]] = {}
    for row in await uow.execute(_served(tenant_id, list(position_ids))):
        found.setdefault(row.position_id, []).append(row.day)
    return found


async def payments_of(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> list[Row]:
    """The position's payments, newest first, each with what was refunded of it (`refunded_cents`)."""
    refunded = (
        sa.select(sa.func.coalesce(sa.func.sum(refunds.c.amount_cents), 0))
        .where(refunds.c.tenant_id == tenant_id, refunds.c.payment_id == payments.c.id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(payments, refunded.label("refunded_cents"))
        .where(payments.c.tenant_id == tenant_id, payments.c.position_id == position_id)
        .order_by(payments.c.paid_on.desc(), payments.c.recorded_at.desc())
    )
    return list((await uow.execute(stmt)).all())


async def add_to_paid(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID, amount_cents: int
) -> Row | None:
    """Add to the paid amount only if it stays within the amount due; None if it would not.

    The check lives in the UPDATE itself, so two concurrent payments cannot both pass it.
    """
    p = positions
    stmt = (
        sa.update(p)
        .where(
            p.c.tenant_id == tenant_id,
            p.c.id == position_id,
            p.c.paid_cents + amount_cents <= p.c.amount_cents,
        )
        .values(paid_cents=p.c.paid_cents + amount_cents)
        .returning(p.c.id, p.c.debtor_id, p.c.amount_cents, p.c.paid_cents)
    )
    return (await uow.execute(stmt)).first()


async def insert_payment(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    position_id: uuid.UUID,
    debtor_id: uuid.UUID,
    amount_cents: int,
    paid_on: date,
    recorded_by: str,
    idempotency_key: str | None = None,
    manual: dict[str, Any] | None = None,
) -> uuid.UUID | None:
    """The new payment's id, or None when a payment with the same idempotency key exists."""
    payment_id = uuid.uuid4()
    stmt = (
        pg_insert(payments)
        .values(
            id=payment_id,
            tenant_id=tenant_id,
            position_id=position_id,
            debtor_id=debtor_id,
            amount_cents=amount_cents,
            paid_on=paid_on,
            recorded_by=recorded_by,
            idempotency_key=idempotency_key,
            **(manual or {}),
        )
        .on_conflict_do_nothing(
            index_elements=[payments.c.tenant_id, payments.c.idempotency_key],
            index_where=payments.c.idempotency_key.is_not(None),
        )
        .returning(payments.c.id)
    )
    inserted: uuid.UUID | None = (await uow.execute(stmt)).scalar()
    return inserted


async def payment_by_key(uow: UnitOfWork, tenant_id: uuid.UUID, idempotency_key: str) -> Row | None:
    stmt = sa.select(payments).where(
        payments.c.tenant_id == tenant_id, payments.c.idempotency_key == idempotency_key
    )
    return (await uow.execute(stmt)).first()


async def payment_evidence(uow: UnitOfWork, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> Row | None:
    stmt = sa.select(payments.c.position_id, payments.c.evidence_key, payments.c.evidence_name).where(
        payments.c.tenant_id == tenant_id, payments.c.id == payment_id
    )
    return (await uow.execute(stmt)).first()


access = AccessLog(access_log)
# What names a record of the register of accesses (`web_access.subject_names`): a position by its
# act and debtor, a debtor (the public page) by name and fiscal code.
ACCESS_NAMES = [
    (positions, "id", positions.c.act_number + " · " + positions.c.debtor_name),
    (positions, "debtor_id", positions.c.debtor_name + " · " + positions.c.fiscal_code),
]
