"""The daily run's post-commit work (`services.kernel.daily.AfterCommit`): it runs only once the
Comune's transaction committed, its answer is the step's report, and one that fails is logged
without stopping the others."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from services.kernel import daily
from services.kernel.db import UnitOfWork
from services.kernel.web import ServiceContext
from services.platform import Platform

DAY = date(2026, 11, 30)


@pytest.mark.asyncio
async def test_after_commit_work_sees_the_committed_transaction_and_a_failure_stops_nothing(
    platform: Platform,
) -> None:
    tenant_id = uuid.uuid4()
    ctx = platform.context("reporting")
    seen: list[object] = []

    async def committed() -> object:
        async with ctx.db.unit_of_work(tenant_id) as uow:
            return (await uow.execute(sa.text("SELECT count(*) FROM reporting.office_contacts"))).scalar_one()

    async def writes(uow: UnitOfWork, c: ServiceContext, tenant: uuid.UUID, today: date) -> object:
        await uow.execute(
            sa.text("INSERT INTO reporting.office_contacts (tenant_id) VALUES (:t)"), {"t": tenant}
        )

        async def then() -> object:
            seen.append(await committed())
            raise OSError("the mail server went away")

        return daily.AfterCommit(then)

    async def reports(uow: UnitOfWork, c: ServiceContext, tenant: uuid.UUID, today: date) -> object:
        async def then() -> object:
            seen.append("reports")
            return f"after: {await committed()}"

        return daily.AfterCommit(then)

    done = await daily.run_daily([writes, reports], ctx, DAY, [tenant_id])
    assert seen == [1, "reports"]  # the step's row was committed before its post-commit work ran
    assert done[tenant_id] == {"writes": "failed after the commit: OSError", "reports": "after: 1"}

    async def broken(uow: UnitOfWork, c: ServiceContext, tenant: uuid.UUID, today: date) -> object:
        raise RuntimeError("rolled back")

    other = uuid.uuid4()
    assert await daily.run_daily([reports, broken], ctx, DAY, [other]) == {}
    assert seen == [1, "reports"]  # a rolled-back Comune's post-commit work never runs
