"""A service's daily run: for each Comune, one transaction that runs every step of the service's
list (`services/payments/daily.py`, `services/reporting/daily.py`).

A step is `async def step(uow, ctx, tenant_id, today) -> report`; it works on one Comune's data
under row-level security (`Database.run(tenant_id, …)`) and never commits. A Comune whose steps
fail is rolled back whole and logged; the others go on. A step whose work must not run inside the
transaction (an e-mail: it cannot be rolled back) returns `AfterCommit`: its `then` runs once the
Comune's transaction committed, and what it returns is the step's report. The Comunes to run for
are given by the caller: a service's role sees one tenant at a time, so the composition root lists
them from the gateway's registry (`services/jobs.py`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.kernel.db import UnitOfWork
from services.kernel.web import ServiceContext

log = logging.getLogger(__name__)

Step = Callable[[UnitOfWork, ServiceContext, uuid.UUID, date], Awaitable[object]]


@dataclass(frozen=True)
class AfterCommit:
    """What a step returns to finish its work after the commit; `then` returns the step's report."""

    then: Callable[[], Awaitable[object]]


async def _after_commit(ctx: ServiceContext, tenant_id: uuid.UUID, report: dict[str, object]) -> None:
    for name, value in report.items():
        if not isinstance(value, AfterCommit):
            continue
        try:
            report[name] = await value.then()
        except Exception as exc:  # committed already: the other steps' work still runs
            log.exception("%s daily step %s failed after the commit for tenant %s", ctx.name, name, tenant_id)
            report[name] = f"failed after the commit: {type(exc).__name__}"


async def run_tenant(
    steps: Sequence[Step], ctx: ServiceContext, tenant_id: uuid.UUID, today: date
) -> dict[str, object]:
    """Every step for one Comune in one transaction; what each step reported, by its name. A Comune
    whose mandate ended (`services.mandate`) is skipped: no reminders, lapses or digests any more."""

    async def work(uow: UnitOfWork) -> dict[str, object]:
        if await uow.closure() is not None:
            return {"mandate_closed": True}
        return {step.__name__: await step(uow, ctx, tenant_id, today) for step in steps}

    report = await ctx.db.run(tenant_id, work, correlation_id=f"daily-{today.isoformat()}")
    await _after_commit(ctx, tenant_id, report)
    return report


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
