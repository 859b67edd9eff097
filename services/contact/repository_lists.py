"""Queries of the operators' work lists, and the pool's condition a list adds to the queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contact.domain_lists import WorkList
from services.contact.models import debtor_payments, debtor_positions, debtors
from services.contact.models_lists import operators_seen, work_lists
from services.kernel.db import UnitOfWork, constant


@dataclass(frozen=True)
class StoredList:
    operator: str
    operator_name: str | None
    work_list: WorkList
    updated_by: str
    updated_by_name: str | None
    updated_at: datetime


def _stored(row: Any) -> StoredList:
    work_list = WorkList(tuple(row.revenue_types), row.year_from, row.year_to, row.min_cents, row.max_cents)
    return StoredList(
        row.operator, row.operator_name, work_list, row.updated_by, row.updated_by_name, row.updated_at
    )


async def list_of(uow: UnitOfWork, tenant_id: uuid.UUID, operator: str) -> StoredList | None:
    """The operator's work list in the Comune, if one is set."""
    w = work_lists
    row = (
        await uow.execute(sa.select(w).where(w.c.tenant_id == tenant_id, w.c.operator == operator))
    ).first()
    return None if row is None else _stored(row)


# The planner's settings for the lease that follows `lock_and_list` in its transaction (the lease
# puts the ones before back). Planning the lease anew on every call (as PostgreSQL's `auto` chooses,
# misled by its costs) took 1.3-1.9 ms of the server's CPU, four times its execution: it runs on the
# plan kept for its prepared statement. That plan's estimate (stages sorted after an inequality on a
# parameter) passes the JIT's threshold, and the JIT compiled it on every execution (100 ms).
LEASE_PLANNING = {"plan_cache_mode": "force_generic_plan", "jit": "off"}


def _locked_list_statement() -> Any:
    """The operator's work list read by the statement that takes their lease lock (`lock_key`): the
    lock's one row, joined to the list if there is one; the lease's planner settings set, and the
    ones before returned (`was_<name>`), read before they are set (OFFSET 0 keeps the read a scan
    of its own)."""
    key = sa.bindparam("lock_key", type_=sa.Text)
    was = (
        sa.select(*(sa.func.current_setting(constant(n)).label(f"was_{n}") for n in LEASE_PLANNING))
        .offset(constant(0))
        .subquery("was")
    )
    locked = sa.select(
        sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(key, 0)).label("locked"),
        *was.c,
        *(
            sa.func.set_config(constant(n), constant(v), sa.true()).label(f"set_{n}")
            for n, v in LEASE_PLANNING.items()
        ),
    ).subquery("locked")
    w = work_lists
    mine = sa.and_(
        w.c.tenant_id == sa.bindparam("tenant", type_=sa.Uuid),
        w.c.operator == sa.bindparam("user", type_=sa.Text),
    )
    settings = [locked.c[f"was_{n}"] for n in LEASE_PLANNING]
    return sa.select(w, *settings).select_from(locked.outerjoin(w, mine))


LOCKED_LIST = _locked_list_statement()


async def lock_and_list(
    uow: UnitOfWork, tenant_id: uuid.UUID, operator: str, lock_key: str
) -> tuple[StoredList | None, dict[str, str]]:
    """Wait for the transaction-level advisory lock `lock_key`, and read the operator's work list in
    the Comune (if one is set) in the same statement: the list as it was when the statement began
    (a supervisor's change committed during the wait applies from the next lease). The statement
    before a lease: it sets `LEASE_PLANNING` and gives the settings it replaced, by name."""
    params = {"lock_key": lock_key, "tenant": tenant_id, "user": operator}
    row = (await uow.execute(LOCKED_LIST, params)).one()
    before = {n: row._mapping[f"was_{n}"] for n in LEASE_PLANNING}
    return (None if row.operator is None else _stored(row)), before


