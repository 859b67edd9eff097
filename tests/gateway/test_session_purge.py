"""Ended sessions and abandoned logins are deleted: by the gateway process every few minutes, and by
`riscossa gateway-purge` (cron); live sessions and logins in progress stay."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys

import pytest
import sqlalchemy as sa

from gateway.domain import SessionPolicy, digest
from gateway.sessions import SessionStore
from services.platform import Platform
from tests.gateway.helpers import make_person
from tests.support import ROOT, process_env

POLICY = SessionPolicy()  # 30 minutes idle, 12 hours at most


async def _sessions(platform: Platform, store: SessionStore) -> dict[str, str]:
    """Four sessions of one person: live, idle too long, too old, logged out (name -> id hash)."""
    person = await make_person(platform)
    made = {name: digest((await store.create(person.id)).cookie) for name in ("live", "idle", "old", "out")}
    ages = {
        "idle": "UPDATE gateway.sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = :h",
        "old": "UPDATE gateway.sessions SET created_at = now() - interval '13 hours' WHERE id_hash = :h",
        "out": "UPDATE gateway.sessions SET revoked_at = now() WHERE id_hash = :h",
    }
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        for name, statement in ages.items():
            await uow.execute(sa.text(statement), {"h": made[name]})
        await uow.commit()
    return made


async def _logins(platform: Platform) -> dict[str, str]:
    """Two logins started with a provider: one a minute ago, one abandoned 11 minutes ago."""
    made = {"fresh": secrets.token_hex(16), "abandoned": secrets.token_hex(16)}
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        for name, minutes in (("fresh", 1), ("abandoned", 11)):
            await uow.execute(
                sa.text(
                    "INSERT INTO gateway.pending_logins (state_hash, browser_hash, provider, nonce, code_verifier,"
                    " created_at) VALUES (:h, 'b', 'staff', 'n', 'v', now() - make_interval(mins => :m))"
                ),
                {"h": made[name], "m": minutes},
            )
        await uow.commit()
    return made


async def _left(platform: Platform, sessions: dict[str, str], logins: dict[str, str]) -> set[str]:
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        found = await uow.execute(
            sa.text(
                "SELECT id_hash FROM gateway.sessions WHERE id_hash = ANY(:h)"
                " UNION ALL SELECT state_hash FROM gateway.pending_logins WHERE state_hash = ANY(:h)"
            ),
            {"h": [*sessions.values(), *logins.values()]},
        )
        hashes = set(found.scalars())
    return {name for name, h in (sessions | logins).items() if h in hashes}


@pytest.mark.asyncio
async def test_the_gateway_purges_ended_sessions_and_abandoned_logins(platform: Platform) -> None:
    store = SessionStore(platform.databases["gateway"], POLICY)
    sessions, logins = await _sessions(platform, store), await _logins(platform)
    assert await _left(platform, sessions, logins) == {"live", "idle", "old", "out", "fresh", "abandoned"}
    stop = asyncio.Event()
    purging = asyncio.create_task(store.purge_periodically(stop, every_seconds=0.05))
    await asyncio.sleep(0.3)
    stop.set()
    await purging
    assert await _left(platform, sessions, logins) == {"live", "fresh"}
    assert await store.load(None) is None


@pytest.mark.asyncio
async def test_riscossa_gateway_purge_is_the_same_for_cron(platform: Platform) -> None:
    store = SessionStore(platform.databases["gateway"], POLICY)
    sessions, logins = await _sessions(platform, store), await _logins(platform)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "gateway-purge",
        env=process_env(platform.settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    purged = dict(part.split(": ") for part in out.decode().strip().split(", "))
    assert int(purged["sessions purged"]) >= 3 and int(purged["pending logins purged"]) >= 1
    assert await _left(platform, sessions, logins) == {"live", "fresh"}
