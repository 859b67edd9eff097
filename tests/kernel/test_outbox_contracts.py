"""The end-of-run check that every outbox row holds its contract, shown to catch what it must."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.contracts import MAX_POSITIONS_PER_EVENT, PositionFact, PositionsRegistered
from services.kernel.envelope import Envelope
from services.platform import Platform
from tests.contracts_check import outbox_violations


def fact(n: int) -> dict[str, object]:
    position = PositionFact(
        str(uuid.uuid4()), str(uuid.uuid4()), "RSSMRA80A01H501U", "ROSSI", "IMU", 2024, str(n), 100
    )
    return position.__dict__


def body(positions: list[dict[str, object]], tenant: uuid.UUID) -> bytes:
    payload = {"batch_id": str(uuid.uuid4()), "chunk": 1, "chunks": 1, "positions": positions}
    return Envelope(PositionsRegistered.TYPE, PositionsRegistered.VERSION, tenant, payload).encode()


@pytest.mark.asyncio
async def test_outbox_rows_that_break_their_contract_are_found(database_url: str, platform: Platform) -> None:
    tenant = uuid.uuid4()
    engine = create_async_engine(database_url)
    insert = sa.text(
        "INSERT INTO payments.outbox (message_id, tenant_id, routing_key, body) VALUES (:m, :t, :k, :b)"
    )
    key = PositionsRegistered.routing_key()
    wrong_type = fact(2) | {"amount_cents": "100"}
    cases = {
        "ok": body([fact(1)], tenant),
        "too many facts": body([fact(n) for n in range(MAX_POSITIONS_PER_EVENT + 1)], tenant),
        "amount as text": body([wrong_type], tenant),
        "not an envelope": b"{}",
    }
    try:
        async with engine.connect() as conn, conn.begin() as transaction:
            ids = {}
            for case, raw in cases.items():
                ids[case] = uuid.uuid4()
                await conn.execute(insert, {"m": ids[case], "t": tenant, "k": key, "b": raw})
            found = {m: why for _, m, why in await outbox_violations(conn)}
            await transaction.rollback()
    finally:
        await engine.dispose()
    assert str(ids["ok"]) not in found
    assert "at most 500 positions" in found[str(ids["too many facts"])]
    assert "amount_cents must be int" in found[str(ids["amount as text"])]
    assert str(ids["not an envelope"]) in found
