"""Queries of the Comune's call scripts."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contact.models import call_scripts, outcome_labels
from services.contact.repository_conduct import forget_setup, setup_of
from services.kernel.db import UnitOfWork


async def scripts_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, tuple[str, ...]]:
    """The Comune's own steps by revenue type ("*": all)."""
    return (await setup_of(uow, tenant_id)).scripts


async def save_script(
    uow: UnitOfWork, tenant_id: uuid.UUID, revenue_type: str, steps: tuple[str, ...], by: str
) -> None:
    stmt = pg_insert(call_scripts).values(
        tenant_id=tenant_id, revenue_type=revenue_type, steps=list(steps), updated_by=by
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[call_scripts.c.tenant_id, call_scripts.c.revenue_type],
        set_={"steps": list(steps), "updated_by": by, "updated_at": sa.func.now()},
    )
    await uow.execute(stmt)
    forget_setup(uow, tenant_id)


async def drop_script(uow: UnitOfWork, tenant_id: uuid.UUID, revenue_type: str) -> None:
    """The Comune's own steps for a revenue type removed (the card falls back, `script_for`)."""
    c = call_scripts
    await uow.execute(sa.delete(c).where(c.c.tenant_id == tenant_id, c.c.revenue_type == revenue_type))
    forget_setup(uow, tenant_id)


async def labels_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, str]:
    """The Comune's own names of the outcomes."""
    return (await setup_of(uow, tenant_id)).labels


async def save_labels(uow: UnitOfWork, tenant_id: uuid.UUID, labels: dict[str, str], by: str) -> None:
    """The Comune's names replace the previous ones (an outcome left out takes its default name)."""
    ol = outcome_labels
    await uow.execute(sa.delete(ol).where(ol.c.tenant_id == tenant_id))
    if labels:
        rows = [
            {"tenant_id": tenant_id, "outcome": o, "label": label, "updated_by": by}
            for o, label in labels.items()
        ]
        await uow.execute(sa.insert(ol), rows)
    forget_setup(uow, tenant_id)
