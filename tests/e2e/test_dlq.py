"""`riscossa dlq list|show|replay`, run as the command it is, against RabbitMQ: a batch whose
processing failed at every attempt is dead-lettered and marked failed; replayed, it is processed."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from services.ingest import repository
from services.ingest.consumers import processor
from services.ingest.handlers import INTERNAL_ERROR
from services.kernel.bus import OutgoingMessage
from services.kernel.bus_rabbit import RabbitBus
from services.kernel.identity import Identity
from services.kernel.messaging import inbox_handler
from services.kernel.storage import ObjectStorage
from services.platform import Platform
from tests.conftest import eventually
from tests.ingest.helpers import batch, store_batch
from tests.support import ROOT, process_env


class _Flaky:
    """The real storage, except that downloads fail while `broken`."""

    def __init__(self, storage: ObjectStorage) -> None:
        self.storage, self.broken = storage, True

    def __getattr__(self, name: str) -> object:
        return getattr(self.storage, name)

    async def stream(self, tenant_id: uuid.UUID, key: str) -> AsyncIterator[bytes]:
        if self.broken:
            raise RuntimeError("storage down")
        async for chunk in self.storage.stream(tenant_id, key):
            yield chunk


async def riscossa(platform: Platform, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        env=process_env(platform.settings),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


async def audited(platform: Platform, tenant_id: uuid.UUID, action: str) -> list[dict[str, object]]:
    async with platform.databases["gateway"].unit_of_work(tenant_id) as uow:
        rows = await uow.execute(
            sa.text("SELECT detail FROM gateway.audit_log WHERE tenant_id = :t AND action = :a"),
            {"t": tenant_id, "a": action},
        )
        return [dict(r.detail) for r in rows]


@pytest.mark.asyncio
async def test_a_dead_lettered_batch_is_listed_shown_and_processed_when_replayed(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    assert isinstance(platform.bus, RabbitBus)
    storage = _Flaky(platform.storage)
    consumer = processor(storage)  # type: ignore[arg-type]
    queue = consumer.queue(platform.settings.queue_prefix)
    await platform.bus.purge(queue.name)
    subscription = await platform.bus.consume(queue, inbox_handler(platform.databases["ingest"], consumer))
    try:
        envelope = await store_batch(
            platform,
            tid,
            b"codice_fiscale;tributo;anno;numero_atto;importo\n00000010215;IMU;2024;A/1;10,00\n",
            "a.csv",
        )
        batch_id = uuid.UUID(str(envelope.payload["batch_id"]))
        await platform.bus.publish_many(
            [OutgoingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id))]
        )

        async def failed() -> bool:
            row = await batch(platform, tid, batch_id)
            return bool(row.status == "failed" and row.error == INTERNAL_ERROR)

        await eventually(failed, timeout=30)
        listed = await riscossa(platform, "dlq", "list")
        assert any(line.split() == ["ingest.processor", "1"] for line in listed.splitlines())
        shown = await riscossa(platform, "dlq", "show", "ingest.processor", "--payload")
        assert str(envelope.message_id) in shown and str(batch_id) in shown and "storage down" in shown
        assert [d["consumer"] for d in await audited(platform, tid, "dlq_read")] == ["ingest.processor"]

        storage.broken = False
        replayed = await riscossa(platform, "dlq", "replay", "ingest.processor")
        assert "1 replayed" in replayed

        async def completed() -> bool:
            return bool((await batch(platform, tid, batch_id)).status == "completed")

        await eventually(completed, timeout=30)
        async with platform.databases["ingest"].unit_of_work(tid) as uow:
            assert (await repository.position_totals(uow, tid))[0] == 1
        [entry] = await audited(platform, tid, "dlq_replay")
        assert entry["messages"] == [str(envelope.message_id)]
        assert await platform.bus.dead_letters(queue.name) == []
        unknown = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            "dlq",
            "show",
            "nessuno",
            env=process_env(platform.settings),
            cwd=ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await unknown.communicate()
        assert unknown.returncode != 0 and "ingest.processor" in err.decode()
    finally:
        await subscription.stop()
        await platform.bus.purge(queue.name)