async def lists_in(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[StoredList]:
    """Every work list of the Comune, by operator's name."""
    w = work_lists
    stmt = sa.select(w).where(w.c.tenant_id == tenant_id).order_by(w.c.operator_name, w.c.operator)
    return [_stored(row) for row in await uow.execute(stmt)]


async def save_list(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    operator: tuple[str, str | None],
    work_list: WorkList,
    by: tuple[str, str],
) -> None:
    """Set the operator's (id, name) list, replacing the one they had; `by`: the editor's id and name."""
    values = {
        "operator_name": operator[1],
        "revenue_types": list(work_list.revenue_types),
        "year_from": work_list.year_from,
        "year_to": work_list.year_to,
        "min_cents": work_list.min_cents,
        "max_cents": work_list.max_cents,
        "updated_by": by[0],
        "updated_by_name": by[1],
    }
    stmt = pg_insert(work_lists).values(tenant_id=tenant_id, operator=operator[0], **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[work_lists.c.tenant_id, work_lists.c.operator],
        set_={**values, "updated_at": sa.func.now()},
    )
    await uow.execute(stmt)


async def remove_list(uow: UnitOfWork, tenant_id: uuid.UUID, operator: str) -> StoredList | None:
    """Take the operator's list away; the list removed (None: there was none)."""
    w = work_lists
    stmt = sa.delete(w).where(w.c.tenant_id == tenant_id, w.c.operator == operator).returning(*w.c)
    row = (await uow.execute(stmt)).first()
    return None if row is None else _stored(row)


def list_params(work_list: WorkList) -> dict[str, Any]:
    """The parameters of `listed_conditions` for this list (None: that criterion is not set)."""
    return {
        "min_cents": work_list.min_cents,
        "max_cents": work_list.max_cents,
        "reads_positions": work_list.reads_positions,
        "revenue_types": list(work_list.revenue_types) or None,
        "year_from": work_list.year_from,
        "year_to": work_list.year_to,
    }


def listed_conditions() -> tuple[Any, ...]:
    """The SQL of `domain_lists`' definition, on a row of `debtors`, with the list as parameters
    (`list_params`): the queue's statement is built once. The band reads the debtor's own columns;
    the positions are probed through their index by debtor (a debtor has a few), and what was paid
    on each matching one through the payments' index by debtor: per debtor scanned, never over the
    whole Comune."""
    d = debtors
    low, high = sa.bindparam("min_cents", type_=sa.BigInteger), sa.bindparam("max_cents", type_=sa.BigInteger)
    reads = sa.bindparam("reads_positions", type_=sa.Boolean)
    return (
        sa.or_(low.is_(None), d.c.total_due_cents >= low),
        sa.or_(high.is_(None), d.c.total_due_cents <= high),
        sa.or_(sa.not_(reads), _open_position()),
    )


def _open_position() -> Any:
    p, pay = debtor_positions, debtor_payments
    paid = (
        sa.select(sa.func.coalesce(sa.func.sum(pay.c.amount_cents), 0))
        .where(
            pay.c.tenant_id == p.c.tenant_id,
            pay.c.debtor_id == p.c.debtor_id,
            pay.c.position_id == p.c.position_id,
        )
        .scalar_subquery()
    )
    kinds = sa.bindparam("revenue_types", type_=postgresql.ARRAY(sa.Text))
    first = sa.bindparam("year_from", type_=sa.Integer)
    last = sa.bindparam("year_to", type_=sa.Integer)
    return sa.exists().where(
        p.c.tenant_id == debtors.c.tenant_id,
        p.c.debtor_id == debtors.c.id,
        p.c.state == "open",
        sa.or_(kinds.is_(None), p.c.revenue_type == sa.func.any(kinds)),
        sa.or_(first.is_(None), p.c.year >= first),
        sa.or_(last.is_(None), p.c.year <= last),
        p.c.amount_cents > paid,
    )


async def note_seen(
    uow: UnitOfWork, tenant_id: uuid.UUID, operator: tuple[str, str | None], now: datetime
) -> None:
    """The operator (id, name) opened the Comune's queue at `now`: kept for «Affida a», written again
    only after an hour (or when their name changed)."""
    o = operators_seen
    stmt = pg_insert(o).values(
        tenant_id=tenant_id, operator=operator[0], operator_name=operator[1], seen_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[o.c.tenant_id, o.c.operator],
        set_={"seen_at": stmt.excluded.seen_at, "operator_name": stmt.excluded.operator_name},
        where=sa.or_(
            o.c.seen_at < now - timedelta(hours=1),
            o.c.operator_name.is_distinct_from(stmt.excluded.operator_name),
        ),
    )
    await uow.execute(stmt)
