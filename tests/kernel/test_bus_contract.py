"""One delivery contract, run against RabbitMQ and against the in-process bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from services.kernel.bus import (
    Bus,
    IncomingMessage,
    OutgoingMessage,
    QueueSpec,
    TransientFailure,
    topic_matches,
)
from services.kernel.bus_memory import InProcessBus
from services.kernel.bus_rabbit import RabbitBus
from services.kernel.envelope import UndecodableMessage
from services.kernel.settings import Settings
from tests.conftest import eventually


@pytest_asyncio.fixture(params=["rabbitmq", "in-process"])
async def bus(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Bus]:
    exchange = f"{settings.exchange}-contract-{uuid.uuid4().hex[:6]}"
    instance: Bus
    if request.param == "rabbitmq":
        instance = RabbitBus(settings.amqp_url, exchange, max_retries=2, retry_delay_ms=100)
    else:
        instance = InProcessBus(max_retries=2, retry_delay_ms=100)
    await instance.start()
    yield instance
    if isinstance(instance, RabbitBus):
        await instance.delete(
            [f"{exchange}.{n}" for n in ("a", "b", "poison", "bad", "slow", "replayed", "heavy")],
            exchange=True,
        )
    await instance.close()


def _queue(bus: Bus, name: str, *bindings: str) -> QueueSpec:
    prefix = bus.exchange_name if isinstance(bus, RabbitBus) else "mem"
    return QueueSpec(f"{prefix}.{name}", bindings)


def _msg(key: str, body: bytes = b"{}") -> OutgoingMessage:
    return OutgoingMessage(key, body, str(uuid.uuid4()))


@pytest.mark.asyncio
async def test_routes_by_topic_to_each_bound_queue(bus: Bus) -> None:
    got_a: list[str] = []
    got_b: list[str] = []
    qa, qb = _queue(bus, "a", "ingest.*.v1"), _queue(bus, "b", "ingest.positions_registered.v1", "payments.#")

    async def on_a(m: IncomingMessage) -> None:
        got_a.append(m.routing_key)

    async def on_b(m: IncomingMessage) -> None:
        got_b.append(m.routing_key)

    subs = [await bus.consume(qa, on_a), await bus.consume(qb, on_b)]
    await bus.publish_many(
        [
            _msg("ingest.positions_registered.v1"),
            _msg("ingest.batch_accepted.v1"),
            _msg("payments.payment_received.v1"),
        ]
    )
    await eventually(lambda: _true(len(got_a) == 2 and len(got_b) == 2))
    assert sorted(got_a) == ["ingest.batch_accepted.v1", "ingest.positions_registered.v1"]
    assert sorted(got_b) == ["ingest.positions_registered.v1", "payments.payment_received.v1"]
    for s in subs:
        await s.stop()


@pytest.mark.asyncio
async def test_unroutable_message_is_parked_and_does_not_block_the_others(bus: Bus) -> None:
    got: list[str] = []

    async def on_a(m: IncomingMessage) -> None:
        got.append(m.message_id)

    sub = await bus.consume(_queue(bus, "a", "ingest.#"), on_a)
    first, lost, last = _msg("ingest.a.v1"), _msg("nobody.listens.v1", b"parked"), _msg("ingest.b.v1")
    await bus.publish_many([first, lost, last])
    await eventually(lambda: _true(len(got) == 2))
    assert got == [first.message_id, last.message_id]
    parked = await bus.unrouted()
    assert [(m.routing_key, m.body) for m in parked] == [("nobody.listens.v1", b"parked")]
    await sub.stop()


@pytest.mark.asyncio
async def test_drain_lets_queued_and_retrying_messages_finish(bus: Bus) -> None:
    done: list[str] = []
    failed_once: set[str] = set()

    async def handler(m: IncomingMessage) -> None:
        await asyncio.sleep(0.01)
        if m.message_id not in failed_once and len(failed_once) < 3:
            failed_once.add(m.message_id)
            raise RuntimeError("retry me")
        done.append(m.message_id)

    sub = await bus.consume(_queue(bus, "slow", "d.#"), handler)
    await bus.publish_many([_msg("d.v1") for _ in range(40)])
    await bus.drain(within_seconds=30)
    if isinstance(bus, RabbitBus):  # durable on the broker: nothing to drain in the process
        await eventually(lambda: _true(len(done) == 40))
    assert len(done) == 40
    await sub.stop()


@pytest.mark.asyncio
async def test_failing_handler_is_retried_then_succeeds(bus: Bus) -> None:
    attempts: list[int] = []

    async def flaky(m: IncomingMessage) -> None:
        attempts.append(m.attempt)
        if len(attempts) < 2:
            raise RuntimeError("temporary")

    q = _queue(bus, "a", "x.#")
    sub = await bus.consume(q, flaky)
    await bus.publish_many([_msg("x.y.v1")])
    await eventually(lambda: _true(len(attempts) == 2))
    await asyncio.sleep(0.3)
    assert attempts == [0, 1]
    assert await bus.dead_letters(q.name) == []
    await sub.stop()


@pytest.mark.asyncio
async def test_a_transient_failure_waits_without_using_up_attempts(bus: Bus) -> None:
    """The database down for longer than every retry: the message waits for it, never dead-lettered."""
    attempts: list[int] = []

    async def database_down(m: IncomingMessage) -> None:
        attempts.append(m.attempt)
        if len(attempts) <= 5:  # more failures than max_retries (2) allows
            raise TransientFailure(ConnectionRefusedError("database restarting"))

    q = _queue(bus, "slow", "t.#")
    sub = await bus.consume(q, database_down)
    await bus.publish_many([_msg("t.v1")])
    await eventually(lambda: _true(len(attempts) == 6))
    await asyncio.sleep(0.3)
    assert attempts == [0] * 6 and await bus.dead_letters(q.name) == []
    await sub.stop()


@pytest.mark.asyncio
async def test_poison_message_is_dead_lettered_while_others_flow(bus: Bus) -> None:
    handled: list[bytes] = []
    attempts = 0
    finals: list[bool] = []

    async def handler(m: IncomingMessage) -> None:
        nonlocal attempts
        if m.body == b"poison":
            attempts += 1
            finals.append(m.final_attempt)
            raise ValueError("cannot process")
        handled.append(m.body)

    q = _queue(bus, "poison", "p.#")
    sub = await bus.consume(q, handler)
    await bus.publish_many([_msg("p.v1", b"ok-1"), _msg("p.v1", b"poison"), _msg("p.v1", b"ok-2")])
    await bus.publish_many([_msg("p.v1", f"ok-{i}".encode()) for i in range(3, 6)])

    async def dead() -> list[IncomingMessage]:
        return await bus.dead_letters(q.name)

    dlq = await eventually(dead)
    assert [m.body for m in dlq] == [b"poison"]
    assert attempts == 3  # first try + max_retries (2)
    assert finals == [False, False, True]  # the handler knows which failure dead-letters
    await eventually(lambda: _true(len(handled) == 5))
    assert sorted(handled) == [f"ok-{i}".encode() for i in range(1, 6)]
    await sub.stop()


@pytest.mark.asyncio
async def test_a_replayed_dead_letter_is_handled_again(bus: Bus) -> None:
    handled: list[bytes] = []
    broken = True

    async def handler(m: IncomingMessage) -> None:
        if broken:
            raise ValueError("still broken")
        handled.append(m.body)

    q = _queue(bus, "replayed", "r.#")
    sub = await bus.consume(q, handler)
    first, second = _msg("r.v1", b"one"), _msg("r.v1", b"two")
    await bus.publish_many([first, second])

    async def both_dead() -> bool:
        return len(await bus.dead_letters(q.name)) == 2

    await eventually(both_dead)
    broken = False
    assert await bus.replay(q.name, [second.message_id]) == [second.message_id]
    await eventually(lambda: _true(handled == [b"two"]))
    assert [m.message_id for m in await bus.dead_letters(q.name)] == [first.message_id]
    assert await bus.replay(q.name) == [first.message_id]
    await eventually(lambda: _true(sorted(handled) == [b"one", b"two"]))
    assert await bus.dead_letters(q.name) == []
    await sub.stop()


@pytest.mark.asyncio
async def test_undecodable_message_goes_to_dead_letter_at_once(bus: Bus) -> None:
    calls = 0

    async def handler(m: IncomingMessage) -> None:
        nonlocal calls
        calls += 1
        raise UndecodableMessage("not json")

    q = _queue(bus, "bad", "bad.#")
    sub = await bus.consume(q, handler)
    await bus.publish_many([_msg("bad.v1", b"\xff\xfe garbage")])

    async def dead() -> list[IncomingMessage]:
        return await bus.dead_letters(q.name)

    dlq = await eventually(dead)
    assert len(dlq) == 1 and dlq[0].body == b"\xff\xfe garbage"
    assert calls == 1
    await sub.stop()


@pytest.mark.asyncio
async def test_stop_waits_for_in_flight_messages(bus: Bus) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(m: IncomingMessage) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.append(m.message_id)

    q = _queue(bus, "slow", "s.#")
    sub = await bus.consume(q, slow)
    message = _msg("s.v1")
    await bus.publish_many([message])
    await asyncio.wait_for(started.wait(), 10)
    await sub.stop()
    assert finished == [message.message_id]


def test_topic_matching() -> None:
    assert topic_matches("ingest.*.v1", "ingest.positions_registered.v1")
    assert not topic_matches("ingest.*.v1", "ingest.positions_registered.v2")
    assert topic_matches("payments.#", "payments.payment_received.v1")
    assert topic_matches("#", "a.b.c")
    assert topic_matches("a.#.c", "a.c")
    assert not topic_matches("a.*", "a.b.c")


async def _true(value: bool) -> bool:
    return value


@pytest.mark.asyncio
async def test_a_queue_s_prefetch_bounds_the_messages_a_worker_holds(bus: Bus) -> None:
    """A consumer of heavy messages (`QueueSpec.prefetch`) holds at most that many at once; the
    others wait in the queue for it, or for another worker."""
    queue = QueueSpec(_queue(bus, "heavy", "ingest.batch_received.v1").name, ("ingest.batch_received.v1",), 2)
    held, most, done = 0, 0, 0
    release = asyncio.Event()

    async def heavy(m: IncomingMessage) -> None:
        nonlocal held, most, done
        held += 1
        most = max(most, held)
        await release.wait()
        held -= 1
        done += 1

    subscription = await bus.consume(queue, heavy)
    await bus.publish_many([_msg("ingest.batch_received.v1") for _ in range(5)])
    await eventually(lambda: _true(held == 2))
    await asyncio.sleep(0.3)
    assert (held, most) == (2, 2)
    release.set()
    await eventually(lambda: _true(done == 5))
    assert most == 2
    await subscription.stop()
