"""Envelopes with payload fields given as JSON text (`Envelope.encode_with`) decode as the ones
`Envelope.encode` writes, also when the database wrote that JSON."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.kernel.envelope import Envelope
from services.platform import Platform


@pytest.mark.asyncio
async def test_raw_json_from_the_database_decodes_like_a_payload_encoded_in_python(
    platform: Platform,
) -> None:
    tenant_id = uuid.uuid4()
    query = (
        "SELECT json_build_object('n', 7, 'text', 'Cantù \"x\" \\ y\n', 'flag', true, "
        "'list', json_build_array(1, 2), 'none', NULL)::text"
    )
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        fact = (await uow.execute(sa.text(query))).scalar_one()
    envelope = Envelope("ingest.thing_done", 3, tenant_id, {"batch_id": "b-1", "chunk": 2}, "corr-42")

    decoded = Envelope.decode(envelope.encode_with({"facts": f"[{fact},{fact}]"}))

    facts = [{"n": 7, "text": 'Cantù "x" \\ y\n', "flag": True, "list": [1, 2], "none": None}] * 2
    assert decoded == Envelope.decode(
        Envelope("ingest.thing_done", 3, tenant_id, {**envelope.payload, "facts": facts}, "corr-42",
                 envelope.message_id, envelope.occurred_at).encode()
    )  # fmt: skip
    assert decoded.payload == {"batch_id": "b-1", "chunk": 2, "facts": facts}
    assert decoded.routing_key == "ingest.thing_done.v3"


def test_raw_field_replaces_a_payload_field_of_the_same_name_and_text_that_looks_like_its_mark() -> None:
    tenant_id = uuid.uuid4()
    envelope = Envelope("x.y", 1, tenant_id, {"facts": None, "note": "raw facts"}, "c")

    decoded = Envelope.decode(envelope.encode_with({"facts": "[1, 2]"}))

    assert decoded.payload == {"facts": [1, 2], "note": "raw facts"}
    assert Envelope.decode(envelope.encode()).payload == {"facts": None, "note": "raw facts"}
