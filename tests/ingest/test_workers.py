"""Two ingest workers side by side, as competing consumers of the batch queue on the real broker:
batches of two Comuni are worked at the same time, one by each worker, while batches of one Comune
still settle one at a time (`test_consumers.test_batches_of_one_comune_settle_one_at_a_time`)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import sqlalchemy as sa

from services.ingest import repository, repository_settle
from services.ingest.consumers import processor
from services.kernel.bus import OutgoingMessage, Subscription
from services.kernel.bus_rabbit import RabbitBus
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.messaging import Consumer, EventHandler, start_consumers
from services.kernel.settings import Settings
from services.platform import Platform, make_bus
from tests.conftest import eventually
from tests.ingest.helpers import batch, store_batch
from tests.support import FIXTURES

SAMPLE = "comune-c-utf8.csv"


def worker_consumer(platform: Platform, name: str, seen: dict[str, str]) -> Consumer:
    """The ingest processor as a worker builds it, noting which worker took which batch."""
    made = processor(platform.storage)
    ((key, handler),) = made.handlers.items()

    async def noting(uow: UnitOfWork, envelope: Envelope) -> None:
        seen[str(envelope.payload["batch_id"])] = name
        await handler(uow, envelope)

    handlers: dict[str, EventHandler] = {key: noting}
    return dataclasses.replace(made, handlers=handlers)  # its prefetch and failure handler too


@pytest_asyncio.fixture
async def two_workers(platform: Platform, settings: Settings) -> AsyncIterator[dict[str, str]]:
    """Two workers, each with its own broker connection and channel; yields batch id -> worker."""
    seen: dict[str, str] = {}
    buses: list[RabbitBus] = []
    subscriptions: list[Subscription] = []
    for name in ("worker-1", "worker-2"):
        bus = make_bus(settings)  # as a worker process makes it: its own broker connection
        assert isinstance(bus, RabbitBus)
        await bus.start()
        buses.append(bus)
        consumer = worker_consumer(platform, name, seen)
        subscriptions += await start_consumers(
            bus, platform.databases["ingest"], [consumer], settings.queue_prefix
        )
    try:
        yield seen
    finally:
        for subscription in subscriptions:
            await subscription.stop()
        for bus in buses:
            await bus.close()


async def phase(platform: Platform, tenant_id: uuid.UUID, batch_id: str) -> str | None:
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        row = await repository.get_progress(uow, tenant_id, uuid.UUID(batch_id))
    return None if row is None else str(row.phase)


@pytest.mark.asyncio
async def test_batches_of_two_comuni_proceed_in_parallel_in_two_workers(
    platform: Platform, two_workers: dict[str, str], tenant: Identity, other_tenant: Identity
) -> None:
    """Both Comuni's settle locks are held (as if a batch of each were settling): one batch of each
    is sent, and both are read, judged and stored at once, each by another worker; released, each
    settles by itself."""
    data = (FIXTURES / SAMPLE).read_bytes()
    comuni = (tenant, other_tenant)
    ingest = platform.databases["ingest"]
    async with ingest.unit_of_work(tenant.tenant_id) as first:
        await first.execute(sa.text(repository_settle.SETTLE_LOCK), {"tenant_id": tenant.tenant_id})
        async with ingest.unit_of_work(other_tenant.tenant_id) as second:
            await second.execute(
                sa.text(repository_settle.SETTLE_LOCK), {"tenant_id": other_tenant.tenant_id}
            )
            envelopes = [
                await store_batch(platform, who.tenant_id, data, f"{n}.csv") for n, who in enumerate(comuni)
            ]
            ids = [str(e.payload["batch_id"]) for e in envelopes]
            await platform.bus.publish_many(
                [OutgoingMessage(e.routing_key, e.encode(), str(e.message_id)) for e in envelopes]
            )

            async def both_waiting() -> bool:
                phases = [await phase(platform, w.tenant_id, i) for w, i in zip(comuni, ids, strict=True)]
                return phases == ["waiting", "waiting"]

            await eventually(both_waiting, timeout=60)
            # Each worker holds one of them: neither waits behind the other.
            assert sorted(two_workers[i] for i in ids) == ["worker-1", "worker-2"]
        # The second Comune's lock is released (rolled back) first: its batch settles while the
        # first Comune's still waits.

        async def settled() -> bool:
            return (await batch(platform, other_tenant.tenant_id, uuid.UUID(ids[1]))).status == "completed"

        await eventually(settled, timeout=60)
        assert await phase(platform, tenant.tenant_id, ids[0]) == "waiting"
    # The first holder ended without a commit: rolled back, lock released.
    accepted = json.loads((FIXTURES / f"{SAMPLE}.expected.json").read_text())["accepted"]

    async def all_done() -> bool:
        done = [
            await batch(platform, who.tenant_id, uuid.UUID(i)) for who, i in zip(comuni, ids, strict=True)
        ]
        return all(d.status == "completed" for d in done)

    await eventually(all_done, timeout=60)
    for who, batch_id in zip(comuni, ids, strict=True):
        done = await batch(platform, who.tenant_id, uuid.UUID(batch_id))
        assert done.accepted == accepted
