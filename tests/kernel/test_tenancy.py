"""Tenant isolation in depth: row-level security stops a query that forgets the tenant filter."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine

from services.contracts import BatchReceived
from services.kernel.migrate import app_role, relay_role
from services.platform import ALL_SCHEMAS, Platform


@pytest.mark.asyncio
async def test_application_roles_are_not_superusers_and_cannot_bypass_rls(platform: Platform) -> None:
    for service, db in platform.databases.items():
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
                    )
                )
            ).one()
        assert row == (app_role(service), False, False)
    roles = [relay_role(s) for s in ALL_SCHEMAS]
    async with platform.databases["gateway"].engine.connect() as conn:
        flags = (
            await conn.execute(
                sa.text("SELECT bool_or(rolsuper OR rolbypassrls) FROM pg_roles WHERE rolname = ANY(:r)"),
                {"r": roles},
            )
        ).scalar()
    assert flags is False


@pytest.mark.asyncio
async def test_every_tenant_table_has_enabled_and_forced_rls(platform: Platform) -> None:
    async with platform.databases["gateway"].engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    """SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
                      (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
               WHERE c.relkind = 'r' AND n.nspname = ANY(:schemas)"""
                ),
                {"schemas": list(ALL_SCHEMAS)},
            )
        ).all()
    assert len(rows) >= 2 * len(ALL_SCHEMAS)  # at least outbox and inbox everywhere
    unprotected = [
        f"{r.nspname}.{r.relname}"
        for r in rows
        if not (r.relrowsecurity and r.relforcerowsecurity and r.policies)
    ]
    assert unprotected == []


@pytest.mark.asyncio
async def test_a_query_without_tenant_filter_sees_only_its_tenant(platform: Platform) -> None:
    db = platform.databases["payments"]
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    async with db.unit_of_work(tenant_a) as uow:
        await uow.publish([BatchReceived(batch_id="a").envelope(tenant_a)])
        await uow.commit()
    async with db.unit_of_work(tenant_b) as uow:
        rows = (await uow.execute(sa.text("SELECT tenant_id FROM payments.outbox"))).scalars().all()
        assert tenant_a not in rows
        updated = await uow.execute(
            sa.text("UPDATE payments.outbox SET routing_key = 'x' WHERE tenant_id = :a"), {"a": tenant_a}
        )
        assert updated.rowcount == 0
        deleted = await uow.execute(sa.text("DELETE FROM payments.outbox"))
        assert deleted.rowcount == 0
    async with db.unit_of_work(None) as uow:
        assert (await uow.execute(sa.text("SELECT count(*) FROM payments.outbox"))).scalar() == 0
    async with db.unit_of_work(tenant_a) as uow:
        assert (await uow.execute(sa.text("SELECT count(*) FROM payments.outbox"))).scalar() == 1


@pytest.mark.asyncio
async def test_writing_into_another_tenant_is_refused(platform: Platform) -> None:
    db = platform.databases["contact"]
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.unit_of_work(tenant_b) as uow:
            await uow.publish([BatchReceived(batch_id="sneaky").envelope(tenant_a)])


@pytest.mark.asyncio
async def test_pooled_connections_do_not_carry_the_tenant_over(platform: Platform) -> None:
    db = platform.databases["reporting"]
    tenant = uuid.uuid4()
    async with db.unit_of_work(tenant) as uow:
        await uow.publish([BatchReceived(batch_id="p").envelope(tenant)])
        await uow.commit()
    for _ in range(8):  # more than the pool size: every pooled connection is reused
        async with db.engine.connect() as conn:
            setting = (await conn.execute(sa.text("SELECT current_setting('app.tenant_id', true)"))).scalar()
            assert not setting
            assert (await conn.execute(sa.text("SELECT count(*) FROM reporting.outbox"))).scalar() == 0


@pytest.mark.asyncio
async def test_a_service_cannot_read_another_services_schema(platform: Platform) -> None:
    db = platform.databases["contact"]
    for other in ("ingest", "payments", "reporting", "gateway"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with db.unit_of_work(uuid.uuid4()) as uow:
                await uow.execute(sa.text(f"SELECT count(*) FROM {other}.outbox"))


@pytest.mark.asyncio
async def test_the_relay_role_reaches_only_its_outbox(platform: Platform) -> None:
    relay = platform.relay("ingest")
    try:
        async with relay.engine.connect() as conn:
            await conn.execute(sa.text("SELECT count(*) FROM ingest.outbox"))
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with relay.engine.connect() as conn:
                await conn.execute(sa.text("SELECT count(*) FROM ingest.inbox"))
    finally:
        await relay.engine.dispose()


@pytest.mark.asyncio
async def test_a_unit_of_work_aside_does_not_wait_for_an_exhausted_pool(platform: Platform) -> None:
    """A batch holding a lock writes its progress aside: other batches may hold every pooled
    connection while they wait for that lock."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.kernel.db import Database

    shared = platform.databases["ingest"]
    db = Database(shared.engine.url.render_as_string(hide_password=False), shared.metadata)
    await db.engine.dispose()
    db.engine = create_async_engine(db.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    tenant = uuid.uuid4()
    try:
        async with db.unit_of_work(tenant):  # the only pooled connection
            with pytest.raises(sa.exc.TimeoutError):
                async with db.unit_of_work(tenant):
                    pass
            async with db.unit_of_work(tenant, aside=True) as aside:
                setting = await aside.execute(sa.text("SELECT current_setting('app.tenant_id')"))
                assert setting.scalar_one() == str(tenant)
    finally:
        await db.dispose()


@pytest.mark.asyncio
async def test_a_connection_the_server_dropped_is_replaced_before_the_first_statement(
    platform: Platform,
) -> None:
    """The pools lend connections without a ping: one the server closed (a restart) is replaced on
    its first statement, which then runs; a failure later in a transaction is not hidden."""
    db = platform.databases["contact"]
    tenant = uuid.uuid4()
    async with db.unit_of_work(tenant) as uow:  # a pooled connection, then back in the pool
        pid = (await uow.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
    admin = create_async_engine(platform.settings.database_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    async with db.unit_of_work(tenant) as uow:
        again = (await uow.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != pid
        async with admin.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": again})
        with pytest.raises(sa.exc.DBAPIError):
            await uow.execute(sa.text("SELECT 1"))
    await admin.dispose()
