"""The RabbitMQ bus (`bus.Bus`): topic exchange, a durable queue per consumer, retry and dead-letter
queues, an alternate exchange for unroutable messages, publisher confirms."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import aio_pika
import aio_pika.abc
from aio_pika.exceptions import DeliveryError
from pamqp.commands import Basic

from services.kernel.bus import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    IncomingMessage,
    OutgoingMessage,
    QueueSpec,
    RawHandler,
    Subscription,
    Unroutable,
    settle_verdict,
)
from services.kernel.metrics import SETTLED

log = logging.getLogger(__name__)

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
        self,
        url: str,
        exchange: str,
        max_retries: int = 3,
        retry_delay_ms: int = 2000,
        prefetch: int = 16,
        connect_wait_seconds: float = 0,
    ) -> None:
        self.url = url
        self.connect_wait_seconds = connect_wait_seconds
        self.exchange_name = exchange
        self.max_retries = max_retries
        self.retry_delay_ms = retry_delay_ms
        self.prefetch = prefetch
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._lock = asyncio.Lock()
        self._lost_at: float | None = None

    async def start(self) -> None:
        self._connection = await self._connect()
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._declare_exchanges(self._channel)

    async def _connect(self) -> aio_pika.abc.AbstractRobustConnection:
        """The first connection, tried again with backoff for `connect_wait_seconds` while the broker
        is not up yet (a process started before it, or while it restarts); once connected, aio-pika's
        robust connection reconnects by itself."""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.connect_wait_seconds, 0.5
        while True:
            try:
                return await aio_pika.connect_robust(self.url)
            except Exception as exc:
                if loop.time() + delay > deadline:
                    raise
                log.warning(
                    "broker unreachable, trying again",
                    extra={"fields": {"error": repr(exc)[:200], "in_seconds": delay}},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

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
        await channel.set_qos(prefetch_count=queue.prefetch or self.prefetch)
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
        verdict = settle_verdict(error, attempt, self.max_retries)
        SETTLED.labels(queue, verdict).inc()
        if verdict != "ack":
            log.warning("handler failed", extra={"fields": {"queue": queue, "error": repr(error)}})
            target = f"{queue}.dlq" if verdict == "dead" else f"{queue}.retry"
            headers: dict[str, aio_pika.abc.FieldValue] = {
                # A transient failure ("wait") uses up no attempt.
                ATTEMPT_HEADER: attempt + (0 if verdict == "wait" else 1),
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

    async def replay(self, queue: str, message_ids: Sequence[str] | None = None) -> list[str]:
        """Each chosen dead letter is published to its queue (confirmed) before its copy in the
        dead-letter queue is acknowledged: a crash between the two replays it twice, never loses it
        (the inbox makes the second delivery a no-op). The others return to the dead-letter queue
        when the channel closes."""
        channel = await self.connection.channel()
        moved: list[str] = []
        try:
            dead = await channel.declare_queue(f"{queue}.dlq", durable=True)
            while (raw := await dead.get(no_ack=False, fail=False)) is not None:
                if message_ids is not None and raw.message_id not in message_ids:
                    continue
                key = str((raw.headers or {}).get("x-riscossa-routing-key", raw.routing_key or ""))
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        raw.body,
                        message_id=raw.message_id,
                        headers={ATTEMPT_HEADER: 0, "x-riscossa-routing-key": key},
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=queue,
                )
                await raw.ack()
                moved.append(raw.message_id or "")
            return moved
        finally:
            await channel.close()

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

    async def depth(self, queue: str) -> int:
        channel = await self.connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            await channel.close()

    async def ping(self) -> None:
        if self._connection is None or self._connection.is_closed:
            raise ConnectionError("broker connection closed")
        if self.lost_since() is not None:
            raise ConnectionError("broker connection lost: reconnecting")

    def lost_since(self) -> float | None:
        """Sampled: the first look that finds the robust connection down (closed, or reconnecting)
        starts the clock, the first that finds it up stops it."""
        connection = self._connection
        up = connection is not None and not connection.is_closed and connection.connected.is_set()
        if up:
            self._lost_at = None
        elif self._lost_at is None:
            self._lost_at = time.monotonic()
        return self._lost_at

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
