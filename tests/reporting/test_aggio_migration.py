"""Migrations 0006 (the old flat rate of every Comune becomes a flat contract) and 0018 (that
contract becomes its first version), as the owner role the migrations run as (held to row-level
security by FORCE like every role): their copies run again in a transaction that is rolled back."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from services.kernel.migrate import OWNER_ROLE, tenant_rls
from services.platform import Platform

MIGRATION = Path(__file__).parents[2] / "services/reporting/migrations/versions/0006_aggio.py"


def statements(file: str, name: str) -> tuple[str, ...]:
    """The statements `name` of the migration in `file` (a module not on the import path)."""
    spec = importlib.util.spec_from_file_location(f"migration_{file[:4]}", MIGRATION.with_name(file))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(getattr(module, name))


def copy_statements() -> tuple[str, ...]:
    return statements("0006_aggio.py", "COPY_FLAT_RATE")


async def as_tenant(conn: AsyncConnection, tenant: uuid.UUID | None) -> None:
    await conn.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant or "")})


# The aggio tables as migration 0006 made them (one contract per Comune), in a scratch schema: the
# statements of an old migration run against the shape they were written for, not today's.
OLD_TABLES = (
    "CREATE TABLE {s}.aggio_contracts (tenant_id uuid PRIMARY KEY, reference text NOT NULL,"
    " start_date date NOT NULL, vat_applies boolean NOT NULL DEFAULT false,"
    " vat_rate_bp integer NOT NULL DEFAULT 2200, ente text NOT NULL DEFAULT '',"
    " updated_by text NOT NULL DEFAULT '', updated_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE {s}.aggio_bands (tenant_id uuid, revenue_type text, from_cents bigint,"
    " to_cents bigint, rate_bp integer NOT NULL, PRIMARY KEY (tenant_id, revenue_type, from_cents))",
)


async def scratch_schema(conn: AsyncConnection, name: str) -> None:
    """`name` with the 0006 aggio tables, owned by the migrations' role, which the transaction then
    takes (held to row-level security by FORCE like every role); rolled back by the caller."""
    await conn.execute(sa.text(f"CREATE SCHEMA {name} AUTHORIZATION {OWNER_ROLE}"))
    await conn.execute(sa.text(f"SET LOCAL ROLE {OWNER_ROLE}"))
    for statement in OLD_TABLES:
        await conn.execute(sa.text(statement.format(s=name)))


def in_schema(statements: tuple[str, ...], name: str) -> list[str]:
    return [statement.replace("reporting.", f"{name}.") for statement in statements]


@pytest.mark.asyncio
async def test_every_comunes_flat_rate_becomes_a_flat_contract(platform: Platform) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    engine = create_async_engine(platform.settings.database_url)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await scratch_schema(conn, "m0006")
            # The old table as it was between 0002 and 0009 (which dropped it), rolled back below.
            await conn.execute(
                sa.text(
                    "CREATE TABLE m0006.settings (tenant_id uuid PRIMARY KEY, aggio_rate_bp integer NOT NULL,"
                    " updated_at timestamptz NOT NULL DEFAULT now(), updated_by text NOT NULL DEFAULT '')"
                )
            )
            for statement in tenant_rls("m0006", "settings"):
                await conn.execute(sa.text(statement))
            for tenant, rate in ((a, 1850), (b, 350)):
                await as_tenant(conn, tenant)
                await conn.execute(
                    sa.text(
                        "INSERT INTO m0006.settings (tenant_id, aggio_rate_bp, updated_by) VALUES (:t, :r, 'x')"
                    ),
                    {"t": tenant, "r": rate},
                )
            await as_tenant(conn, None)
            for statement in in_schema(copy_statements(), "m0006"):
                await conn.execute(sa.text(statement))
            await as_tenant(conn, a)
            forced = await conn.execute(
                sa.text("SELECT relforcerowsecurity FROM pg_class WHERE oid = 'm0006.settings'::regclass")
            )
            assert forced.scalar_one() is True  # forced again after the copy
            rows = await conn.execute(
                sa.text(
                    "SELECT c.tenant_id, b.revenue_type, b.from_cents, b.to_cents, b.rate_bp, c.vat_applies"
                    " FROM m0006.aggio_contracts c JOIN m0006.aggio_bands b USING (tenant_id)"
                    " WHERE c.tenant_id IN (:a, :b) ORDER BY b.rate_bp"
                ),
                {"a": a, "b": b},
            )
            assert [tuple(r) for r in rows] == [(b, "*", 0, None, 350, False), (a, "*", 0, None, 1850, False)]
            await transaction.rollback()
    finally:
        await engine.dispose()


def versions_statements() -> tuple[str, ...]:
    return statements("0018_aggio_versions.py", "FILL_START")


@pytest.mark.asyncio
async def test_every_comunes_contract_becomes_its_first_version(platform: Platform) -> None:
    """Migration 0018: the rates of each Comune's one contract get its start date (the first
    version's key), across Comuni although row-level security is forced; rates of no contract go."""
    a, b, orphan = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    engine = create_async_engine(platform.settings.database_url)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await scratch_schema(conn, "m0018")
            for table in ("aggio_contracts", "aggio_bands"):
                for statement in tenant_rls("m0018", table):
                    await conn.execute(sa.text(statement))
            for tenant, start in ((a, "2025-03-15"), (b, "2026-01-01"), (orphan, None)):
                await as_tenant(conn, tenant)
                if start:
                    await conn.execute(
                        sa.text(
                            "INSERT INTO m0018.aggio_contracts (tenant_id, reference, start_date)"
                            " VALUES (:t, 'R', :d)"
                        ),
                        {"t": tenant, "d": date.fromisoformat(start)},
                    )
                await conn.execute(
                    sa.text(
                        "INSERT INTO m0018.aggio_bands (tenant_id, revenue_type, from_cents, rate_bp)"
                        " VALUES (:t, '*', 0, 1000), (:t, 'IMU', 0, 500)"
                    ),
                    {"t": tenant},
                )
            await as_tenant(conn, None)  # as the migration runs: no Comune
            await conn.execute(sa.text("ALTER TABLE m0018.aggio_bands ADD COLUMN start_date date"))
            for statement in in_schema(versions_statements(), "m0018"):
                await conn.execute(sa.text(statement))
            found = {}
            for tenant in (a, b, orphan):
                await as_tenant(conn, tenant)
                rows = await conn.execute(sa.text("SELECT DISTINCT start_date FROM m0018.aggio_bands"))
                found[tenant] = [r[0] for r in rows]
            assert found == {a: [date(2025, 3, 15)], b: [date(2026, 1, 1)], orphan: []}
            forced = await conn.execute(
                sa.text(
                    "SELECT bool_and(relforcerowsecurity) FROM pg_class"
                    " WHERE oid IN ('m0018.aggio_bands'::regclass, 'm0018.aggio_contracts'::regclass)"
                )
            )
            assert forced.scalar_one() is True
            await transaction.rollback()
    finally:
        await engine.dispose()


def backfill_statements() -> tuple[str, ...]:
    return statements("0012_mail_claimed_at.py", "BACKFILL")


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
