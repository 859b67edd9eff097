"""The watchdog of `riscossa worker` and `relay` (services/kernel/watchdog.py): a condition that has
held for longer than the limit makes the process stuck, `/healthz` says so, and a background task
that ended counts at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.kernel.health import health_app
from services.kernel.watchdog import Watchdog, ended


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_condition_is_stuck_only_once_it_held_longer_than_the_limit() -> None:
    clock = Clock()
    since: dict[str, float | None] = {"broker": None, "relay": None}
    dog = Watchdog(
        {"broker connection lost": lambda: since["broker"], "relay failing": lambda: since["relay"]},
        stuck_seconds=120,
        clock=clock,
    )
    assert dog.verdict() is None
    since["broker"] = 1000.0
    clock.now = 1120.0
    assert dog.verdict() is None  # exactly the limit: not yet
    clock.now = 1121.0
    assert dog.verdict() == "broker connection lost for 121 s"
    since["broker"] = None  # the connection came back: the clock stops
    assert dog.verdict() is None
    since["relay"] = 1100.0
    assert dog.verdict() is None
    clock.now = 1300.0
    assert dog.verdict() == "relay failing for 200 s"


@pytest.mark.asyncio
async def test_a_task_that_ended_counts_as_stuck_at_once() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    async def forever() -> None:
        await asyncio.Event().wait()

    failed, running = asyncio.create_task(broken()), asyncio.create_task(forever())
    await asyncio.sleep(0)
    try:
        dog = Watchdog({"relay ended": ended(failed), "other": ended(running)}, stuck_seconds=3600)
        why = dog.verdict()
        assert why is not None and why.startswith("relay ended for ")
        assert Watchdog({"other": ended(running)}).verdict() is None
    finally:
        running.cancel()


@pytest.mark.asyncio
async def test_watch_returns_the_verdict_or_nothing_once_stopped() -> None:
    since: dict[str, float | None] = {"x": None}
    clock = Clock()
    dog = Watchdog({"broker connection lost": lambda: since["x"]}, stuck_seconds=10, clock=clock)
    stop = asyncio.Event()
    watching = asyncio.create_task(dog.watch(stop, every=0.01))
    await asyncio.sleep(0.05)
    assert not watching.done()
    since["x"], clock.now = 900.0, 1000.0
    assert await asyncio.wait_for(watching, 2) == "broker connection lost for 100 s"

    since["x"] = None
    stop.set()
    assert await asyncio.wait_for(dog.watch(stop, every=0.01), 2) is None


@pytest.mark.asyncio
async def test_healthz_answers_503_naming_what_is_stuck() -> None:
    since: dict[str, float | None] = {"x": None}
    clock = Clock()
    dog = Watchdog({"every outbox publish failing": lambda: since["x"]}, stuck_seconds=60, clock=clock)
    app = health_app({}, alive=dog.check)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as client:
        fine = await client.get("/healthz")
        since["x"] = 800.0
        stuck = await client.get("/healthz")
    assert fine.status_code == 200 and fine.json() == {"status": "ok"}
    assert stuck.status_code == 503
    assert stuck.json() == {"status": "stuck", "reason": "stuck: every outbox publish failing for 200 s"}
