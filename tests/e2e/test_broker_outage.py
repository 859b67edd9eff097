"""A relay and a worker outlive the broker: started while it is down, they wait for it; when it shuts
down under them (CONNECTION_FORCED), they stay up and carry on once it is back; when it stays down
longer than RISCOSSA_STUCK_SECONDS, they exit with status 1 saying why, to be started again. A
private RabbitMQ node of the test's own (bench/chaos_servers.py), never the machine's."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.chaos_servers import PrivateRabbit, remove
from services.platform import Platform
from services.reporting.models import outbox, tenant_totals
from tests.conftest import eventually
from tests.reporting.helpers import fact, registered
from tests.support import ROOT, process_env


@pytest.fixture
def rabbit() -> Iterator[PrivateRabbit]:
    root = Path(tempfile.mkdtemp(prefix="riscossa-outage-"))
    os.chmod(root, 0o755)  # noqa: S103 (the broker's own account must reach its folder)
    folder = root / "rabbit"
    node = PrivateRabbit(folder)
    try:
        yield node
    finally:
        node.stop()
        remove(root)


def start(
    platform: Platform, rabbit: PrivateRabbit, *args: str, log: Path, stuck: int = 120
) -> subprocess.Popen[bytes]:
    env = {
        **process_env(platform.settings),
        "RISCOSSA_AMQP_URL": rabbit.url,
        "RISCOSSA_BROKER_WAIT_SECONDS": "120",
        "RISCOSSA_STUCK_SECONDS": str(stuck),
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def waiting(proc: subprocess.Popen[bytes], log: Path) -> bool:
    alive(proc, log)
    return "broker unreachable, trying again" in log.read_text()


def alive(proc: subprocess.Popen[bytes], log: Path) -> None:
    assert proc.poll() is None, f"exited with {proc.returncode}: {log.read_text()[-3000:]}"


async def totals(platform: Platform, tenant: uuid.UUID) -> int:
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        stmt = sa.select(tenant_totals.c.positions).where(tenant_totals.c.tenant_id == tenant)
        return int((await uow.execute(stmt)).scalar_one_or_none() or 0)


async def positions_are(platform: Platform, tenant: uuid.UUID, expected: int) -> bool:
    return await totals(platform, tenant) == expected


async def publish_through_outbox(platform: Platform, tenant: uuid.UUID, amount: int) -> None:
    """An event put in the reporting outbox for the relay to carry; its routing key is one the
    reporting worker consumes (a position registered), so the worker projects it when it arrives."""
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        await uow.publish([registered(fact(amount)).envelope(tenant, "outage")])
        await uow.commit()


async def unsent(platform: Platform, tenant: uuid.UUID) -> int:
    async with platform.databases["reporting"].unit_of_work(tenant) as uow:
        stmt = sa.select(sa.func.count()).where(outbox.c.tenant_id == tenant, outbox.c.sent_at.is_(None))
        return int((await uow.execute(stmt)).scalar_one())


@pytest.mark.asyncio
async def test_relay_and_worker_wait_for_the_broker_and_survive_its_restart(
    platform: Platform, rabbit: PrivateRabbit, tmp_path: Path
) -> None:
    tenant = uuid.uuid4()
    relay = start(platform, rabbit, "relay", "reporting", log=tmp_path / "relay.log")
    worker = start(platform, rabbit, "worker", "reporting", log=tmp_path / "worker.log")
    try:
        # The broker is not even installed yet: each process says it waits, and waits.
        for name, proc in (("relay", relay), ("worker", worker)):
            await eventually(lambda name=name, proc=proc: waiting(proc, tmp_path / f"{name}.log"), timeout=60)
        await asyncio.sleep(2)
        alive(relay, tmp_path / "relay.log")
        alive(worker, tmp_path / "worker.log")
        await asyncio.to_thread(rabbit.init)  # starts it

        await publish_through_outbox(platform, tenant, 1_000)
        await eventually(lambda: positions_are(platform, tenant, 1), timeout=90)

        # Events keep coming while the broker stops (every connection closed with CONNECTION_FORCED,
        # some publishes and deliveries in flight) and while it is down.
        stopping = asyncio.create_task(asyncio.to_thread(rabbit.stop))
        sent = 1
        while not stopping.done():
            await publish_through_outbox(platform, tenant, 2_000)
            sent += 1
            await asyncio.sleep(0.05)
        await stopping
        await publish_through_outbox(platform, tenant, 2_000)
        sent += 1
        await asyncio.sleep(4)
        alive(relay, tmp_path / "relay.log")
        alive(worker, tmp_path / "worker.log")
        assert await unsent(platform, tenant) >= 1

        await asyncio.to_thread(rabbit.start)
        await eventually(lambda: positions_are(platform, tenant, sent), timeout=90)
        assert await unsent(platform, tenant) == 0
        alive(relay, tmp_path / "relay.log")
        alive(worker, tmp_path / "worker.log")
    finally:
        for proc in (relay, worker):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in (relay, worker):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.asyncio
async def test_relay_and_worker_exit_to_be_restarted_when_the_broker_stays_away(
    platform: Platform, rabbit: PrivateRabbit, tmp_path: Path
) -> None:
    tenant = uuid.uuid4()
    await asyncio.to_thread(rabbit.init)
    logs = {name: tmp_path / f"{name}.log" for name in ("relay", "worker")}
    procs = {
        name: start(platform, rabbit, name, "reporting", log=logs[name], stuck=4)
        for name in ("relay", "worker")
    }
    try:
        await publish_through_outbox(platform, tenant, 1_000)
        await eventually(lambda: positions_are(platform, tenant, 1), timeout=90)
        await asyncio.to_thread(rabbit.stop)
        await publish_through_outbox(platform, tenant, 2_000)
        # 4 s of a lost connection (and of failing publishes), seen within the watchdog's 5 s look.
        for name, proc in procs.items():
            code = await asyncio.to_thread(proc.wait, 60)
            text = logs[name].read_text()
            assert code == 1, text[-3000:]
            assert "process stuck: exiting to be started again" in text, text[-3000:]
        assert "broker connection lost for " in logs["worker"].read_text()
        relay_said = logs["relay"].read_text()
        assert (
            "broker connection lost for " in relay_said or "every outbox publish failing for " in relay_said
        )
        # Nothing was lost by exiting: the row the relay could not publish waits in the outbox.
        assert await unsent(platform, tenant) == 1
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
