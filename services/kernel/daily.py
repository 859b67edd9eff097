"""A service's daily run: for each Comune, one transaction that runs every step of the service's
list (`services/payments/daily.py`, `services/reporting/daily.py`).

A step is `async def step(uow, ctx, tenant_id, today) -> report`; it works on one Comune's data
under row-level security (`Database.run(tenant_id, …)`) and never commits. A Comune whose steps
fail is rolled back whole and logged; the others go on. The Comunes to run for are given by the
caller: a service's role sees one tenant at a time, so the composition root lists them from the
gateway's registry (`services/jobs.py`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date

from services.kernel.db import UnitOfWork
from services.kernel.web import ServiceContext

log = logging.getLogger(__name__)

Step = Callable[[UnitOfWork, ServiceContext, uuid.UUID, date], Awaitable[object]]


async def run_tenant(
    steps: Sequence[Step], ctx: ServiceContext, tenant_id: uuid.UUID, today: date
) -> dict[str, object]:
    """Every step for one Comune in one transaction; what each step reported, by its name. A Comune
    whose mandate ended (`services.mandate`) is skipped: no reminders, lapses or digests any more."""

    async def work(uow: UnitOfWork) -> dict[str, object]:
        if await uow.closure() is not None:
            return {"mandate_closed": True}
        return {step.__name__: await step(uow, ctx, tenant_id, today) for step in steps}

    return await ctx.db.run(tenant_id, work, correlation_id=f"daily-{today.isoformat()}")


async def run_daily(
    steps: Sequence[Step], ctx: ServiceContext, today: date, tenant_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, object]]:
    """The daily run for these Comunes; a Comune that failed is logged and left out of the answer."""
    done: dict[uuid.UUID, dict[str, object]] = {}
    for tenant_id in tenant_ids:
        try:
            done[tenant_id] = await run_tenant(steps, ctx, tenant_id, today)
        except Exception:
            log.exception("%s daily run failed for tenant %s on %s", ctx.name, tenant_id, today)
            continue
        log.info("%s daily run for tenant %s on %s: %s", ctx.name, tenant_id, today, done[tenant_id])
    return done
