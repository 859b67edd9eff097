"""Message bus: one interface (here), a RabbitMQ implementation (`bus_rabbit`) and an in-process one
(`bus_memory`).

Both implement the same delivery contract (checked by one test suite):
- `publish_many` returns only once every message is safely accepted (publisher confirms on RabbitMQ);
  a message no queue is bound to is parked (RabbitMQ: an alternate exchange and its `.unrouted`
  queue), never dropped and never blocking the messages behind it; `unrouted()` lists them;
- each consumer has its own durable queue bound to routing-key patterns (AMQP topic syntax);
- a handler that raises is retried `max_retries` times after `retry_delay_ms`, then the message is
  moved to the consumer's dead-letter queue; an `UndecodableMessage` goes there at once; the
  delivery after which a failure dead-letters the message says so (`final_attempt`);
- a `TransientFailure` (the database restarting, refusing connections or out of them) is tried
  again after `retry_delay_ms` without using up an attempt, however long the outage lasts: the
  message waits for the database instead of going to the dead-letter queue;
- a message is acknowledged only after its handler returned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.kernel.envelope import UndecodableMessage

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-riscossa-attempt"
ERROR_HEADER = "x-riscossa-error"


class TransientFailure(Exception):
    """The handler failed for a reason outside the message (its database unreachable for now): the
    same attempt is made again later (`settle_verdict` "wait")."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(repr(cause))
        self.cause = cause


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
    # At most this many messages in flight per worker (None: the bus's default): a consumer
    # whose messages are heavy (a whole credit file) takes few, leaving the rest to other workers.
    prefetch: int | None = None


class Subscription(Protocol):
    async def stop(self) -> None:
        """Stop taking new messages and wait for those in flight."""


class Bus(Protocol):
    async def start(self) -> None: ...
    async def declare(self, queues: Sequence[QueueSpec]) -> None: ...
    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None: ...
    async def consume(self, queue: QueueSpec, handler: RawHandler) -> Subscription: ...
    async def dead_letters(self, queue: str) -> list[IncomingMessage]: ...
    async def replay(self, queue: str, message_ids: Sequence[str] | None = None) -> list[str]:
        """Move the dead letters of `queue` (all, or those of `message_ids`) back to it, as first
        attempts; the ids of the messages moved."""

    async def unrouted(self) -> list[IncomingMessage]: ...
    async def drain(self, within_seconds: float) -> None:
        """Wait until no message is queued, retrying or in flight (before consumers stop)."""

    async def purge(self, queue: str) -> None: ...
    async def depth(self, queue: str) -> int:
        """Messages waiting in the queue (its name in full: `<queue>.retry`, `<queue>.dlq`)."""

    async def ping(self) -> None: ...
    def lost_since(self) -> float | None:
        """Since when (time.monotonic()) the broker connection has been down, None while it is up."""

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


def settle_verdict(exc: BaseException | None, attempt: int, max_retries: int) -> str:
    """ack, retry (one more attempt used), wait (tried again, no attempt used) or dead."""
    if exc is None:
        return "ack"
    if isinstance(exc, UndecodableMessage):
        return "dead"
    if isinstance(exc, TransientFailure):
        return "wait"
    return "retry" if attempt < max_retries else "dead"
