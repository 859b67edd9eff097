"""`riscossa replay reporting`, run as the command it is: a Comune's reporting projections, damaged,
come back equal to what the live consumers built, and another Comune is untouched."""

from __future__ import annotations

import asyncio
import sys
import uuid

import pytest
import sqlalchemy as sa

from gateway.repository import create_tenant
from services.platform import Platform
from services.reporting.models import tenant_totals
from tests.e2e.test_dlq import riscossa
from tests.reporting.helpers import deliver
from tests.reporting.test_ledger import history, snapshot
from tests.support import ROOT, process_env


@pytest.mark.asyncio
async def test_replay_command_restores_a_damaged_comune(platform: Platform) -> None:
    slug = f"replay-{uuid.uuid4().hex[:8]}"
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        tid = await create_tenant(uow, slug, "Comune di Replay")
        await uow.commit()
    assert tid is not None
    events, _ = history()
    await deliver(platform, tid, *events)
    live = await snapshot(platform, tid)
    async with platform.databases["reporting"].unit_of_work(tid) as uow:
        await uow.execute(
            sa.update(tenant_totals).where(tenant_totals.c.tenant_id == tid).values(positions=0)
        )
        await uow.commit()
    assert await snapshot(platform, tid) != live

    out = await riscossa(platform, "replay", "reporting", "--tenant", slug)
    assert f"{tid}: {len(events)} events replayed" in out
    assert await snapshot(platform, tid) == live

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "replay",
        "reporting",
        "--tenant",
        "nessuno",
        env=process_env(platform.settings),
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 1 and "unknown Comune nessuno" in err.decode()
