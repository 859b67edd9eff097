"""Many rows at once (`UnitOfWork.insert_many`, and so the outbox of a large publish): copied into a
temporary table, inserted in one statement, under the tenant's row-level security."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.contracts import BatchReceived
from services.kernel.db import MANY_ROWS
from services.kernel.envelope import Envelope
from services.platform import Platform


def events(tenant_id: uuid.UUID, count: int) -> list[Envelope]:
    return [BatchReceived(batch_id=str(uuid.uuid4())).envelope(tenant_id) for _ in range(count)]


@pytest.mark.asyncio
async def test_a_large_publish_keeps_every_event_in_order(platform: Platform) -> None:
    tenant_id = uuid.uuid4()
    sent = events(tenant_id, MANY_ROWS + 50)
    db = platform.databases["ingest"]
    async with db.unit_of_work(tenant_id) as uow:
        await uow.publish(sent[:MANY_ROWS])
        await uow.publish(sent[MANY_ROWS:])  # a small one: the usual path
        await uow.publish(events(tenant_id, MANY_ROWS))  # a second large one in the same transaction
        await uow.commit()
    async with db.unit_of_work(tenant_id) as uow:
        rows = (
            await uow.execute(
                sa.text("SELECT message_id, body FROM ingest.outbox WHERE tenant_id = :t ORDER BY id"),
                {"t": tenant_id},
            )
        ).all()
    assert len(rows) == 2 * MANY_ROWS + 50
    assert [r.message_id for r in rows[: len(sent)]] == [e.message_id for e in sent]
    assert Envelope.decode(bytes(rows[0].body)).payload == sent[0].payload
    async with db.unit_of_work(tenant_id) as uow:  # never relayed: no batch stands behind them
        await uow.execute(
            sa.text("UPDATE ingest.outbox SET sent_at = now() WHERE tenant_id = :t"), {"t": tenant_id}
        )
        await uow.commit()


@pytest.mark.asyncio
async def test_rows_of_another_comune_are_refused(platform: Platform) -> None:
    tenant_id, other = uuid.uuid4(), uuid.uuid4()
    db = platform.databases["ingest"]
    with pytest.raises(Exception, match="row-level security"):
        async with db.unit_of_work(tenant_id) as uow:
            await uow.publish(events(other, MANY_ROWS))
