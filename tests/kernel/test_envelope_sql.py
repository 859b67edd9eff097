"""Envelopes the database builds in bulk (`envelope_sql`) decode as the ones `Envelope.encode` writes."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.kernel.envelope import Envelope, envelope_params, envelope_sql
from services.platform import Platform


@pytest.mark.asyncio
async def test_envelope_built_in_sql_decodes_like_one_encoded_in_python(platform: Platform) -> None:
    tenant_id = uuid.uuid4()
    params = envelope_params("ingest.thing_done", 3, tenant_id, "corr-42")
    payload = (
        "json_build_object('n', 7, 'text', 'Cantù \"x\" \\ y', 'flag', true, 'list', json_build_array(1, 2))"
    )
    query = (
        f"SELECT message_id, {envelope_sql(payload)} AS body FROM (SELECT gen_random_uuid() AS message_id) m"
    )
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        row = (await uow.execute(sa.text(query), params)).one()

    decoded = Envelope.decode(bytes(row.body))
    reference = Envelope.decode(
        Envelope(
            "ingest.thing_done", 3, tenant_id, decoded.payload, "corr-42", row.message_id, decoded.occurred_at
        ).encode()
    )
    assert decoded == reference
    assert decoded.routing_key == params["routing_key"] == "ingest.thing_done.v3"
    assert decoded.message_id == row.message_id
    assert decoded.payload == {"n": 7, "text": 'Cantù "x" \\ y', "flag": True, "list": [1, 2]}
    assert decoded.occurred_at.tzinfo is not None
