"""Leasing under load, on the real database: concurrent next-debtor requests never lease one
debtor to two operators."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from services.contact import repository_lease
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import fact, seed, uncapped
from tests.contact.test_web import as_user, base


async def leased(platform: Platform, tenant: Identity) -> list[tuple[str, str]]:
    sql = "SELECT id::text, assigned_to FROM contact.debtors WHERE tenant_id = :t AND assigned_to IS NOT NULL"
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        return [tuple(r) for r in (await uow.execute(sa.text(sql), {"t": tenant.tenant_id})).all()]


@pytest.mark.asyncio
async def test_a_hundred_concurrent_requests_from_ten_operators_lease_ten_debtors(
    platform: Platform, tenant: Identity
) -> None:
    debtors = [str(uuid.uuid4()) for _ in range(30)]
    await seed(platform, tenant.tenant_id, *(fact(d, 10_000 + n) for n, d in enumerate(debtors)))
    operators = [as_user(tenant, f"op-{n}") for n in range(10)]

    async def next_for(op: Identity) -> tuple[str, str]:
        async with service_client(platform, "contact", op) as client:
            response = await client.post(f"{base(op)}/next")
        assert response.status_code == 303, response.text
        return op.user_id, response.headers["location"].rsplit("/", 1)[-1]

    answers = await asyncio.gather(*(next_for(op) for op in operators for _ in range(10)))
    by_operator: dict[str, set[str]] = {}
    for user, debtor_id in answers:
        by_operator.setdefault(user, set()).add(debtor_id)
    # Each operator is given the same debtor each time (the one they hold), and nobody else's.
    assert all(len(held) == 1 for held in by_operator.values()), by_operator
    given = [next(iter(held)) for held in by_operator.values()]
    assert len(set(given)) == 10
    rows = await leased(platform, tenant)
    assert sorted(rows) == sorted((d, u) for u, held in by_operator.items() for d in held)


@pytest.mark.asyncio
async def test_concurrent_leases_of_fewer_debtors_than_requests_never_double(
    platform: Platform, tenant: Identity
) -> None:
    debtors = [str(uuid.uuid4()) for _ in range(40)]
    await seed(platform, tenant.tenant_id, *(fact(d, 5_000) for d in debtors))
    db = platform.databases["contact"]

    async def take(user: str) -> uuid.UUID | None:
        async with db.unit_of_work(tenant.tenant_id) as uow:
            got = await repository_lease.take_next(uow, tenant.tenant_id, user, uncapped())
            await uow.commit()
            return got

    got = await asyncio.gather(*(take(f"user-{n}") for n in range(100)))
    taken = [str(g) for g in got if g is not None]
    assert len(taken) == 40 and Counter(taken).most_common(1)[0][1] == 1
    assert sorted(taken) == sorted(debtors)
