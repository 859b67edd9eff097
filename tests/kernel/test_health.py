"""The health endpoints of workers and relays (`RISCOSSA_HEALTH_PORT`, services/kernel/health.py):
on the process's own event loop, readiness from the real database and broker, and a `riscossa
worker` process that answers them and still stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
import uuid
from dataclasses import replace

import httpx
import pytest
import sqlalchemy as sa

from services.kernel.bus_rabbit import RabbitBus
from services.kernel.health import HealthServer
from services.kernel.messaging import OutboxRelay
from services.kernel.settings import Settings
from services.platform import BUSINESS_SERVICES, Platform
from tests.conftest import eventually
from tests.support import ROOT, free_port, process_env


@pytest.mark.asyncio
async def test_a_worker_is_alive_and_ready_when_its_database_and_broker_answer(platform: Platform) -> None:
    port = free_port()
    health = HealthServer(port, {"database": platform.databases["contact"].ping, "broker": platform.bus.ping})
    await health.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            alive = await client.get("/healthz")
            ready = await client.get("/readyz")
            missing = await client.get("/metrics")
    finally:
        await health.stop()
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert missing.status_code == 404
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


@pytest.mark.asyncio
async def test_a_relay_reads_its_outbox_with_its_own_role(platform: Platform) -> None:
    relay = platform.relay("payments")
    port = free_port()
    health = HealthServer(port, {"database": relay.measure_backlog, "broker": platform.bus.ping})
    await health.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            ready = await client.get("/readyz")
    finally:
        await health.stop()
        await relay.engine.dispose()
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.asyncio
async def test_a_closed_broker_or_a_database_down_makes_it_unready(
    platform: Platform, settings: Settings
) -> None:
    closed = RabbitBus(settings.amqp_url, settings.exchange)
    await closed.start()
    await closed.close()
    # A database that is down: nothing listens where the relay's URL points.
    down = sa.engine.make_url(platform.relay_url("ingest")).set(port=free_port())
    refused = OutboxRelay(down.render_as_string(hide_password=False), "ingest", platform.bus)
    port = free_port()
    probes = {"database": platform.databases["ingest"].ping, "broker": closed.ping}
    health = HealthServer(port, probes | {"outbox": refused.measure_backlog})
    await health.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            alive = await client.get("/healthz")
            ready = await client.get("/readyz")
    finally:
        await health.stop()
        await refused.engine.dispose()
    assert alive.status_code == 200, "liveness does not depend on the dependencies"
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "error: ConnectionError"
    assert body["checks"]["outbox"].startswith("error: "), body


@pytest.mark.asyncio
async def test_a_probe_that_hangs_counts_as_down_within_the_bound() -> None:
    async def hangs() -> None:
        await asyncio.sleep(60)

    port = free_port()
    health = HealthServer(port, {"broker": hangs})
    await health.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            started = time.monotonic()
            ready = await client.get("/readyz")
            took = time.monotonic() - started
    finally:
        await health.stop()
    assert ready.status_code == 503 and ready.json()["checks"] == {"broker": "error: TimeoutError"}
    assert took < 5


@pytest.mark.asyncio
async def test_liveness_fails_while_the_event_loop_is_blocked() -> None:
    """The server runs on the caller's loop: a handler that blocks it stops the answers too."""
    port = free_port()
    health = HealthServer(port, {})
    await health.start()
    blocking, outcome = threading.Event(), {}

    def probe_during_the_block() -> None:
        blocking.wait(5)
        try:
            outcome["status"] = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code
        except httpx.TimeoutException as exc:
            outcome["error"] = type(exc).__name__

    prober = threading.Thread(target=probe_during_the_block)
    prober.start()
    try:
        blocking.set()
        time.sleep(1.5)  # the point: the loop is blocked
        prober.join(5)
        async with httpx.AsyncClient(timeout=5) as client:
            after = await client.get(f"http://127.0.0.1:{port}/healthz")
    finally:
        await health.stop()
    assert outcome == {"error": "ReadTimeout"}
    assert after.status_code == 200


@pytest.mark.asyncio
async def test_port_zero_serves_nothing() -> None:
    health = HealthServer(0, {})
    await health.start()
    await health.stop()
    assert health._task is None


@pytest.mark.asyncio
async def test_a_port_in_use_fails_at_start() -> None:
    port = free_port()
    first = HealthServer(port, {})
    await first.start()
    try:
        with pytest.raises(OSError):
            await HealthServer(port, {}).start()
    finally:
        await first.stop()


@pytest.mark.asyncio
async def test_a_worker_process_answers_on_its_health_port_and_stops_on_sigterm(
    platform: Platform, settings: Settings
) -> None:
    """`riscossa worker reporting` on its own exchange and queues (nothing of the other tests'
    reaches it), on the migrated test database."""
    tag = uuid.uuid4().hex[:8]
    own = replace(
        settings, exchange=f"{settings.exchange}-h{tag}", queue_prefix=f"{settings.queue_prefix}-h{tag}"
    )
    port = free_port()
    env = process_env(own) | {"RISCOSSA_HEALTH_PORT": str(port)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "worker",
        "reporting",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:

            async def alive() -> httpx.Response | None:
                if proc.returncode is not None:
                    raise AssertionError("the worker exited")
                try:
                    return await client.get("/healthz")
                except httpx.TransportError:
                    return None

            assert (await eventually(alive, timeout=60)).json() == {"status": "ok"}
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 60)
        errors = (await proc.stderr.read()).decode()[-2000:] if proc.stderr else ""
        await _delete_topology(own, platform)
    assert code == 0, errors
    assert "worker stopping" in errors
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


async def _delete_topology(own: Settings, platform: Platform) -> None:
    queues = [c.queue(own.queue_prefix).name for s in BUSINESS_SERVICES for c in platform.consumers(s)]
    bus = RabbitBus(own.amqp_url, own.exchange)
    await bus.start()
    await bus.delete(queues, exchange=True)
    await bus.close()
