"""Processes that die at the worst moment, run as subprocesses by test_outbox_inbox.py.

`outbox TENANT`: commits a state change with its outbox row, then dies before any publish.
`inbox TENANT QUEUE KEY`: consumes one message, commits the handler's effect, then dies before the ack.

Both use the reporting service's outbox and inbox: it publishes no events of its own, so its outbox
holds only these tests' rows.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from services.contracts import BatchReceived
from services.kernel.bus import IncomingMessage, QueueSpec
from services.kernel.bus_rabbit import RabbitBus
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.messaging import Consumer, inbox_handler
from services.kernel.settings import Settings
from services.platform import Platform

CONSUMER = "kernel-test.crash"


async def effect(uow: UnitOfWork, envelope: Envelope) -> None:
    """The handler's visible effect: a follow-up event in the outbox (would appear twice if re-run)."""
    await uow.publish(
        [BatchReceived(batch_id=f"effect-of-{envelope.message_id}").envelope(envelope.tenant_id)]
    )


def consumer(routing_key: str) -> Consumer:
    return Consumer(CONSUMER, {routing_key: effect})


async def outbox(tenant_id: uuid.UUID) -> None:
    platform = await Platform.open(Settings.from_env())
    db = platform.databases["reporting"]
    async with db.unit_of_work(tenant_id) as uow:
        await uow.publish([BatchReceived(batch_id="committed-then-crashed").envelope(tenant_id)])
        await uow.commit()
    os._exit(3)


async def inbox(queue: str, routing_key: str) -> None:
    settings = Settings.from_env()
    platform = await Platform.open(settings)
    handler = inbox_handler(platform.databases["reporting"], consumer(routing_key))
    bus = platform.bus
    assert isinstance(bus, RabbitBus)

    async def handle_then_die(message: IncomingMessage) -> None:
        await handler(message)
        os._exit(4)

    await bus.consume(QueueSpec(queue, (routing_key,)), handle_then_die)
    await asyncio.sleep(30)
    os._exit(5)


if __name__ == "__main__":
    if sys.argv[1] == "outbox":
        asyncio.run(outbox(uuid.UUID(sys.argv[2])))
    else:
        asyncio.run(inbox(sys.argv[2], sys.argv[3]))
