"""Message bus: one interface, a RabbitMQ implementation and an in-process one.

Both implement the same delivery contract (checked by one test suite):
- `publish_many` returns only once every message is safely accepted (publisher confirms on RabbitMQ);
  a message no queue is bound to is parked (RabbitMQ: an alternate exchange and its `.unrouted`
  queue), never dropped and never blocking the messages behind it; `unrouted()` lists them;
- each consumer has its own durable queue bound to routing-key patterns (AMQP topic syntax);
- a handler that raises is retried `max_retries` times after `retry_delay_ms`, then the message is
  moved to the consumer's dead-letter queue; an `UndecodableMessage` goes there at once; the
  delivery after which a failure dead-letters the message says so (`final_attempt`);
- a message is acknowledged only after its handler returned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import aio_pika
import aio_pika.abc
from aio_pika.exceptions import DeliveryError
from pamqp.commands import Basic

from services.kernel.envelope import UndecodableMessage

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-riscossa-attempt"
ERROR_HEADER = "x-riscossa-error"


class Unroutable(Exception):
    """The broker returned a message it could not route, even to the alternate exchange."""


@dataclass(frozen=True)
class OutgoingMessage:
    routing_key: str
    body: bytes
    message_id: str


@dataclass(frozen=True)
class IncomingMessage:
    routing_key: str
    body: bytes
    message_id: str
    attempt: int = 0
    redelivered: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # A failure of this delivery sends the message to the dead-letter queue (no retry left).
    final_attempt: bool = False


RawHandler = Callable[[IncomingMessage], Awaitable[None]]


@dataclass(frozen=True)
class QueueSpec:
    """A consumer's durable queue and the routing-key patterns bound to it."""

    name: str
    bindings: tuple[str, ...]


class Subscription(Protocol):
    async def stop(self) -> None:
        """Stop taking new messages and wait for those in flight."""


