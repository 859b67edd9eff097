"""Builders shared by the payments tests."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.contracts import PositionFact
from services.payments import repository
from services.platform import Platform
from tests.support import position_fact, registered

__all__ = ["registered"]


def fact(
    amount_cents: int,
    name: str = "ROSSI MARIO",
    fiscal_code: str = "RSSMRA80A01H501U",
    position_id: str | None = None,
) -> PositionFact:
    credit = ("TARI", 2022, "T")
    return position_fact(
        amount_cents, name=name, fiscal_code=fiscal_code, position_id=position_id, credit=credit
    )


async def seed(platform: Platform, tenant_id: uuid.UUID, *facts: PositionFact) -> None:
    async with platform.databases["payments"].unit_of_work(tenant_id) as uow:
        await repository.register_positions(uow, tenant_id, facts)
        await uow.commit()


async def position(platform: Platform, tenant_id: uuid.UUID, position_id: str) -> sa.Row | None:  # type: ignore[type-arg]
    async with platform.databases["payments"].unit_of_work(tenant_id) as uow:
        return await repository.get_position(uow, tenant_id, uuid.UUID(position_id))


async def scalar(platform: Platform, tenant_id: uuid.UUID, sql: str, **params: object) -> object:
    async with platform.databases["payments"].unit_of_work(tenant_id) as uow:
        return (await uow.execute(sa.text(sql), params)).scalar_one()
