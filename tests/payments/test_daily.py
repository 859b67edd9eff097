"""The daily run: every Comune of the gateway's registry, one transaction each, a failing Comune
rolled back alone; the 06:00 Europe/Rome schedule; an extension makes the replaced notices unpayable."""

from __future__ import annotations

import asyncio
import sys
import uuid
from asyncio.subprocess import PIPE
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services import jobs
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.settings import Settings
from services.kernel.web import ServiceContext
from services.payments import daily, handlers_lapse
from services.platform import Platform
from tests.gateway.helpers import make_tenant
from tests.payments.test_plan_life import count, make_plan, pay, plan_row, run
from tests.support import make_identity, process_env


def comune(tenant_id: uuid.UUID) -> Identity:
    return make_identity(tenant_id, f"c-{tenant_id.hex[:6]}", roles=("operator",))


@pytest.mark.asyncio
async def test_the_run_covers_every_comune_of_the_registry(platform: Platform) -> None:
    first = comune((await make_tenant(platform)).id)
    second = comune((await make_tenant(platform)).id)
    a, _, _ = await make_plan(platform, first, None, ("CDS", 2025, "V"), cents=60_000, installments=3)
    b, _, _ = await make_plan(platform, second, None, ("CDS", 2025, "V"), cents=60_000, installments=3)
    assert {first.tenant_id, second.tenant_id} <= set(await jobs.tenant_ids(platform))
    done = await jobs.payments_daily(platform, date(2026, 3, 3))
    assert done[first.tenant_id]["sollecito_and_lapse"].lapsed == 1  # type: ignore[attr-defined]
    assert await plan_row(platform, first, a, "status") == "lapsed"
    assert await plan_row(platform, second, b, "status") == "lapsed"


@pytest.mark.asyncio
async def test_a_failing_comune_is_rolled_back_alone(
    platform: Platform, tenant: Identity, other_tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _, _ = await make_plan(platform, tenant, None, ("CDS", 2025, "V"), cents=60_000, installments=3)
    b, _, _ = await make_plan(platform, other_tenant, None, ("CDS", 2025, "V"), cents=60_000, installments=3)

    async def breaks_for_the_first(
        uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, today: date
    ) -> int:
        if tenant_id == tenant.tenant_id:
            raise RuntimeError("broken step")
        return 0

    monkeypatch.setattr(daily, "STEPS", [*daily.STEPS, breaks_for_the_first])
    ctx = platform.context("payments")
    done = await daily.run_daily(ctx, date(2026, 3, 3), [tenant.tenant_id, other_tenant.tenant_id])
    assert set(done) == {other_tenant.tenant_id}
    assert done[other_tenant.tenant_id]["breaks_for_the_first"] == 0
    assert await plan_row(platform, tenant, a, "status") == "active"
    assert await plan_row(platform, other_tenant, b, "status") == "lapsed"


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        (datetime(2026, 1, 10, 5, 0, tzinfo=UTC), 86_400),  # 06:00 in Rome (UTC+1): the next day's
        (datetime(2026, 1, 10, 4, 0, tzinfo=UTC), 3_600),
        (datetime(2026, 1, 10, 5, 0, 1, tzinfo=UTC), 86_399),
        # The night clocks go forward (29/03/2026): 23 hours from 06:00 to 06:00.
        (datetime(2026, 3, 28, 5, 0, 1, tzinfo=UTC), 23 * 3_600 - 1),
    ],
)
def test_the_run_is_due_at_six_in_rome(now: datetime, seconds: int) -> None:
    assert jobs.seconds_until(now) == seconds


@pytest.mark.asyncio
async def test_an_extension_makes_the_replaced_installments_notices_unpayable(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, _, debtor = await make_plan(platform, tenant, None)
    await pay(platform, tenant, plan_id, 1)
    await pay(platform, tenant, plan_id, 2, 5_000)  # partly paid: closed at what was paid
    sql = sa.text(
        "INSERT INTO payments.payment_options (id, tenant_id, plan_id, installment, debtor_id, nav, iuv,"
        " amount_cents, due_date, issued_by) VALUES (:id, :t, :p, :n, :d, :nav, :iuv, 100, '2026-02-28', 'x')"
    )

    async def options(uow: UnitOfWork) -> Any:
        for n in (None, 1, 2, 3):
            nav = f"3{uuid.uuid4().int % 10**17:017d}"
            values = {"id": uuid.uuid4(), "t": tenant.tenant_id, "p": plan_id, "n": n, "d": uuid.UUID(debtor)}
            await uow.execute(sql, values | {"nav": nav, "iuv": nav[1:]})

    await run(platform, tenant, options)
    await run(
        platform,
        tenant,
        lambda uow: handlers_lapse.extend_plan(uow, tenant, plan_id, 8, "Malattia", date(2026, 1, 20)),
    )
    payable = "plan_id = :p AND status = 'payable'"
    assert await count(platform, tenant, "payment_options", payable, p=plan_id) == 1
    replaced = "plan_id = :p AND status = 'replaced'"
    assert await count(platform, tenant, "payment_options", replaced, p=plan_id) == 3


@pytest.mark.asyncio
async def test_the_cron_command_runs_the_day_asked_for(platform: Platform, settings: Settings) -> None:
    who = comune((await make_tenant(platform)).id)
    plan_id, _, _ = await make_plan(platform, who, None, ("CDS", 2025, "V"), cents=60_000, installments=3)
    command = [sys.executable, "-m", "services.cli", "payments-daily"]
    env = process_env(settings)
    root = Path(__file__).resolve().parents[2]
    bad = await asyncio.create_subprocess_exec(
        *command, "--date", "01/03/2026", cwd=root, env=env, stderr=PIPE, stdout=PIPE
    )
    _, err = await asyncio.wait_for(bad.communicate(), 60)
    assert bad.returncode != 0 and b"YYYY-MM-DD" in err
    assert await plan_row(platform, who, plan_id, "status") == "active"
    run = await asyncio.create_subprocess_exec(
        *command, "--date", "2026-03-03", cwd=root, env=env, stderr=PIPE, stdout=PIPE
    )
    out, err = await asyncio.wait_for(run.communicate(), 120)
    assert run.returncode == 0, err.decode()[-2000:]
    assert str(who.tenant_id) in out.decode() and "lapsed=1" in out.decode()
    assert await plan_row(platform, who, plan_id, "status || ' ' || lapsed_on") == "lapsed 2026-03-03"
