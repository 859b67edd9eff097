import uuid
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.kernel.db import UnitOfWork
from services.platform import Platform
from services.reporting import repository as repo
from services.reporting import repository_relazione as reports
from services.reporting.domain import Payment
from services.reporting.models import positions, tenant_totals
from tests.reporting.helpers import fact


def request(report_id: uuid.UUID) -> dict[str, object]:
    return {
        "id": report_id,
        "kind": "final",
        "period_from": date(2025, 1, 1),
        "period_to": date(2025, 12, 31),
        "generated_by": "Anna",
    }


async def positions_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Any]:
    """The positions a transaction sees when it asks for this tenant's (RLS decides)."""
    return list(await uow.execute(sa.select(positions).where(positions.c.tenant_id == tenant_id)))


async def write_tenant_a(platform: Platform, tenant_a: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    db = platform.databases["reporting"]
    position = fact(10_000)
    report_id = uuid.uuid4()
    async with db.unit_of_work(tenant_a) as uow:
        [pid] = await repo.insert_positions(uow, tenant_a, "b1", (position,))
        await repo.insert_payment(uow, tenant_a, Payment(uuid.uuid4(), pid, 2_000, date(2025, 1, 2)))
        await repo.credit_position(uow, tenant_a, pid, 2_000)
        await repo.bump_totals(
            uow, tenant_a, assigned_cents=10_000, collected_cents=2_000, positions=1, payments=1
        )
        assert await reports.create_report(uow, tenant_a, request(report_id)) == 1
        await reports.insert_files(
            uow, tenant_a, report_id, [reports.StoredFile("pdf", f"tenants/{tenant_a}/r.pdf", "0" * 64, 10)]
        )
        await uow.commit()
    return pid, report_id


@pytest.mark.asyncio
async def test_tenant_reads_its_own_rows(platform: Platform) -> None:
    tenant_a = uuid.uuid4()
    pid, report_id = await write_tenant_a(platform, tenant_a)
    async with platform.databases["reporting"].unit_of_work(tenant_a) as uow:
        s = await repo.summary(uow, tenant_a)
        assert (s.totals.assigned_cents, s.totals.collected_cents, s.positions, s.payments) == (
            10_000,
            2_000,
            1,
            1,
        )
        [p] = await positions_of(uow, tenant_a)
        assert (p.position_id, p.amount_cents, p.collected_cents) == (pid, 10_000, 2_000)
        found = await reports.get_report(uow, tenant_a, report_id)
        assert found is not None and found.status == "queued" and found.file("pdf") is not None
        assert [r.id for r in await reports.list_reports(uow, tenant_a)] == [report_id]
        assert await reports.create_report(uow, tenant_a, request(uuid.uuid4())) == 2


@pytest.mark.asyncio
async def test_other_tenant_sees_nothing_and_cannot_touch_rows(platform: Platform) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    pid, report_id = await write_tenant_a(platform, tenant_a)
    db = platform.databases["reporting"]

    async with db.unit_of_work(tenant_b) as uow:
        s = await repo.summary(uow, tenant_b)
        assert (s.totals.assigned_cents, s.positions) == (0, 0)
        assert await positions_of(uow, tenant_b) == []
        assert await repo.totals_by_type(uow, tenant_b) == []
        assert await reports.get_report(uow, tenant_b, report_id) is None
        assert await reports.list_reports(uow, tenant_b) == []
        # even asking with A's id, RLS hides A's rows from B's transaction
        assert await positions_of(uow, tenant_a) == []
        assert await reports.get_report(uow, tenant_a, report_id) is None
        await reports.update_report(uow, tenant_a, report_id, {"status": "failed"})
        await repo.credit_position(uow, tenant_a, pid, 1_000_000)
        result = await uow.execute(
            sa.update(positions).where(positions.c.position_id == pid).values(collected_cents=0)
        )
        assert result.rowcount == 0
        result = await uow.execute(sa.update(tenant_totals).values(collected_cents=0))
        assert result.rowcount == 0
        await uow.commit()

    async with db.unit_of_work(tenant_b) as uow:
        with pytest.raises(DBAPIError):
            await repo.bump_totals(uow, tenant_a, assigned_cents=1)

    async with db.unit_of_work(tenant_a) as uow:
        [p] = await positions_of(uow, tenant_a)
        assert p.collected_cents == 2_000
        still = await reports.get_report(uow, tenant_a, report_id)
        assert still is not None and still.status == "queued"
        s = await repo.summary(uow, tenant_a)
        assert (s.totals.assigned_cents, s.totals.collected_cents) == (10_000, 2_000)


@pytest.mark.asyncio
async def test_no_tenant_set_sees_nothing(platform: Platform) -> None:
    tenant_a = uuid.uuid4()
    await write_tenant_a(platform, tenant_a)
    async with platform.databases["reporting"].unit_of_work(None) as uow:
        assert await positions_of(uow, tenant_a) == []
