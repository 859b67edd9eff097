"""The production process shapes: `riscossa migrate`, `relay`, `worker` and `serve` as separate
processes over RabbitMQ; each stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.contracts import PositionFact, PositionsRegistered
from services.kernel.db import Database
from services.kernel.identity import IdentitySigner
from services.kernel.migrate import app_role, drop_connections, role_url
from services.kernel.settings import Settings
from services.platform import service_specs
from tests.conftest import eventually
from tests.support import ROOT, free_port, identity_headers, make_identity, process_env


@pytest_asyncio.fixture
async def isolated(settings: Settings) -> AsyncIterator[Settings]:
    """Its own database, exchange and queues, so no in-process relay or consumer interferes."""
    name = f"riscossa_proc_{uuid.uuid4().hex[:8]}"
    server = sa.engine.make_url(settings.database_url).set(database="postgres")
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    tag = uuid.uuid4().hex[:8]
    yield replace(
        settings,
        database_url=url,
        exchange=f"{settings.exchange}-{tag}",
        queue_prefix=f"{settings.queue_prefix}-{tag}",
    )
    async with admin.connect() as conn:
        await drop_connections(conn, name)
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    await admin.dispose()


async def _riscossa(settings: Settings, *args: str, port: int | None = None) -> asyncio.subprocess.Process:
    env = process_env(settings)
    if port is not None:
        env["RISCOSSA_PORT"] = str(port)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.asyncio
async def test_relay_worker_and_serve_processes(isolated: Settings) -> None:
    migrate = await _riscossa(isolated, "migrate")
    _, err = await asyncio.wait_for(migrate.communicate(), 120)
    assert migrate.returncode == 0, err.decode()[-2000:]

    port = free_port()
    procs = [
        await _riscossa(isolated, "worker", "payments"),
        await _riscossa(isolated, "relay", "ingest"),
        await _riscossa(isolated, "serve", "payments", port=port),
    ]
    tenant = make_identity(uuid.uuid4(), "comune-proc", roles=("operator",))
    position_id = str(uuid.uuid4())
    ingest = Database(
        role_url(isolated.database_url, app_role("ingest"), isolated.app_db_password),
        service_specs()["ingest"].metadata,
    )
    try:
        event = PositionsRegistered(
            batch_id=str(uuid.uuid4()),
            chunk=1,
            chunks=1,
            positions=(
                PositionFact(
                    position_id=position_id,
                    debtor_id=str(uuid.uuid4()),
                    fiscal_code="RSSMRA80A01H501U",
                    debtor_name="ROSSI MARIO",
                    revenue_type="TARI",
                    year=2023,
                    act_number="2023/1",
                    amount_cents=12345,
                ),
            ),
        )
        async with ingest.unit_of_work(tenant.tenant_id) as uow:
            await uow.publish([event.envelope(tenant.tenant_id)])
            await uow.commit()

        headers = identity_headers(IdentitySigner(isolated.secret_key), tenant)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            async def position_page() -> httpx.Response | None:
                try:
                    response = await client.get(
                        f"/t/comune-proc/payments/positions/{position_id}", headers=headers
                    )
                except httpx.HTTPError:
                    return None
                return response if response.status_code == 200 else None

            page = await eventually(position_page, timeout=60)
            assert "ROSSI MARIO" in page.text
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get(f"/t/comune-proc/payments/positions/{position_id}")).status_code == 401
    finally:
        await ingest.dispose()
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(p.wait(), 60) for p in procs]
    errors = [(await p.stderr.read()).decode()[-1500:] for p in procs if p.stderr is not None]
    assert codes == [0, 0, 0], errors
