"""The reporting service's daily run: for each Comune, one transaction that runs every step of `STEPS`.

A step is `async def step(uow, ctx, tenant_id, today) -> report`; it works on one Comune's data
under row-level security (`Database.run(tenant_id, …)`) and never commits. A Comune whose steps
fail is rolled back whole and logged; the others go on. The Comunes to run for are given by the
caller (`services/jobs.py` lists them from the gateway's registry: the reporting role sees one
tenant at a time). Same shape as `services/payments/daily.py`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import date

from services.kernel.db import UnitOfWork
from services.kernel.web import ServiceContext
from services.reporting import handlers_aggio, handlers_digests

log = logging.getLogger(__name__)

Step = Callable[[UnitOfWork, ServiceContext, uuid.UUID, date], Awaitable[object]]

# The digests to the Ufficio tributi and the monthly rendiconti add their steps here.
STEPS: list[Step] = [handlers_aggio.monthly_rendiconto, handlers_digests.send_due_digest]


async def run_tenant(ctx: ServiceContext, tenant_id: uuid.UUID, today: date) -> dict[str, object]:
    """Every step for one Comune in one transaction; what each step reported, by its name."""

    async def work(uow: UnitOfWork) -> dict[str, object]:
        return {step.__name__: await step(uow, ctx, tenant_id, today) for step in STEPS}

    return await ctx.db.run(tenant_id, work, correlation_id=f"daily-{today.isoformat()}")


async def run_daily(
    ctx: ServiceContext, today: date, tenant_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, object]]:
    """The daily run for these Comunes; a Comune that failed is logged and left out of the answer."""
    done: dict[uuid.UUID, dict[str, object]] = {}
    for tenant_id in tenant_ids:
        try:
            done[tenant_id] = await run_tenant(ctx, tenant_id, today)
        except Exception:
            log.exception("reporting daily run failed for tenant %s on %s", tenant_id, today)
            continue
        log.info("reporting daily run for tenant %s on %s: %s", tenant_id, today, done[tenant_id])
    return done
