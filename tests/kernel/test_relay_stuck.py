"""What the watchdog of `riscossa relay` looks at (services/kernel/watchdog.py): a relay says since
when every publish has failed and since when its batch has been running, and a LISTEN connection
that fails in any way (not only with a PostgreSQL or network error) leaves it polling, never dead."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import pytest

from services.contracts import BatchReceived
from services.kernel import messaging
from services.kernel.bus import Bus, OutgoingMessage
from services.kernel.messaging import OutboxRelay
from services.kernel.watchdog import Watchdog
from services.platform import Platform
from tests.conftest import eventually


class Broker:
    """Accepts, refuses (`refuse`) or never answers (`hang`) a publish."""

    def __init__(self) -> None:
        self.refuse = False
        self.hang = False
        self.published: list[str] = []

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.refuse:
            raise ConnectionError("broker unreachable")
        self.published += [m.message_id for m in messages]


async def _waiting(platform: Platform, tenant_id: uuid.UUID) -> str:
    envelope = BatchReceived(batch_id=f"stuck-{uuid.uuid4().hex[:6]}").envelope(tenant_id)
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        await uow.publish([envelope])
        await uow.commit()
    return str(envelope.message_id)


def _relay(platform: Platform, broker: Broker) -> OutboxRelay:
    return OutboxRelay(platform.relay_url("reporting"), "reporting", cast(Bus, broker), poll_seconds=0.05)


@pytest.mark.asyncio
async def test_a_relay_says_since_when_it_fails_and_since_when_its_batch_runs(platform: Platform) -> None:
    tenant = uuid.uuid4()
    broker = Broker()
    relay = _relay(platform, broker)
    relay.publish_timeout = 0.3
    dog = Watchdog(
        {
            "every outbox publish failing": lambda: relay.failing_since,
            "one outbox batch not finishing": lambda: relay.batch_since,
        },
        stuck_seconds=0.5,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        first = await _waiting(platform, tenant)
        await eventually(lambda: _true(first in broker.published), timeout=20)
        assert relay.failing_since is None and dog.verdict() is None

        broker.refuse = True
        began = time.monotonic()
        refused = await _waiting(platform, tenant)
        await eventually(lambda: _true(relay.failing_since is not None), timeout=20)
        assert began <= (relay.failing_since or 0) <= time.monotonic()
        await eventually(lambda: _true((dog.verdict() or "").startswith("every outbox publish failing")), 20)

        # The broker answers again: the relay publishes what waited and is no longer failing.
        broker.refuse = False
        await eventually(lambda: _true(refused in broker.published), timeout=20)
        # Published before its batch commits: the relay clears the failure once the batch ends.
        await eventually(lambda: _true(relay.failing_since is None), timeout=20)

        # A publish that never returns is cut at publish_timeout: the batch ends, as a failure.
        broker.hang = True
        hung = await _waiting(platform, tenant)
        await eventually(lambda: _true(relay.batch_since is not None), timeout=20)
        await eventually(lambda: _true(relay.failing_since is not None), timeout=20)
        broker.hang = False
        await eventually(lambda: _true(hung in broker.published), timeout=20)
        await eventually(lambda: _true(relay.failing_since is None), timeout=20)
        assert not task.done()
    finally:
        stop.set()
        await task


@pytest.mark.asyncio
async def test_a_listen_connection_failing_in_any_way_leaves_the_relay_polling(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def handshake_cut(*args: Any, **kwargs: Any) -> None:
        # What asyncpg raises when the server goes away mid-handshake: not a PostgresError.
        raise asyncpg.exceptions.InterfaceError("connection was closed in the middle of operation")

    # Only the relay's LISTEN connection (its pool connects through SQLAlchemy, not this name).
    monkeypatch.setattr(
        messaging, "asyncpg", SimpleNamespace(connect=handshake_cut, PostgresError=asyncpg.PostgresError)
    )
    caplog.set_level(logging.WARNING, logger="services.kernel.messaging")
    monkeypatch.setattr(messaging, "RELISTEN_SECONDS", 0.0)
    broker = Broker()
    relay = _relay(platform, broker)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        ids = [await _waiting(platform, uuid.uuid4()) for _ in range(2)]
        await eventually(lambda: _true(set(ids) <= set(broker.published)), timeout=20)
        assert not task.done()
    finally:
        stop.set()
        await task
    warned = [r for r in caplog.records if r.getMessage() == "LISTEN unavailable, polling only"]
    assert len(warned) >= 2  # at the start and again at each try
    assert "InterfaceError" in cast(dict[str, str], getattr(warned[0], "fields", {}))["error"]


async def _true(value: bool) -> bool:
    return value
