"""`riscossa dlq list|show|replay <consumer>`: the consumers' dead-letter queues, for operations.

A message lands there after its last failed attempt (`kernel.bus.settle_verdict`). `show` prints
each one's envelope (event, Comune, correlation id, attempts, error) and, with `--payload`, its
content; `replay` puts them back on the consumer's queue as first attempts, and the consumer handles
them again (the inbox keeps a message it had already handled from having a second effect; a batch
marked failed when its message was dead-lettered is processed again). Reading a payload and
replaying are recorded in the gateway's audit log, under each Comune concerned.
"""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from gateway import repository_audit
from services.kernel.bus import ATTEMPT_HEADER, ERROR_HEADER, IncomingMessage
from services.kernel.envelope import Envelope, UndecodableMessage
from services.platform import Platform


class UnknownConsumer(ValueError):
    pass


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    routing_key: str
    tenant_id: uuid.UUID | None
    correlation_id: str
    attempts: str
    error: str
    payload: dict[str, object] | None

    @classmethod
    def of(cls, message: IncomingMessage) -> DeadLetter:
        try:
            envelope: Envelope | None = Envelope.decode(message.body)
        except UndecodableMessage:
            envelope = None
        return cls(
            message.message_id,
            message.routing_key,
            envelope.tenant_id if envelope else None,
            envelope.correlation_id if envelope else "",
            message.headers.get(ATTEMPT_HEADER, "?"),
            message.headers.get(ERROR_HEADER, ""),
            envelope.payload if envelope else None,
        )

    def lines(self, with_payload: bool) -> list[str]:
        out = [
            f"{self.message_id}  {self.routing_key}  Comune {self.tenant_id or '?'}",
            f"    correlation {self.correlation_id or '-'}, attempts {self.attempts}, error: {self.error or '-'}",
        ]
        if with_payload:
            out.append("    payload " + json.dumps(self.payload, ensure_ascii=False, sort_keys=True))
        return out


def actor() -> str:
    """Who ran the command, as the audit log names them."""
    return f"riscossa dlq ({getpass.getuser()})"


def queue_of(platform: Platform, consumer: str) -> str:
    queues = platform.queue_names()
    queue = f"{platform.settings.queue_prefix}.{consumer}"
    if queue not in queues:
        names = ", ".join(q.removeprefix(f"{platform.settings.queue_prefix}.") for q in queues)
        raise UnknownConsumer(f"unknown consumer {consumer!r}; the consumers are: {names}")
    return queue


async def listing(platform: Platform) -> list[tuple[str, int]]:
    """Each consumer with the messages in its dead-letter queue."""
    prefix = f"{platform.settings.queue_prefix}."
    return [
        (queue.removeprefix(prefix), await platform.bus.depth(f"{queue}.dlq"))
        for queue in platform.queue_names()
    ]


async def show(platform: Platform, consumer: str, with_payload: bool) -> list[DeadLetter]:
    """The consumer's dead letters (left where they are); their payloads read are audited."""
    letters = [DeadLetter.of(m) for m in await platform.bus.dead_letters(queue_of(platform, consumer))]
    if with_payload and letters:
        await _audit(platform, "dlq_read", consumer, letters)
    return letters


async def replay(platform: Platform, consumer: str, message_ids: Sequence[str] | None) -> list[DeadLetter]:
    """Put the consumer's dead letters (all, or `message_ids`) back on its queue; audited."""
    queue = queue_of(platform, consumer)
    letters = {m.message_id: DeadLetter.of(m) for m in await platform.bus.dead_letters(queue)}
    moved = await platform.bus.replay(queue, message_ids)
    replayed = [letters[m] for m in moved if m in letters]
    if replayed:
        await _audit(platform, "dlq_replay", consumer, replayed)
    return replayed


async def _audit(platform: Platform, action: str, consumer: str, letters: Sequence[DeadLetter]) -> None:
    by_tenant: dict[uuid.UUID | None, list[str]] = {}
    for letter in letters:
        by_tenant.setdefault(letter.tenant_id, []).append(letter.message_id)
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        for tenant_id, ids in by_tenant.items():
            detail = {"consumer": consumer, "messages": ids[:100], "count": len(ids)}
            await repository_audit.record(
                uow, action, actor_label=actor(), tenant_id=tenant_id, detail=detail
            )
        await uow.commit()
