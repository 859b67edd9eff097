"""Outbox relay and inbox-guarded consumers on top of a `Bus`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.kernel import tracing
from services.kernel.bus import (
    Bus,
    IncomingMessage,
    OutgoingMessage,
    QueueSpec,
    RawHandler,
    Subscription,
    TransientFailure,
)
from services.kernel.db import Database, UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.logs import correlation_var, tenant_var
from services.kernel.metrics import (
    CONSUMER_SECONDS,
    EVENTS_PUBLISHED,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST,
    QUEUE_DEPTH,
    event_name,
    every,
)

log = logging.getLogger(__name__)
# How often relays and workers refresh the gauges of their backlog and queues.
METRICS_EVERY_SECONDS = 15.0
# How often a relay that lost its LISTEN connection tries to open it again (it polls meanwhile).
RELISTEN_SECONDS = 30.0
# How long opening that connection and its LISTEN may take (the relay does not publish meanwhile).
LISTEN_SECONDS = 10.0

EventHandler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
FailureHandler = Callable[[UnitOfWork, Envelope, Exception], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """A named consumer: its durable queue receives the routing keys it has handlers for."""

    name: str
    handlers: Mapping[str, EventHandler]
    # Projections that read-modify-write per-tenant aggregates across event types serialise their
    # transactions per tenant (advisory lock), so concurrent deliveries cannot miss each other's rows.
    serialize_per_tenant: bool = False
    # Runs in a transaction of its own when a handler failed for the last time (the message goes on
    # to the dead-letter queue): what the handler left half done can be recorded as failed there.
    on_final_failure: FailureHandler | None = None
    # Handles events of a Comune whose personal data was erased (`services.mandate`): every other
    # consumer drops them, so a late event cannot bring any of that data back.
    after_erasure: bool = False
    # Messages a worker takes at once (None: the bus's default); see `QueueSpec.prefetch`.
    prefetch: int | None = None

    def queue(self, prefix: str) -> QueueSpec:
        return QueueSpec(f"{prefix}.{self.name}", tuple(sorted(self.handlers)), self.prefetch)


# SQLSTATEs of a database that cannot serve now (class 08: connection exception; 57P01-57P03:
# shutting down, crashed, starting up; 53300: too many connections), whatever the message.
_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53300")


def is_transient(exc: BaseException) -> bool:
    """The failure says the database is unavailable for now, not that the message is wrong: a
    refused or dropped connection, a server starting or stopping, a pool out of connections."""
    seen: BaseException | None = exc
    for _ in range(6):  # the exception, the driver's error it wraps, and what caused that
        if seen is None:
            return False
        if isinstance(seen, (ConnectionError, sa.exc.TimeoutError)):
            return True
        if isinstance(seen, sa.exc.DBAPIError) and seen.connection_invalidated:
            return True
        state = getattr(seen, "sqlstate", None) or getattr(getattr(seen, "orig", None), "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def inbox_handler(db: Database, consumer: Consumer) -> RawHandler:
    """Decode, then run the handler in its own tenant-scoped transaction guarded by the inbox;
    timed (metrics) and traced (a span with the event's correlation id)."""

    async def handle(message: IncomingMessage) -> None:
        envelope = Envelope.decode(message.body)
        handler = consumer.handlers.get(envelope.routing_key)
        if handler is None:
            raise UndecodableMessage(f"{consumer.name} has no handler for {envelope.routing_key}")
        tenant_token = tenant_var.set(str(envelope.tenant_id))
        corr_token = correlation_var.set(envelope.correlation_id or envelope.message_id.hex)
        started, outcome = time.perf_counter(), "failed"
        attributes = {
            "consumer": consumer.name,
            "tenant": str(envelope.tenant_id),
            "message_id": str(envelope.message_id),
            tracing.CORRELATION: envelope.correlation_id,
        }
        try:
            with tracing.span(f"consume {envelope.routing_key}", attributes=attributes):
                outcome = await _handle_once(db, consumer, envelope, handler)
        except Exception as exc:
            if is_transient(exc):
                # The database is restarting or out of connections: the message waits for it.
                raise TransientFailure(exc) from exc
            if (
                message.final_attempt
                and consumer.on_final_failure
                and not isinstance(exc, UndecodableMessage)
            ):
                await _record_final_failure(db, consumer, envelope, exc)
            raise
        finally:
            CONSUMER_SECONDS.labels(consumer.name, outcome).observe(time.perf_counter() - started)
            tenant_var.reset(tenant_token)
            correlation_var.reset(corr_token)

    return handle


async def _handle_once(db: Database, consumer: Consumer, envelope: Envelope, handler: EventHandler) -> str:
    """The handler's transaction, unless the inbox has the message already: "handled" or "duplicate"."""
    async with db.unit_of_work(envelope.tenant_id, envelope.correlation_id) as uow:
        if consumer.serialize_per_tenant:
            await uow.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                {"k": f"{consumer.name}:{envelope.tenant_id}"},
            )
        if not await uow.claim_message(consumer.name, envelope.message_id, envelope.tenant_id):
            log.info("duplicate delivery skipped", extra={"fields": {"message_id": str(envelope.message_id)}})
            return "duplicate"
        if not consumer.after_erasure and await _erased(uow):
            log.info("event of an erased Comune dropped", extra={"fields": {"type": envelope.routing_key}})
            return "dropped"
        await handler(uow, envelope)
        await uow.commit()
        return "handled"


