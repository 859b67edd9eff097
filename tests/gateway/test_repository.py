"""Gateway repository against PostgreSQL: memberships and API keys are tenant-scoped."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from gateway import domain, repository
from services.platform import Platform


async def _setup(platform: Platform) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    db = platform.databases["gateway"]
    async with db.unit_of_work(None) as uow:
        a = await repository.upsert_tenant(uow, f"a-{uuid.uuid4().hex[:8]}", "Comune A")
        b = await repository.upsert_tenant(uow, f"b-{uuid.uuid4().hex[:8]}", "Comune B")
        alice = await repository.upsert_user(uow, f"alice-{uuid.uuid4().hex[:6]}", "Alice")
        bob = await repository.upsert_user(uow, f"bob-{uuid.uuid4().hex[:6]}", "Bob")
        await uow.commit()
    async with db.unit_of_work(a) as uow:
        await repository.add_membership(uow, a, alice, "comune_admin")
        await uow.commit()
    async with db.unit_of_work(b) as uow:
        await repository.add_membership(uow, b, bob, "operator")
        await uow.commit()
    return a, b, alice, bob


@pytest.mark.asyncio
async def test_memberships_are_visible_to_their_tenant_and_their_user_only(platform: Platform) -> None:
    a, b, alice, bob = await _setup(platform)
    db = platform.databases["gateway"]
    async with db.unit_of_work(b) as uow:
        rows = (await uow.execute(sa.text("SELECT tenant_id FROM gateway.memberships"))).scalars().all()
        assert a not in rows and b in rows
        assert [m.tenant_id for m in await repository.user_memberships(uow, bob)] == [b]
    async with db.unit_of_work(None) as uow:
        assert [m.tenant_id for m in await repository.user_memberships(uow, alice)] == [a]
        # Alice's session cannot see Bob's memberships even without any tenant filter.
        rows = (await uow.execute(sa.text("SELECT user_id FROM gateway.memberships"))).scalars().all()
        assert set(rows) == {alice}
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.unit_of_work(b) as uow:
            await repository.add_membership(uow, a, bob, "platform_admin")


@pytest.mark.asyncio
async def test_api_keys_of_one_tenant_are_invisible_to_another(platform: Platform) -> None:
    a, b, _, _ = await _setup(platform)
    db = platform.databases["gateway"]
    key, prefix, key_hash = domain.new_api_key()
    async with db.unit_of_work(a) as uow:
        await repository.create_api_key(uow, a, "gestionale", prefix, key_hash)
        await uow.commit()
    async with db.unit_of_work(b) as uow:
        assert (await uow.execute(sa.text("SELECT count(*) FROM gateway.api_keys"))).scalar() == 0
        await repository.revoke_api_keys(uow, a, "gestionale")  # a foreign tenant id changes nothing
        await uow.commit()
    async with db.unit_of_work(None) as uow:
        found = await repository.find_api_key(uow, domain.hash_api_key(key))
    assert found is not None and found[1] == a
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.unit_of_work(b) as uow:
            await repository.create_api_key(uow, a, "intruso", "x", domain.hash_api_key("x"))


@pytest.mark.asyncio
async def test_a_persons_memberships_are_found_by_an_index(platform: Platform) -> None:
    """Every request through the gateway reads the memberships of the session's person: by the
    index on the person (migration 0006), not a scan of every Comune's memberships (the primary
    key starts with the Comune)."""
    _, _, alice, _ = await _setup(platform)
    query = repository.MEMBERSHIPS.params(user_id=alice)
    sql = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}).string
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        await uow.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await uow.execute(sa.text(f"EXPLAIN {sql}"))).scalars())
    assert "memberships_user" in plan, plan
