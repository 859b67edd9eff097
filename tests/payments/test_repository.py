from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.kernel.identity import Identity
from services.payments import repository
from services.payments.models import payments, positions
from services.platform import Platform
from tests.payments.helpers import fact, position, seed


@pytest.mark.asyncio
async def test_register_positions_is_insert_only(platform: Platform, tenant: Identity) -> None:
    f = fact(10_000)
    db = platform.databases["payments"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        assert await repository.register_positions(uow, tenant.tenant_id, [f]) == 1
        await repository.add_to_paid(uow, tenant.tenant_id, uuid.UUID(f.position_id), 4_000)
        changed = fact(99_999, position_id=f.position_id)
        assert await repository.register_positions(uow, tenant.tenant_id, [changed]) == 0
        await uow.commit()
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None
    assert (row.amount_cents, row.paid_cents, row.debtor_name) == (10_000, 4_000, "ROSSI MARIO")


@pytest.mark.asyncio
async def test_search_by_fiscal_code_or_name_with_paging(platform: Platform, tenant: Identity) -> None:
    await seed(
        platform,
        tenant.tenant_id,
        fact(100, name="ROSSI MARIO", fiscal_code="RSSMRA80A01H501U"),
        fact(200, name="ROSSI MARIO", fiscal_code="RSSMRA80A01H501U"),
        fact(300, name="VERDI ANNA", fiscal_code="VRDNNA70B41F205X"),
        fact(400, name="100%_SRL", fiscal_code="01234567890"),
    )
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        by_cf = await repository.search_positions(uow, tenant.tenant_id, "rssmra", 10, 0)
        by_name = await repository.search_positions(uow, tenant.tenant_id, "anna", 10, 0)
        page_2 = await repository.search_positions(uow, tenant.tenant_id, "", 2, 2)
        wildcard = await repository.search_positions(uow, tenant.tenant_id, "%", 10, 0)
        name_first = await repository.search_positions(uow, tenant.tenant_id, "anna,  verdi", 10, 0)
        not_both = await repository.search_positions(uow, tenant.tenant_id, "anna rossi", 10, 0)
    assert sorted(r.amount_cents for r in by_cf) == [100, 200]
    assert [r.debtor_name for r in name_first] == ["VERDI ANNA"] and not_both == []  # every word, any order
    assert [r.debtor_name for r in by_name] == ["VERDI ANNA"]
    assert [r.debtor_name for r in page_2] == ["ROSSI MARIO", "VERDI ANNA"]
    assert [r.debtor_name for r in wildcard] == ["100%_SRL"]


@pytest.mark.asyncio
async def test_guarded_update_refuses_overpayment(platform: Platform, tenant: Identity) -> None:
    f = fact(1_000)
    await seed(platform, tenant.tenant_id, f)
    pid = uuid.UUID(f.position_id)
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        first = await repository.add_to_paid(uow, tenant.tenant_id, pid, 600)
        refused = await repository.add_to_paid(uow, tenant.tenant_id, pid, 401)
        exact = await repository.add_to_paid(uow, tenant.tenant_id, pid, 400)
        await uow.commit()
    assert first is not None and first.paid_cents == 600
    assert refused is None
    assert exact is not None and exact.paid_cents == 1_000


@pytest.mark.asyncio
async def test_concurrent_payments_never_lose_an_update(platform: Platform, tenant: Identity) -> None:
    f = fact(1_000)
    await seed(platform, tenant.tenant_id, f)
    pid = uuid.UUID(f.position_id)
    db = platform.databases["payments"]

    async def pay(amount: int) -> bool:
        async with db.unit_of_work(tenant.tenant_id) as uow:
            done = await repository.add_to_paid(uow, tenant.tenant_id, pid, amount)
            await asyncio.sleep(0.05)
            await uow.commit()
            return done is not None

    results = await asyncio.gather(*(pay(300) for _ in range(5)))
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None
    assert sum(results) == 3
    assert row.paid_cents == 900


@pytest.mark.asyncio
async def test_cross_tenant_isolation(platform: Platform, tenant: Identity, other_tenant: Identity) -> None:
    f = fact(5_000)
    await seed(platform, tenant.tenant_id, f)
    a, b = tenant.tenant_id, other_tenant.tenant_id
    pid = uuid.UUID(f.position_id)
    db = platform.databases["payments"]
    async with db.unit_of_work(b) as uow:
        assert await repository.get_position(uow, b, pid) is None
        assert await repository.get_position(uow, a, pid) is None
        assert await repository.search_positions(uow, b, "", 10, 0) == []
        assert await repository.add_to_paid(uow, b, pid, 100) is None
        assert await repository.add_to_paid(uow, a, pid, 100) is None
        hidden = await uow.execute(sa.update(positions).where(positions.c.id == pid).values(paid_cents=1))
        assert hidden.rowcount == 0
        await uow.commit()
    async with db.unit_of_work(b) as uow:
        with pytest.raises(DBAPIError):
            await repository.insert_payment(uow, b, pid, uuid.UUID(f.debtor_id), 100, date(2024, 1, 1), "x")
    async with db.unit_of_work(b) as uow:
        with pytest.raises(DBAPIError, match="row-level security"):
            await uow.execute(
                sa.insert(payments).values(
                    id=uuid.uuid4(),
                    tenant_id=a,
                    position_id=pid,
                    debtor_id=uuid.UUID(f.debtor_id),
                    amount_cents=100,
                    paid_on=date(2024, 1, 1),
                    recorded_by="x",
                )
            )
    row = await position(platform, a, f.position_id)
    assert row is not None
    assert row.paid_cents == 0
