"""Scheduled jobs run by the worker and by `riscossa <service>-daily` (composition root).

The payments service's daily run works one Comune at a time under row-level security: its
database role sees one tenant per transaction, so it cannot list the Comunes itself. The list comes
from the gateway's registry of tenants (a table without RLS that the gateway's role reads, as the
platform administration does), here where the composition root holds every database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.repository import list_tenants
from services.contact.handlers import run_daily as contact_run_daily
from services.kernel.db import UnitOfWork
from services.payments.daily import run_daily
from services.platform import Platform
from services.reporting.daily import run_daily as reporting_run_daily

log = logging.getLogger(__name__)
ROME = ZoneInfo("Europe/Rome")
DAILY_AT = time(6, 0)


async def tenant_ids(platform: Platform) -> list[uuid.UUID]:
    """Every Comune of the platform, from the gateway's registry."""
    return await platform.databases["gateway"].run(None, _ids)


async def _ids(uow: UnitOfWork) -> list[uuid.UUID]:
    return [t.id for t in await list_tenants(uow)]


async def payments_daily(platform: Platform, today: date) -> dict[uuid.UUID, dict[str, object]]:
    """The payments daily run for every Comune on `today` (a Europe/Rome day)."""
    return await run_daily(platform.context("payments"), today, await tenant_ids(platform))


async def contact_daily(platform: Platform, today: date) -> dict[uuid.UUID, dict[str, object]]:
    """The contact daily run for every Comune on `today`: promises whose day has passed unpaid are
    broken (`PromiseBroken`) and the queue's scores move to the new day, one transaction per Comune."""
    db = platform.databases["contact"]
    done: dict[uuid.UUID, dict[str, object]] = {}
    for tenant_id in await tenant_ids(platform):
        try:
            broken = await db.run(tenant_id, functools.partial(_break, tenant_id=tenant_id, today=today))
        except Exception:
            log.exception("contact daily run failed for %s on %s", tenant_id, today)
            done[tenant_id] = {"failed": True}
            continue
        done[tenant_id] = {"promises_broken": broken}
    return done


async def _break(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> int:
    if await uow.closure() is not None:  # the mandate ended: no promise is judged any more
        return 0
    return await contact_run_daily(uow, tenant_id, today)


async def reporting_daily(platform: Platform, today: date) -> dict[uuid.UUID, dict[str, object]]:
    """The reporting daily run for every Comune on `today`: the digests due to the Ufficio tributi
    (and the other steps of `services.reporting.daily.STEPS`), one transaction per Comune."""
    return await reporting_run_daily(platform.context("reporting"), today, await tenant_ids(platform))


DAILY_RUNS: dict[str, Callable[[Platform, date], Awaitable[dict[uuid.UUID, dict[str, object]]]]] = {
    "payments": payments_daily,
    "contact": contact_daily,
    "reporting": reporting_daily,
}


def seconds_until(now: datetime, at: time = DAILY_AT) -> float:
    """Seconds from `now` to the next `at` o'clock in Europe/Rome."""
    local = now.astimezone(ROME)
    target = datetime.combine(local.date(), at, ROME)
    if target <= local:
        target = datetime.combine(local.date() + timedelta(days=1), at, ROME)
    # Aware datetimes of one zone subtract as wall clock: compare instants, so DST days count right.
    return max(0.0, target.timestamp() - local.timestamp())


async def daily_loop(
    platform: Platform, stop: asyncio.Event, services: Sequence[str] = tuple(DAILY_RUNS)
) -> None:
    """Runs the daily runs of `services` every day at 06:00 Europe/Rome until `stop` is set."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds_until(datetime.now(ROME)))
        if stop.is_set():
            return
        today = datetime.now(ROME).date()
        for service in services:
            try:
                await DAILY_RUNS[service](platform, today)
            except Exception:
                log.exception("%s daily run failed on %s", service, today)
