"""The interrupting acts the Ufficio tributi records (`models_limitation`). Every statement takes
the tenant and filters by it (RLS too)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.kernel.repository_limitation import keep_act
from services.reporting.domain_limitation_acts import ActRequest
from services.reporting.models_limitation import limitation_act_records, limitation_acts

r, a = limitation_act_records.c, limitation_acts.c


async def of_debtor(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Any]:
    """The debtor's acts, the last served first, each with the positions it names."""
    positions = (
        sa.select(sa.func.array_agg(a.position_id))
        .where(a.tenant_id == tenant_id, a.act_id == r.act_id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(limitation_act_records, positions.label("position_ids"))
        .where(r.tenant_id == tenant_id, r.debtor_id == debtor_id)
        .order_by(r.served_on.desc(), r.recorded_at.desc())
    )
    return list((await uow.execute(stmt)).all())


async def record(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    act: ActRequest,
    by: tuple[str, str],
    at: datetime,
) -> uuid.UUID:
    """Keep the act and the positions it interrupts; its id."""
    act_id = uuid.uuid4()
    values = {
        "act_id": act_id,
        "tenant_id": tenant_id,
        "debtor_id": debtor_id,
        "kind": act.kind,
        "reference": act.reference,
        "served_on": act.served_on,
        "recorded_by": by[0],
        "recorded_by_name": by[1],
        "recorded_at": at,
    }
    await uow.execute(sa.insert(limitation_act_records).values(values))
    await keep_act(uow, limitation_acts, tenant_id, act_id, act.position_ids, act.served_on, False)
    return act_id


async def locked(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, act_id: uuid.UUID) -> Any:
    """The debtor's act, locked (None: no such act of this debtor in this Comune)."""
    stmt = (
        sa.select(limitation_act_records)
        .where(r.tenant_id == tenant_id, r.debtor_id == debtor_id, r.act_id == act_id)
        .with_for_update()
    )
    return (await uow.execute(stmt)).one_or_none()


async def withdraw(
    uow: UnitOfWork, tenant_id: uuid.UUID, act_id: uuid.UUID, by_name: str, at: datetime
) -> list[uuid.UUID]:
    """Take the act back: it counts for nothing from now on; the positions it named."""
    await uow.execute(
        sa.update(limitation_act_records)
        .where(r.tenant_id == tenant_id, r.act_id == act_id)
        .values(withdrawn_at=at, withdrawn_by_name=by_name)
    )
    rows = await uow.execute(
        sa.update(limitation_acts)
        .where(a.tenant_id == tenant_id, a.act_id == act_id)
        .values(withdrawn=True)
        .returning(a.position_id)
    )
    return [row.position_id for row in rows]
