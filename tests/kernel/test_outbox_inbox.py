"""Outbox and inbox survive a process dying at the worst moment (real subprocesses, real servers)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from services.contracts import BatchReceived
from services.kernel.bus import IncomingMessage, OutgoingMessage, QueueSpec
from services.kernel.bus_rabbit import RabbitBus
from services.kernel.envelope import Envelope
from services.kernel.messaging import inbox_handler
from services.kernel.settings import Settings
from services.platform import Platform
from tests.conftest import eventually
from tests.kernel.crash import CONSUMER, consumer
from tests.support import ROOT, process_env


async def _run(settings: Settings, *args: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.kernel.crash",
        *args,
        env=process_env(settings),
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode in (3, 4), err.decode()[-3000:]
    return proc.returncode


async def _outbox_rows(platform: Platform, tenant_id: uuid.UUID) -> list[sa.Row[tuple[object, ...]]]:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        result = await uow.execute(
            sa.text("SELECT message_id, routing_key, body, sent_at FROM reporting.outbox ORDER BY id")
        )
        return list(result.all())


@pytest.mark.asyncio
async def test_state_committed_before_a_crash_is_published_after_restart(platform: Platform) -> None:
    settings = platform.settings
    tenant_id = uuid.uuid4()
    queue = QueueSpec(
        f"{settings.queue_prefix}.outbox-crash-{uuid.uuid4().hex[:6]}", (BatchReceived.routing_key(),)
    )
    received: list[Envelope] = []

    async def collect(message: IncomingMessage) -> None:
        envelope = Envelope.decode(message.body)
        if envelope.tenant_id == tenant_id:
            received.append(envelope)

    assert await _run(settings, "outbox", str(tenant_id)) == 3
    rows = await _outbox_rows(platform, tenant_id)
    assert len(rows) == 1 and rows[0].sent_at is None  # committed, never published

    sub = await platform.bus.consume(queue, collect)
    relay = platform.relay("reporting")  # "after restart": a fresh relay process picks it up
    try:
        assert await relay.drain() >= 1
    finally:
        await relay.engine.dispose()
    await eventually(lambda: _true(len(received) == 1))
    assert received[0].message_id == rows[0].message_id
    assert received[0].payload == {"batch_id": "committed-then-crashed"}
    assert (await _outbox_rows(platform, tenant_id))[0].sent_at is not None
    await sub.stop()
    assert isinstance(platform.bus, RabbitBus)
    await platform.bus.delete([queue.name])


@pytest.mark.asyncio
async def test_redelivery_after_a_crash_before_ack_has_no_second_effect(platform: Platform) -> None:
    settings = platform.settings
    tenant_id = uuid.uuid4()
    key = f"kernel_test.crash_{uuid.uuid4().hex[:6]}.v1"
    queue = QueueSpec(f"{settings.queue_prefix}.inbox-crash-{uuid.uuid4().hex[:6]}", (key,))
    await platform.bus.declare([queue])
    envelope = Envelope(type=key.rsplit(".", 1)[0], version=1, tenant_id=tenant_id, payload={})
    await platform.bus.publish_many([OutgoingMessage(key, envelope.encode(), str(envelope.message_id))])

    assert await _run(settings, "inbox", queue.name, key) == 4
    assert len(await _outbox_rows(platform, tenant_id)) == 1  # the effect was committed once

    deliveries: list[IncomingMessage] = []
    handler = inbox_handler(platform.databases["reporting"], consumer(key))

    async def observe(message: IncomingMessage) -> None:
        deliveries.append(message)
        await handler(message)

    sub = await platform.bus.consume(queue, observe)
    await eventually(lambda: _true(len(deliveries) == 1), timeout=30)
    await sub.stop()
    assert deliveries[0].redelivered
    assert len(await _outbox_rows(platform, tenant_id)) == 1  # no second effect
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        claimed = (await uow.execute(sa.text("SELECT consumer FROM reporting.inbox"))).scalars().all()
    assert claimed == [CONSUMER]
    assert await platform.bus.dead_letters(queue.name) == []
    assert isinstance(platform.bus, RabbitBus)
    await platform.bus.delete([queue.name])


async def _true(value: bool) -> bool:
    return value
