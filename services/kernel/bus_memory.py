"""The in-process bus: the same delivery contract as RabbitMQ (`bus.Bus`), for `riscossa dev` and tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from services.kernel.bus import (
    ERROR_HEADER,
    IncomingMessage,
    OutgoingMessage,
    QueueSpec,
    RawHandler,
    Subscription,
    settle_verdict,
    topic_matches,
)
from services.kernel.metrics import SETTLED

log = logging.getLogger(__name__)


@dataclass
class _MemoryQueue:
    spec: QueueSpec
    items: asyncio.Queue[IncomingMessage] = field(default_factory=asyncio.Queue)
    dead: list[IncomingMessage] = field(default_factory=list)


class _MemorySubscription:
    def __init__(self, task: asyncio.Task[None], inflight: set[asyncio.Task[None]]) -> None:
        self._task = task
        self._inflight = inflight

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)


class InProcessBus:
    """The same contract inside one process, for `riscossa dev` (messages live in memory)."""

    def __init__(self, max_retries: int = 3, retry_delay_ms: int = 2000, concurrency: int = 4) -> None:
        self.max_retries = max_retries
        self.retry_delay = retry_delay_ms / 1000
        self.concurrency = concurrency
        self._queues: dict[str, _MemoryQueue] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._unrouted: list[IncomingMessage] = []
        self._inflight = 0

    async def start(self) -> None:
        return None

    async def declare(self, queues: Sequence[QueueSpec]) -> None:
        for spec in queues:
            self._queues.setdefault(spec.name, _MemoryQueue(spec))

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        for m in messages:
            incoming = IncomingMessage(m.routing_key, m.body, m.message_id)
            targets = [q for q in self._queues.values() if _bound(q.spec, m.routing_key)]
            if not targets:
                self._unrouted.append(incoming)
            for q in targets:
                q.items.put_nowait(incoming)

    async def consume(self, queue: QueueSpec, handler: RawHandler) -> Subscription:
        await self.declare([queue])
        q = self._queues[queue.name]
        inflight: set[asyncio.Task[None]] = set()
        slots = asyncio.Semaphore(min(self.concurrency, queue.prefetch or self.concurrency))

        async def deliver(message: IncomingMessage) -> None:
            try:
                await handler(replace(message, final_attempt=message.attempt >= self.max_retries))
                error: BaseException | None = None
            except Exception as exc:
                error = exc
            finally:
                slots.release()
                self._inflight -= 1
            self._settle(q, message, error)

        async def pump() -> None:
            while True:
                await slots.acquire()
                try:
                    message = q.items.get_nowait()
                except asyncio.QueueEmpty:
                    slots.release()
                    message = await q.items.get()
                    await slots.acquire()
                self._inflight += 1
                task = asyncio.create_task(deliver(message))
                inflight.add(task)
                task.add_done_callback(inflight.discard)

        return _MemorySubscription(asyncio.create_task(pump()), inflight)

    def _settle(self, q: _MemoryQueue, message: IncomingMessage, error: BaseException | None) -> None:
        verdict = settle_verdict(error, message.attempt, self.max_retries)
        SETTLED.labels(q.spec.name, verdict).inc()
        if verdict == "ack":
            return
        log.warning("handler failed", extra={"fields": {"queue": q.spec.name, "error": repr(error)}})
        if verdict == "dead":
            q.dead.append(_with_error(message, error))
            return
        used = 0 if verdict == "wait" else 1
        retry = IncomingMessage(message.routing_key, message.body, message.message_id, message.attempt + used)

        def requeue() -> None:
            self._timers.discard(handle)
            q.items.put_nowait(retry)

        handle = asyncio.get_running_loop().call_later(self.retry_delay, requeue)
        self._timers.add(handle)

    async def dead_letters(self, queue: str) -> list[IncomingMessage]:
        return list(self._queues[queue].dead) if queue in self._queues else []

    async def unrouted(self) -> list[IncomingMessage]:
        return list(self._unrouted)

    async def replay(self, queue: str, message_ids: Sequence[str] | None = None) -> list[str]:
        found = self._queues.get(queue)
        if found is None:
            return []
        chosen = [m for m in found.dead if message_ids is None or m.message_id in message_ids]
        for message in chosen:
            found.dead.remove(message)
            found.items.put_nowait(IncomingMessage(message.routing_key, message.body, message.message_id))
        return [m.message_id for m in chosen]

    async def depth(self, queue: str) -> int:
        """Waiting in memory: `<queue>.dlq` counts the dead letters, `<queue>.retry` the timers."""
        name, _, kind = queue.rpartition(".") if queue.endswith((".dlq", ".retry")) else (queue, "", "")
        found = self._queues.get(name)
        if found is None:
            return 0
        if kind == "dlq":
            return len(found.dead)
        return len(self._timers) if kind == "retry" else found.items.qsize()

    async def drain(self, within_seconds: float) -> None:
        """Messages live only in memory here: let the consumers finish them before shutdown."""
        deadline = asyncio.get_running_loop().time() + within_seconds
        while self._timers or self._inflight or any(not q.items.empty() for q in self._queues.values()):
            if asyncio.get_running_loop().time() > deadline:
                log.warning("in-process bus not drained before shutdown")
                return
            await asyncio.sleep(0.05)

    async def purge(self, queue: str) -> None:
        if queue in self._queues:
            self._queues[queue] = _MemoryQueue(self._queues[queue].spec)

    async def ping(self) -> None:
        return None

    def lost_since(self) -> float | None:
        return None

    async def close(self) -> None:
        for handle in self._timers:
            handle.cancel()


def _bound(spec: QueueSpec, routing_key: str) -> bool:
    return any(topic_matches(p, routing_key) for p in spec.bindings)


def _with_error(message: IncomingMessage, error: BaseException | None) -> IncomingMessage:
    headers = dict(message.headers)
    headers[ERROR_HEADER] = repr(error)[:500]
    return IncomingMessage(
        message.routing_key, message.body, message.message_id, message.attempt, False, headers
    )
