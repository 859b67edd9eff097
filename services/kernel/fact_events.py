"""Events of many facts written by the database as JSON, gathered a few hundred to an event.

A bulk import announces what it did in chunked events (`contracts.ChunkedFacts`): a million facts
are too many to decode into Python objects and encode again, so the database writes each fact as
JSON text and `publish_fact_chunks` places `size` of them in each event (`Envelope.encode_with`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage


async def publish_fact_chunks(
    uow: UnitOfWork,
    contract: Any,
    event: Envelope,
    facts: AsyncIterator[list[str]],
    total: int,
    size: int,
) -> int:
    """Write `total` facts (JSON texts, as `facts` yields them) to the outbox as events of
    `contract` (a `ChunkedFacts` class), `size` facts each, in order; returns how many events.

    `event` is the envelope of the first event with the batch id in its payload: each event is a
    copy with its own message id, its chunk number, the number of chunks and its facts. The
    contract's limit holds, and the first event is decoded by its contract class (field names and
    types): a query that drifted from the contract fails the import, never its consumers.
    """
    if not 0 < size <= contract.MOST:
        raise ValueError(f"{contract.__name__} carries 1 to {contract.MOST} facts, not {size}")
    chunks, chunk, pending = -(-total // size), 0, []
    ended = False
    while not ended:
        try:
            pending += await anext(facts)
        except StopAsyncIteration:
            ended = True
        messages = []
        whole = len(pending) if ended else len(pending) - len(pending) % size
        for start in range(0, whole, size):  # slicing the rest off each time was quadratic
            part = pending[start : start + size]
            chunk += 1
            payload = {**event.payload, "chunk": chunk, "chunks": chunks}
            envelope = replace(event, message_id=uuid.uuid4(), payload=payload)
            body = envelope.encode_with({contract.FACTS: "[" + ",".join(part) + "]"})
            if chunk == 1:
                _check(contract, body)
            messages.append((envelope, body))
        del pending[:whole]
        await uow.publish_encoded(messages)
    if chunk != chunks:
        raise RuntimeError(f"{contract.__name__}: {chunk} events written, {chunks} announced")
    return chunk


def _check(contract: Any, body: bytes) -> None:
    try:
        contract.from_envelope(Envelope.decode(body))
    except UndecodableMessage as exc:  # not the message's fault: retried, then the import fails
        raise RuntimeError(f"{contract.__name__} written by SQL breaks its contract: {exc}") from exc
