"""A relay says at INFO when it starts, each batch it published (how many, and how long the oldest
waited), and when it works again after losing the database or the broker."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any, cast

import pytest
import sqlalchemy as sa

from services.contracts import BatchReceived
from services.kernel.bus import Bus, OutgoingMessage
from services.kernel.messaging import OutboxRelay
from services.platform import Platform
from tests.conftest import eventually

LOGGER = "services.kernel.messaging"


class FlakyBus:
    """Refuses the first `failures` publishes (the broker is away), then records what it gets."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.published: list[str] = []

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker unreachable")
        self.published += [m.message_id for m in messages]


async def _waiting_rows(platform: Platform, tenant_id: uuid.UUID, count: int, age_seconds: int) -> list[str]:
    """`count` events in the reporting outbox, written `age_seconds` ago."""
    envelopes = [BatchReceived(batch_id=f"relay-log-{i}").envelope(tenant_id) for i in range(count)]
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        await uow.publish(envelopes)
        await uow.execute(
            sa.text(
                "UPDATE reporting.outbox SET created_at = now() - make_interval(secs => :s) WHERE tenant_id = :t"
            ),
            {"s": age_seconds, "t": tenant_id},
        )
        await uow.commit()
    return [str(e.message_id) for e in envelopes]


def _records(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    return [
        cast(dict[str, Any], getattr(r, "fields", {}))
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.INFO and r.getMessage() == message
    ]


async def _running(relay: OutboxRelay, until: Any) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await eventually(until, timeout=20)
    finally:
        stop.set()
        await task


@pytest.mark.asyncio
async def test_a_relay_logs_its_start_and_each_batch_with_its_lag(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    ids = await _waiting_rows(platform, uuid.uuid4(), 3, age_seconds=90)
    bus = FlakyBus()
    relay = OutboxRelay(platform.relay_url("reporting"), "reporting", cast(Bus, bus), poll_seconds=0.05)

    async def published() -> bool:
        return set(ids) <= set(bus.published)

    await _running(relay, published)
    assert _records(caplog, "outbox relay started") == [{"schema": "reporting", "batch_size": 200}]
    batches = _records(caplog, "outbox batch published")
    assert sum(b["count"] for b in batches) == len(bus.published) >= 3
    assert all(b["schema"] == "reporting" for b in batches)
    # The rows waited 90 s before the relay took them: that is the lag of their batch.
    assert max(b["lag_seconds"] for b in batches) >= 90
    assert _records(caplog, "outbox relay reconnected") == []


@pytest.mark.asyncio
async def test_a_relay_logs_when_it_reconnects_after_failures(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    ids = await _waiting_rows(platform, uuid.uuid4(), 1, age_seconds=0)
    bus = FlakyBus(failures=2)
    relay = OutboxRelay(platform.relay_url("reporting"), "reporting", cast(Bus, bus), poll_seconds=0.05)

    async def reconnected() -> bool:
        return bool(_records(caplog, "outbox relay reconnected"))

    await _running(relay, reconnected)
    (back,) = _records(caplog, "outbox relay reconnected")
    assert back["schema"] == "reporting" and back["failures"] == 2 and back["down_seconds"] >= 0
    assert set(ids) <= set(bus.published)
