"""Migration 0006 turns the old flat rate of every Comune into a flat contract, as the owner role the
migrations run as (held to row-level security by FORCE like every role): run its copy again in a
transaction that is rolled back."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from services.kernel.migrate import OWNER_ROLE, tenant_rls
from services.platform import Platform

MIGRATION = Path(__file__).parents[2] / "services/reporting/migrations/versions/0006_aggio.py"


def copy_statements() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location("aggio_0006", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.COPY_FLAT_RATE)


async def as_tenant(conn: AsyncConnection, tenant: uuid.UUID | None) -> None:
    await conn.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant or "")})


@pytest.mark.asyncio
async def test_every_comunes_flat_rate_becomes_a_flat_contract(platform: Platform) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    engine = create_async_engine(platform.settings.database_url)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(sa.text(f"SET LOCAL ROLE {OWNER_ROLE}"))
            # The old table as it was between 0002 and 0009 (which dropped it), rolled back below.
            await conn.execute(
                sa.text(
                    "CREATE TABLE reporting.settings (tenant_id uuid PRIMARY KEY, aggio_rate_bp integer NOT NULL,"
                    " updated_at timestamptz NOT NULL DEFAULT now(), updated_by text NOT NULL DEFAULT '')"
                )
            )
            for statement in tenant_rls("reporting", "settings"):
                await conn.execute(sa.text(statement))
            for tenant, rate in ((a, 1850), (b, 350)):
                await as_tenant(conn, tenant)
                await conn.execute(
                    sa.text(
                        "INSERT INTO reporting.settings (tenant_id, aggio_rate_bp, updated_by) VALUES (:t, :r, 'x')"
                    ),
                    {"t": tenant, "r": rate},
                )
            await as_tenant(conn, None)
            # At the copy the new tables had no policy yet (they get it right after).
            for table in ("aggio_contracts", "aggio_bands"):
                await conn.execute(sa.text(f"ALTER TABLE reporting.{table} NO FORCE ROW LEVEL SECURITY"))
            for statement in copy_statements():
                await conn.execute(sa.text(statement))
            await as_tenant(conn, a)
            forced = await conn.execute(
                sa.text("SELECT relforcerowsecurity FROM pg_class WHERE oid = 'reporting.settings'::regclass")
            )
            assert forced.scalar_one() is True  # forced again after the copy
            rows = await conn.execute(
                sa.text(
                    "SELECT c.tenant_id, b.revenue_type, b.from_cents, b.to_cents, b.rate_bp, c.vat_applies"
                    " FROM reporting.aggio_contracts c JOIN reporting.aggio_bands b USING (tenant_id)"
                    " WHERE c.tenant_id IN (:a, :b) ORDER BY b.rate_bp"
                ),
                {"a": a, "b": b},
            )
            assert [tuple(r) for r in rows] == [(b, "*", 0, None, 350, False), (a, "*", 0, None, 1850, False)]
            await transaction.rollback()
    finally:
        await engine.dispose()


def backfill_statements() -> tuple[str, ...]:
    path = MIGRATION.with_name("0012_mail_claimed_at.py")
    spec = importlib.util.spec_from_file_location("mail_0012", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.BACKFILL)


@pytest.mark.asyncio
async def test_a_digest_made_before_migration_0012_is_claimed_from_when_it_was_made(
    platform: Platform,
) -> None:
    tenant = uuid.uuid4()
    engine = create_async_engine(platform.settings.database_url)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(sa.text(f"SET LOCAL ROLE {OWNER_ROLE}"))
            await as_tenant(conn, tenant)
            made = await conn.execute(
                sa.text(
                    "INSERT INTO reporting.digests (id, tenant_id, period_from, period_to, trigger, status,"
                    " recipients, created_at, claimed_at) VALUES (:id, :t, '2026-11-16', '2026-11-22',"
                    " 'scheduled', 'sending', '{}', '2026-11-23T07:00:00+01:00', now()) RETURNING id"
                ),
                {"id": uuid.uuid4(), "t": tenant},
            )
            digest = made.scalar_one()
            await as_tenant(conn, None)  # as the migration runs: no Comune
            for statement in backfill_statements():
                await conn.execute(sa.text(statement))
            await as_tenant(conn, tenant)
            claimed = await conn.execute(
                sa.text("SELECT claimed_at = created_at FROM reporting.digests WHERE id = :id"),
                {"id": digest},
            )
            assert claimed.scalar_one() is True
            forced = await conn.execute(
                sa.text("SELECT relforcerowsecurity FROM pg_class WHERE oid = 'reporting.digests'::regclass")
            )
            assert forced.scalar_one() is True
            await transaction.rollback()
    finally:
        await engine.dispose()
