"""The portal's tables (`models_portal`), kept by triggers on positions, debtors and plans: equal to
the stages computed here from the rows, after every kind of event, the office's decisions and
writes made around the projections; rebuilt by a replay; filled for existing Comuni by migration
0014."""

from __future__ import annotations

import importlib.util
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.contracts import Event, PaymentsReceived, PlanCreated, PlanLapsed, PositionFact, PromiseMade
from services.kernel.migrate import OWNER_ROLE
from services.platform import Platform
from services.replay import replay_reporting
from services.reporting import domain_portal as dp
from services.reporting.models import positions
from services.reporting.models_ledger import debtors, plans
from services.reporting.models_portal import portal_debtors, portal_figures
from tests.reporting.helpers import deliver, fact, paid, registered
from tests.reporting.test_ledger import (
    START,
    decide,
    flow_payment,
    history,
    outcome,
    refunded,
    revoked,
)

MIGRATION = Path(__file__).parents[2] / "services/reporting/migrations/versions/0014_portal_speed.py"
CONDITIONS = {
    "assigned": lambda p, plan: True,
    "in_plan": lambda p, plan: p.plan_id is not None and (plan is None or plan.lapsed_on is None),
    "collected": lambda p, plan: p.collected_cents > 0,
    "residual": lambda p, plan: p.amount_cents > p.collected_cents,
}
COUNTERS = {"worked": "attempts", "reached": "conversations", "promised": "promises"}


async def table_rows(platform: Platform, tenant: uuid.UUID, table: sa.Table) -> list[Any]:
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        return list(await uow.execute(sa.select(table).where(table.c.tenant_id == tenant)))


async def kept(platform: Platform, tenant: uuid.UUID) -> tuple[dict[Any, dict[str, Any]], ...]:
    """The portal's tables: debtors' rows by (debtor, type, year), figures by (type, year)."""
    cells = {
        (r.debtor_id, r.revenue_type, r.year): _without_keys(r)
        for r in await table_rows(platform, tenant, portal_debtors)
    }
    figures = {
        (r.revenue_type, r.year): _without_keys(r) for r in await table_rows(platform, tenant, portal_figures)
    }
    return cells, figures


def _without_keys(row: Any) -> dict[str, Any]:
    keys = {"tenant_id", "debtor_id", "revenue_type", "year"}
    return {k: v for k, v in row._mapping.items() if k not in keys}


def expected_cells(
    rows: list[Any], people: dict[Any, Any], plan_of: dict[Any, Any]
) -> dict[Any, dict[str, Any]]:
    """Per debtor and group of their positions not cancelled, what they have at each stage."""
    groups: dict[Any, list[Any]] = defaultdict(list)
    for p in rows:
        if p.state == "cancelled":
            continue
        for key in ((dp.ALL_TYPES, dp.ALL_YEARS), (p.revenue_type, dp.ALL_YEARS), (dp.ALL_TYPES, p.year)):
            groups[(p.debtor_id, *key)].append(p)
        groups[(p.debtor_id, p.revenue_type, p.year)].append(p)
    cells = {}
    for (debtor_id, revenue_type, year), mine in groups.items():
        person = people.get(debtor_id)
        cell: dict[str, Any] = {
            "fiscal_code": min(p.fiscal_code for p in mine),
            "debtor_name": min(p.debtor_name for p in mine),
            **{stage: bool(person and getattr(person, counter) > 0) for stage, counter in COUNTERS.items()},
            "promises_cents": person.promised_cents if person and person.promises > 0 else 0,
        }
        for stage, condition in CONDITIONS.items():
            there = [p for p in mine if condition(p, plan_of.get(p.plan_id))]
            cell[f"{stage}_positions"] = len(there)
            cell[f"{stage}_amount_cents"] = sum(p.amount_cents for p in there)
            cell[f"{stage}_collected_cents"] = sum(p.collected_cents for p in there)
        cells[(debtor_id, revenue_type, year)] = cell
    return cells


