"""Crash-only recovery of the long-running processes without HTTP traffic (`relay`, `worker`).

A relay whose every attempt to publish fails, or whose one batch never finishes, or a process whose
broker connection has been lost and not restored, does no work while it looks alive. Past
`RISCOSSA_STUCK_SECONDS` (120 by default) of one such condition the process says which in its log
and exits with status 1, so that its orchestrator (compose's `restart: unless-stopped`, Kubernetes,
`bench/chaos.py`'s supervisor) starts it again with fresh connections; meanwhile its `/healthz`
answers 503 naming it. Nothing is lost by exiting: outbox rows are marked sent only after the
broker's confirm, and unacknowledged messages go back to their queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import NoReturn

log = logging.getLogger(__name__)

# Since when (time.monotonic()) a condition has held, or None while it does not.
Since = Callable[[], float | None]
STUCK_SECONDS = 120.0
# How often the watchdog looks.
LOOK_SECONDS = 5.0
# The exit status of a process that stopped itself because it was stuck.
STUCK_EXIT = 1


class Watchdog:
    """Conditions by name; `verdict` names the one that has held for longer than `stuck_seconds`."""

    def __init__(
        self,
        conditions: Mapping[str, Since],
        stuck_seconds: float = STUCK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conditions = dict(conditions)
        self.stuck_seconds = stuck_seconds
        self.clock = clock

    def verdict(self) -> str | None:
        now = self.clock()
        for name, since in self.conditions.items():
            began = since()
            if began is not None and now - began > self.stuck_seconds:
                return f"{name} for {now - began:.0f} s"
        return None

    async def check(self) -> None:
        """A health probe: fails while a condition has held for too long."""
        if (why := self.verdict()) is not None:
            raise RuntimeError(f"stuck: {why}")

    async def watch(self, stop: asyncio.Event, every: float = LOOK_SECONDS) -> str | None:
        """Until `stop` is set (None) or a condition held for too long (its verdict)."""
        while not stop.is_set():
            if (why := self.verdict()) is not None:
                return why
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
        return None


def ended(task: asyncio.Task[object]) -> Since:
    """A task that should run until the process stops: the condition holds from the moment it ended."""
    state: dict[str, float] = {}

    def since() -> float | None:
        if not task.done():
            return None
        if "at" not in state:
            state["at"] = time.monotonic()
            error = None if task.cancelled() else task.exception()
            log.error("background task ended", extra={"fields": {"error": repr(error)[:300]}})
        # An ended task never comes back: it counts as stuck at once.
        return float("-inf")

    return since


def exit_stuck(why: str, process: str) -> NoReturn:
    """Log why and exit with STUCK_EXIT at once: a stuck process may not stop cleanly, and need not
    (outbox rows not confirmed stay unsent, unacknowledged messages are delivered again)."""
    log.error(
        "process stuck: exiting to be started again",
        extra={"fields": {"process": process, "reason": why}},
    )
    logging.shutdown()
    os._exit(STUCK_EXIT)
