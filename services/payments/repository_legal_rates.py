"""Queries of the legal interest rate table (`payments.legal_rates`): national, not tenant-scoped."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from services.kernel.db import UnitOfWork
from services.payments.domain_legal_rates import NewRate, RateTable, table_of
from services.payments.models import legal_rates

Row = sa.Row[Any]

UNSCOPED = {
    "rate_table": "national rate, same for every Comune",
    "rate_history": "national rate, same for every Comune",
    "insert_rate": "national rate, same for every Comune",
}


async def rate_table(uow: UnitOfWork) -> RateTable:
    """Every (valid_from, rate) pair, sorted by date: one query."""
    stmt = sa.select(legal_rates.c.valid_from, legal_rates.c.rate).order_by(legal_rates.c.valid_from)
    return table_of((r.valid_from, r.rate) for r in await uow.execute(stmt))


async def rate_history(uow: UnitOfWork) -> list[Row]:
    """Every rate with its decree and who added it when, oldest first."""
    return list((await uow.execute(sa.select(legal_rates).order_by(legal_rates.c.valid_from))).all())


async def insert_rate(uow: UnitOfWork, new: NewRate, created_by: str, created_by_name: str) -> bool:
    """Add a rate; False when a rate from that day already exists (nothing is written)."""
    values = {"valid_from": new.valid_from, "rate": new.rate, "decree": new.decree.strip()}
    stmt = (
        postgresql_insert(legal_rates)
        .values(**values, created_by=created_by, created_by_name=created_by_name)
        .on_conflict_do_nothing(index_elements=["valid_from"])
        .returning(legal_rates.c.valid_from)
    )
    return (await uow.execute(stmt)).first() is not None
