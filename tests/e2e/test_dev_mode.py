"""`riscossa dev` (what `make run` starts): embedded PostgreSQL, in-process bus, local storage, demo data."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import eventually
from tests.support import ROOT, free_port


@pytest.mark.asyncio
async def test_dev_mode_serves_both_demo_tenants_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISCOSSA_")}
    env.update(
        {
            "RISCOSSA_DATA_DIR": str(tmp_path / "data"),
            "RISCOSSA_PORT": str(port),
            "RISCOSSA_RETRY_DELAY_MS": "200",
        }
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "dev",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    keys: dict[str, str] = {}
    try:
        while len(keys) < 2:
            line = (await asyncio.wait_for(proc.stdout.readline(), 90)).decode()
            assert line, "riscossa dev exited early"
            if m := re.match(r"API key for (\S+): (\S+)", line):
                keys[m.group(1)] = m.group(2)
        assert sorted(keys) == ["comune-demo-a", "comune-demo-b"]
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await eventually(lambda: _up(client), timeout=30)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            login = await client.get("/login")
            assert "Anna Bianchi" in login.text and "Olga Russo" in login.text
            assert (
                await client.get("/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css")
            ).status_code == 200
            assert (await client.get("/static/vendor/htmx/htmx.min.js")).status_code == 200
            for slug, key in keys.items():
                headers = {"authorization": f"Bearer {key}"}

                async def demo_registered(h: dict[str, str] = headers) -> bool:
                    summary = await client.get("/api/v1/reporting/summary", headers=h)
                    return summary.status_code == 200 and summary.json()["assigned_cents"] > 0

                assert await eventually(demo_registered, timeout=60), slug
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 60)
    assert proc.returncode == 0


async def _up(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