async def _erased(uow: UnitOfWork) -> bool:
    closure = await uow.closure()
    return closure is not None and closure.erased_at is not None


async def _record_final_failure(
    db: Database, consumer: Consumer, envelope: Envelope, error: Exception
) -> None:
    assert consumer.on_final_failure is not None
    try:
        async with db.unit_of_work(envelope.tenant_id, envelope.correlation_id) as uow:
            await consumer.on_final_failure(uow, envelope, error)
            await uow.commit()
    except Exception:  # the message still goes to the dead-letter queue, with the handler's error
        log.exception("recording the final failure failed", extra={"fields": {"consumer": consumer.name}})


async def start_consumers(
    bus: Bus, db: Database, consumers: list[Consumer], prefix: str
) -> list[Subscription]:
    return [await bus.consume(c.queue(prefix), inbox_handler(db, c)) for c in consumers]


def asyncpg_dsn(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class OutboxRelay:
    """Publishes a service's outbox rows, marking them sent only after the broker confirmed.

    Rows are taken oldest first with `FOR UPDATE SKIP LOCKED`, so several relays can run side by side
    (order across relays is not guaranteed; consumers must not depend on it); the relay
    wakes on `NOTIFY <schema>_outbox` and polls as a fallback.
    """

    def __init__(
        self, url: str, schema: str, bus: Bus, batch_size: int = 200, poll_seconds: float = 1.0
    ) -> None:
        self.url = url
        self.schema = schema
        self.bus = bus
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.publish_timeout = 30.0
        self.engine: AsyncEngine = create_async_engine(url, pool_size=2)
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._listen_tried = 0.0
        # Since when (time.monotonic()) every attempt has failed / the current batch has been
        # running: what `riscossa relay`'s watchdog (services/kernel/watchdog.py) looks at.
        self.failing_since: float | None = None
        self.batch_since: float | None = None
        self._failures = 0

    async def run_once(self) -> int:
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT id, message_id, routing_key, body,"
                        " extract(epoch FROM clock_timestamp() - created_at) AS age"
                        f" FROM {self.schema}.outbox"
                        " WHERE sent_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
                    ),
                    {"n": self.batch_size},
                )
            ).all()
            if not rows:
                return 0
            # Bounded, so a blocked broker cannot hold the row locks and this transaction forever.
            await asyncio.wait_for(
                self.bus.publish_many(
                    [OutgoingMessage(r.routing_key, bytes(r.body), str(r.message_id)) for r in rows]
                ),
                self.publish_timeout,
            )
            await conn.execute(
                sa.text(f"UPDATE {self.schema}.outbox SET sent_at = now() WHERE id = ANY(:ids)"),
                {"ids": [r.id for r in rows]},
            )
        for row in rows:
            EVENTS_PUBLISHED.labels(self.schema, event_name(row.routing_key)).inc()
        # The lag: how long the oldest row of the batch waited in the outbox before its confirm.
        lag = max(float(r.age) for r in rows)
        log.info(
            "outbox batch published",
            extra={"fields": {"schema": self.schema, "count": len(rows), "lag_seconds": round(lag, 3)}},
        )
        return len(rows)

    async def measure_backlog(self) -> None:
        """The outbox rows not yet published and the age of the oldest (metrics)."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age"
                        f" FROM {self.schema}.outbox WHERE sent_at IS NULL"
                    )
                )
            ).one()
        OUTBOX_BACKLOG.labels(self.schema).set(row.n)
        OUTBOX_OLDEST.labels(self.schema).set(float(row.age))

    async def drain(self) -> int:
        total = 0
        while n := await self.run_once():
            total += n
        return total

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "outbox relay started",
            extra={"fields": {"schema": self.schema, "batch_size": self.batch_size}},
        )
        self._listener = await self._listen()
        measuring = asyncio.create_task(every(METRICS_EVERY_SECONDS, self.measure_backlog, stop))
        try:
            while not stop.is_set():
                sent = await self._attempt()
                if sent:
                    continue
                await self._relisten()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(self._wake.wait(), stop.wait()), self.poll_seconds)
        finally:
            measuring.cancel()
            if self._listener is not None:
                await self._listener.close()
            await self.engine.dispose()
            log.info("outbox relay stopped", extra={"fields": {"schema": self.schema}})

    async def _attempt(self) -> int:
        """One batch; a failure (database or broker unreachable) is logged, and so is the first
        success after failures: the relay reconnected."""
        self.batch_since = time.monotonic()
        try:
            sent = await self.run_once()
        except Exception:
            log.exception("outbox relay failed", extra={"fields": {"schema": self.schema}})
            if self.failing_since is None:
                self.failing_since, self._failures = time.monotonic(), 0
            self._failures += 1
            await asyncio.sleep(self.poll_seconds)
            return 0
        finally:
            self.batch_since = None
        if self.failing_since is not None:
            down = round(time.monotonic() - self.failing_since, 1)
            fields = {"schema": self.schema, "failures": self._failures, "down_seconds": down}
            log.info("outbox relay reconnected", extra={"fields": fields})
            self.failing_since = None
        return sent

    async def _relisten(self) -> None:
        """LISTEN again once its connection is lost (the relay polls meanwhile), at most every
        RELISTEN_SECONDS."""
        if self._listener is not None and not self._listener.is_closed():
            return
        if time.monotonic() - self._listen_tried < RELISTEN_SECONDS:
            return
        lost = self._listener is not None
        self._listener = await self._listen()
        if self._listener is not None and lost:
            log.info("outbox relay LISTEN reconnected", extra={"fields": {"schema": self.schema}})

    async def _listen(self) -> asyncpg.Connection | None:
        self._listen_tried = time.monotonic()
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(asyncpg_dsn(self.url), timeout=LISTEN_SECONDS)
            listening = conn.add_listener(f"{self.schema}_outbox", lambda *_: self._wake.set())
            await asyncio.wait_for(listening, LISTEN_SECONDS)
            return conn
        except Exception as exc:  # any failure (a server going down mid-handshake: InterfaceError...)
            # A LISTEN connection only wakes the relay sooner: without it the relay polls.
            if conn is not None:
                conn.terminate()
            fields = {"schema": self.schema, "error": repr(exc)[:200]}
            log.warning("LISTEN unavailable, polling only", extra={"fields": fields})
            return None


async def _first(*aws: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


async def measure_queues(bus: Bus, queues: list[str]) -> None:
    """The messages waiting in each consumer's queue, its retry queue and its dead-letter queue."""
    for queue in queues:
        for name in (queue, f"{queue}.retry", f"{queue}.dlq"):
            QUEUE_DEPTH.labels(name).set(await bus.depth(name))