class Bus(Protocol):
    async def start(self) -> None: ...
    async def declare(self, queues: Sequence[QueueSpec]) -> None: ...
    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None: ...
    async def consume(self, queue: QueueSpec, handler: RawHandler) -> Subscription: ...
    async def dead_letters(self, queue: str) -> list[IncomingMessage]: ...
    async def unrouted(self) -> list[IncomingMessage]: ...
    async def drain(self, within_seconds: float) -> None:
        """Wait until no message is queued, retrying or in flight (before consumers stop)."""

    async def purge(self, queue: str) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more words."""
    p, k = pattern.split("."), key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(k)
        if p[i] == "#":
            return any(match(i + 1, jj) for jj in range(j, len(k) + 1))
        return j < len(k) and p[i] in ("*", k[j]) and match(i + 1, j + 1)

    return match(0, 0)


def _verdict(exc: BaseException | None, attempt: int, max_retries: int) -> str:
    if exc is None:
        return "ack"
    if isinstance(exc, UndecodableMessage):
        return "dead"
    return "retry" if attempt < max_retries else "dead"


# ---------------------------------------------------------------------------------------------- in-process


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
        slots = asyncio.Semaphore(self.concurrency)

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
        verdict = _verdict(error, message.attempt, self.max_retries)
        if verdict == "ack":
            return
        log.warning("handler failed", extra={"fields": {"queue": q.spec.name, "error": repr(error)}})
        if verdict == "dead":
            q.dead.append(_with_error(message, error))
            return
        retry = IncomingMessage(message.routing_key, message.body, message.message_id, message.attempt + 1)

        def requeue() -> None:
            self._timers.discard(handle)
            q.items.put_nowait(retry)

        handle = asyncio.get_running_loop().call_later(self.retry_delay, requeue)
        self._timers.add(handle)

    async def dead_letters(self, queue: str) -> list[IncomingMessage]:
        return list(self._queues[queue].dead) if queue in self._queues else []

    async def unrouted(self) -> list[IncomingMessage]:
        return list(self._unrouted)

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


# ---------------------------------------------------------------------------------------------- RabbitMQ


class _RabbitSubscription:
    def __init__(
        self,
        queue: aio_pika.abc.AbstractQueue,
        tag: str,
        channel: aio_pika.abc.AbstractChannel,
        inflight: set[asyncio.Task[None]],
    ) -> None:
        self._queue = queue
        self._tag = tag
        self._channel = channel
        self._inflight = inflight

    async def stop(self) -> None:
        if not self._channel.is_closed:
            await self._queue.cancel(self._tag)
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if not self._channel.is_closed:
            await self._channel.close()


class RabbitBus:
    """RabbitMQ through aio-pika: a durable topic exchange, a durable queue per consumer, a delayed
    retry queue (TTL, then dead-lettered back to the main queue) and a dead-letter queue."""

    def __init__(
        self, url: str, exchange: str, max_retries: int = 3, retry_delay_ms: int = 2000, prefetch: int = 16
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.max_retries = max_retries
        self.retry_delay_ms = retry_delay_ms
        self.prefetch = prefetch
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.url)
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._declare_exchanges(self._channel)

    @property
    def unrouted_name(self) -> str:
        return f"{self.exchange_name}.unrouted"

    async def _declare_exchanges(
        self, channel: aio_pika.abc.AbstractChannel
    ) -> aio_pika.abc.AbstractExchange:
        parked = await channel.declare_exchange(
            self.unrouted_name, aio_pika.ExchangeType.FANOUT, durable=True
        )
        queue = await channel.declare_queue(self.unrouted_name, durable=True)
        await queue.bind(parked)
        return await channel.declare_exchange(
            self.exchange_name,
            aio_pika.ExchangeType.TOPIC,
            durable=True,
            arguments={"alternate-exchange": self.unrouted_name},
        )

    @property
    def connection(self) -> aio_pika.abc.AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("bus not started")
        return self._connection

    async def declare(self, queues: Sequence[QueueSpec]) -> None:
        channel = await self.connection.channel()
        try:
            exchange = await self._declare_exchanges(channel)
            for spec in queues:
                queue = await channel.declare_queue(spec.name, durable=True)
                for pattern in spec.bindings:
                    await queue.bind(exchange, pattern)
                await channel.declare_queue(
                    f"{spec.name}.retry",
                    durable=True,
                    arguments={
                        "x-message-ttl": self.retry_delay_ms,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": spec.name,
                    },
                )
                await channel.declare_queue(f"{spec.name}.dlq", durable=True)
        finally:
            await channel.close()

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        if self._exchange is None:
            raise RuntimeError("bus not started")
        exchange = self._exchange
        async with self._lock:
            results = await asyncio.gather(
                *(
                    exchange.publish(_amqp_message(m), routing_key=m.routing_key, mandatory=True)
                    for m in messages
                ),
                return_exceptions=True,
            )
        for message, result in zip(messages, results, strict=True):
            if isinstance(result, DeliveryError):
                raise Unroutable(message.routing_key) from result
            if isinstance(result, BaseException):
                raise result
            if not isinstance(result, Basic.Ack):
                raise RuntimeError(f"broker did not confirm {message.message_id}: {result!r}")

    async def consume(self, queue: QueueSpec, handler: RawHandler) -> Subscription:
        await self.declare([queue])
        channel = await self.connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self.prefetch)
        amqp_queue = await channel.get_queue(queue.name)
        inflight: set[asyncio.Task[None]] = set()

        async def on_message(raw: aio_pika.abc.AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                inflight.add(task)
            try:
                await self._deliver(channel, queue.name, raw, handler)
            finally:
                if task is not None:
                    inflight.discard(task)

        tag = await amqp_queue.consume(on_message, no_ack=False)
        return _RabbitSubscription(amqp_queue, tag, channel, inflight)

    async def _deliver(
        self,
        channel: aio_pika.abc.AbstractChannel,
        queue: str,
        raw: aio_pika.abc.AbstractIncomingMessage,
        handler: RawHandler,
    ) -> None:
        raw_attempt = str((raw.headers or {}).get(ATTEMPT_HEADER, 0))
        # A redelivery means a consumer died with the message (crash, OOM, timeout): that counts as an
        # attempt too, or a message that kills its worker would loop forever instead of dead-lettering.
        attempt = (int(raw_attempt) if raw_attempt.isdigit() else self.max_retries) + int(
            bool(raw.redelivered)
        )
        message = IncomingMessage(
            routing_key=str((raw.headers or {}).get("x-riscossa-routing-key", raw.routing_key or "")),
            body=raw.body,
            message_id=raw.message_id or "",
            attempt=attempt,
            redelivered=bool(raw.redelivered),
            final_attempt=attempt >= self.max_retries,
        )
        try:
            await handler(message)
            error: BaseException | None = None
        except Exception as exc:
            error = exc
        verdict = _verdict(error, attempt, self.max_retries)
        if verdict != "ack":
            log.warning("handler failed", extra={"fields": {"queue": queue, "error": repr(error)}})
            target = f"{queue}.retry" if verdict == "retry" else f"{queue}.dlq"
            headers: dict[str, aio_pika.abc.FieldValue] = {
                ATTEMPT_HEADER: attempt + 1,
                "x-riscossa-routing-key": message.routing_key,
            }
            if verdict == "dead":
                headers[ERROR_HEADER] = repr(error)[:500]
            await channel.default_exchange.publish(
                aio_pika.Message(
                    raw.body,
                    message_id=raw.message_id,
                    headers=headers,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=target,
            )
        await raw.ack()

    async def dead_letters(self, queue: str) -> list[IncomingMessage]:
        return await self._peek(f"{queue}.dlq")

    async def unrouted(self) -> list[IncomingMessage]:
        return await self._peek(self.unrouted_name)

    async def _peek(self, name: str) -> list[IncomingMessage]:
        """Read a parking queue without consuming it (unacked messages return when the channel closes)."""
        channel = await self.connection.channel()
        try:
            queue = await channel.declare_queue(name, durable=True)
            out: list[IncomingMessage] = []
            while (raw := await queue.get(no_ack=False, fail=False)) is not None:
                headers = {k: str(v) for k, v in (raw.headers or {}).items()}
                key = headers.get("x-riscossa-routing-key", raw.routing_key or "")
                attempt = (
                    int(headers.get(ATTEMPT_HEADER, "0")) if headers.get(ATTEMPT_HEADER, "0").isdigit() else 0
                )
                out.append(
                    IncomingMessage(
                        key, raw.body, raw.message_id or "", attempt, bool(raw.redelivered), headers
                    )
                )
            return out
        finally:
            await channel.close()

    async def drain(self, within_seconds: float) -> None:
        return None  # messages are durable on the broker

    async def purge(self, queue: str) -> None:
        channel = await self.connection.channel()
        try:
            for name in (queue, f"{queue}.retry", f"{queue}.dlq"):
                q = await channel.declare_queue(name, passive=True)
                await q.purge()
        finally:
            await channel.close()

    async def delete(self, queues: Sequence[str], exchange: bool = False) -> None:
        """Remove test topology (queues with their retry and dead-letter queues)."""
        channel = await self.connection.channel()
        try:
            for name in queues:
                for full in (name, f"{name}.retry", f"{name}.dlq"):
                    await channel.queue_delete(full)
            if exchange:
                await channel.exchange_delete(self.exchange_name)
                await channel.queue_delete(self.unrouted_name)
                await channel.exchange_delete(self.unrouted_name)
        finally:
            await channel.close()

    async def ping(self) -> None:
        if self._connection is None or self._connection.is_closed:
            raise ConnectionError("broker connection closed")

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


def _amqp_message(m: OutgoingMessage) -> aio_pika.Message:
    return aio_pika.Message(
        m.body,
        message_id=m.message_id,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
