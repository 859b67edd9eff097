"""Fixtures of the reporting tests that more than one module uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from services.platform import Platform


@pytest_asyncio.fixture
async def worker(platform: Platform) -> AsyncIterator[Any]:
    """The reporting worker consuming, and a relay that publishes the outbox when drained."""
    relay = platform.relay("reporting")
    for consumer in platform.consumers("reporting"):
        await platform.bus.purge(consumer.queue(platform.settings.queue_prefix).name)  # type: ignore[attr-defined]
    await platform.start_workers(("reporting",))
    try:
        yield relay
    finally:
        await platform.stop_workers()
        await relay.engine.dispose()
