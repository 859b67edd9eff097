"""Builders shared by the contact tests."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.contact import repository
from services.contracts import PositionFact, PositionsRegistered
from services.kernel.envelope import Envelope
from services.platform import Platform


def fact(
    debtor_id: str, amount_cents: int, name: str = "ROSSI MARIO", position_id: str | None = None
) -> PositionFact:
    return PositionFact(
        position_id=position_id or str(uuid.uuid4()),
        debtor_id=debtor_id,
        fiscal_code="RSSMRA80A01H501U",
        debtor_name=name,
        revenue_type="IMU",
        year=2021,
        act_number=f"A-{uuid.uuid4().hex[:6]}",
        amount_cents=amount_cents,
    )


def registered(tenant_id: uuid.UUID, *facts: PositionFact) -> Envelope:
    return PositionsRegistered(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, positions=facts).envelope(
        tenant_id
    )


async def seed(platform: Platform, tenant_id: uuid.UUID, *facts: PositionFact) -> None:
    async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
        await repository.register_positions(uow, tenant_id, facts)
        await uow.commit()


async def debtor(platform: Platform, tenant_id: uuid.UUID, debtor_id: str) -> sa.Row | None:  # type: ignore[type-arg]
    async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
        return await repository.get_debtor(uow, tenant_id, uuid.UUID(debtor_id))


async def scalar(platform: Platform, tenant_id: uuid.UUID, sql: str, **params: object) -> object:
    async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
        return (await uow.execute(sa.text(sql), params)).scalar_one()