def expected_figures(cells: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Per group: the debtors, positions and euro figure of each stage, and the promises."""
    figures: dict[Any, dict[str, Any]] = {}
    for (_, revenue_type, year), cell in cells.items():
        group = figures.setdefault((revenue_type, year), defaultdict(int))
        group["promises_cents"] += cell["promises_cents"]
        for stage in dp.STAGES:
            source = "assigned" if stage in COUNTERS else stage
            count = cell[f"{source}_positions"] if stage not in COUNTERS or cell[stage] else 0
            amount = cell[f"{source}_amount_cents"] if count else 0
            cents = {
                "collected": cell["collected_collected_cents"],
                "residual": amount - cell["residual_collected_cents"],
            }
            group[f"{stage}_debtors"] += int(count > 0)
            group[f"{stage}_positions"] += count
            group[f"{stage}_cents"] += cents.get(stage, amount) if count else 0
    return {key: dict(values) for key, values in figures.items()}


async def computed(platform: Platform, tenant: uuid.UUID) -> tuple[dict[Any, dict[str, Any]], ...]:
    rows = await table_rows(platform, tenant, positions)
    people = {d.debtor_id: d for d in await table_rows(platform, tenant, debtors)}
    plan_of = {p.plan_id: p for p in await table_rows(platform, tenant, plans)}
    cells = expected_cells(rows, people, plan_of)
    return cells, expected_figures(cells)


def campaign() -> tuple[list[Event], list[PositionFact]]:
    """The ledger's history, and debtors with several positions over types and years: part paid
    (one payment before its position), a plan over two positions that later lapses, another plan
    running, calls and a promise."""
    events, _ = history()
    debtor, other = str(uuid.uuid4()), str(uuid.uuid4())
    x1 = fact(40_000, "IMU", 2021, debtor_id=debtor, debtor_name="VERDI ANNA")
    x2 = fact(25_000, "IMU", 2022, debtor_id=debtor, debtor_name="VERDI ANNA MARIA")
    x3 = fact(15_000, "TARI", 2021, debtor_id=debtor, debtor_name="VERDI ANNA")
    y1 = fact(8_000, "CDS", 2019, debtor_id=other, debtor_name="NERI PIO")
    y2 = fact(6_000, "CDS", 2024, debtor_id=other, debtor_name="NERI PIO")
    early, lapsing, running = flow_payment(x3, 5_000), str(uuid.uuid4()), str(uuid.uuid4())
    return [
        *events,
        PaymentsReceived(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, payments=(early,)),
        registered(x1, x2, x3, y1, y2),
        paid(x1, 40_000),
        refunded(early, 1_000),
        PlanCreated(
            lapsing, debtor, (x2.position_id, x3.position_id), "IMU", 35_000, 6, "2026-04-01", "Olga"
        ),
        PlanCreated(running, other, (y2.position_id,), "CDS", 6_000, 3, "2026-04-01", "Olga"),
        outcome(debtor, "non_risponde", 30),
        outcome(other, "promessa_pagamento", 31),
        PromiseMade(
            str(uuid.uuid4()), other, str(uuid.uuid4()), 8_000, "2026-04-10", "Olga", START.isoformat()
        ),
        PlanLapsed(lapsing, debtor, (x2.position_id, x3.position_id), "IMU", 30_000, "2026-09-01"),
        revoked(early),
    ], [x1, x2, x3, y1, y2]


async def live_campaign(platform: Platform, tenant: uuid.UUID) -> None:
    events, (_, x2, _, y1, _) = campaign()
    await deliver(platform, tenant, *events)
    await decide(platform, tenant, "cancelled", y1, "")  # NERI's CDS of 2019 (sgravio)
    await decide(platform, tenant, "corrected", x2, "200,00")  # VERDI's IMU of 2022


@pytest.mark.asyncio
async def test_the_kept_tables_equal_the_stages_computed_from_the_rows(platform: Platform) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    await live_campaign(platform, tenant)
    await deliver(platform, other, registered(fact(777)))
    cells, figures = await kept(platform, tenant)
    assert (cells, figures) == await computed(platform, tenant)
    verdi = {key[1:]: c for key, c in cells.items() if "VERDI" in c["debtor_name"]}
    assert set(verdi) == {
        ("", 0),
        ("IMU", 0),
        ("TARI", 0),
        ("", 2021),
        ("", 2022),
        ("IMU", 2021),
        ("IMU", 2022),
        ("TARI", 2021),
    }
    assert verdi[("", 0)]["debtor_name"] == "VERDI ANNA" and verdi[("", 0)]["worked"]
    assert verdi[("", 0)]["in_plan_positions"] == 0  # the plan lapsed
    assert verdi[("IMU", 2022)]["assigned_amount_cents"] == 20_000  # corrected by the office
    total = figures[("", 0)]
    assert total["assigned_debtors"] == 5 and total["assigned_positions"] == 7  # NERI's sgravio left
    assert total["promised_debtors"] == 2 and total["promises_cents"] == 50_000 + 8_000
    assert (total["in_plan_debtors"], total["in_plan_positions"]) == (1, 1)
    assert ("", 2019) not in figures and ("CDS", 2019) not in figures  # its only position was cancelled
    other_cells, other_figures = await kept(platform, other)
    assert len(other_cells) == 4 and other_figures[("", 0)]["assigned_cents"] == 777


@pytest.mark.asyncio
async def test_writes_around_the_projections_keep_the_tables_too(platform: Platform) -> None:
    tenant = uuid.uuid4()
    await live_campaign(platform, tenant)
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        p, d = positions.c, debtors.c
        await uow.execute(sa.update(positions).where(p.tenant_id == tenant, p.year == 2021).values(year=2020))
        await uow.execute(
            sa.update(positions)
            .where(p.tenant_id == tenant, p.revenue_type == "TARI")
            .values(state="cancelled")
        )
        await uow.execute(sa.update(debtors).where(d.tenant_id == tenant).values(conversations=0, promises=0))
        await uow.execute(sa.update(plans).where(plans.c.tenant_id == tenant).values(lapsed_on=None))
        await uow.commit()
    assert await kept(platform, tenant) == await computed(platform, tenant)
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        await uow.execute(sa.delete(positions).where(positions.c.tenant_id == tenant))
        await uow.commit()
    assert await kept(platform, tenant) == ({}, {})


@pytest.mark.asyncio
async def test_a_replay_rebuilds_the_tables_as_live_even_after_a_drift(platform: Platform) -> None:
    tenant = uuid.uuid4()
    await live_campaign(platform, tenant)
    live = await kept(platform, tenant)
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:  # a hand-made "fix"
        f = portal_figures.c
        await uow.execute(sa.update(portal_figures).where(f.tenant_id == tenant).values(assigned_debtors=999))
        cells = portal_debtors.c
        await uow.execute(sa.delete(portal_debtors).where(cells.tenant_id == tenant, cells.year == 2022))
        await uow.commit()
    assert await kept(platform, tenant) != live
    await replay_reporting(platform, [tenant])
    assert await kept(platform, tenant) == live == await computed(platform, tenant)


def fill_statements() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location("portal_0014", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.FILL)


@pytest.mark.asyncio
async def test_the_migration_fills_every_comunes_tables(platform: Platform) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await live_campaign(platform, a)
    await deliver(platform, b, registered(fact(777), fact(1_000, "TARI", 2020)))
    expected = {tenant: await kept(platform, tenant) for tenant in (a, b)}
    engine = create_async_engine(platform.settings.database_url)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(sa.text(f"SET LOCAL ROLE {OWNER_ROLE}"))
            # At the fill the new tables had no policy yet (they get it right after); empty them.
            for table in ("portal_debtors", "portal_figures"):
                await conn.execute(sa.text(f"ALTER TABLE reporting.{table} NO FORCE ROW LEVEL SECURITY"))
                await conn.execute(sa.text(f"DELETE FROM reporting.{table}"))
            for statement in fill_statements():
                await conn.execute(sa.text(statement))
            for tenant in (a, b):
                cells = await conn.execute(
                    sa.select(portal_debtors).where(portal_debtors.c.tenant_id == tenant)
                )
                figures = await conn.execute(
                    sa.select(portal_figures).where(portal_figures.c.tenant_id == tenant)
                )
                found = (
                    {(r.debtor_id, r.revenue_type, r.year): _without_keys(r) for r in cells},
                    {(r.revenue_type, r.year): _without_keys(r) for r in figures},
                )
                assert found == expected[tenant]
            forced = await conn.execute(
                sa.text(
                    "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'reporting.positions'::regclass"
                )
            )
            assert forced.scalar_one() is True  # forced again after the fill
            await transaction.rollback()
    finally:
        await engine.dispose()
