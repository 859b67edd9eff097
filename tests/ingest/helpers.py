"""Shared steps for ingest tests: store a raw file as a batch and drive the processor consumer."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.contracts import BatchReceived
from services.ingest import repository
from services.ingest.consumers import processor
from services.ingest.models import outbox
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.messaging import inbox_handler
from services.kernel.storage import tenant_key
from services.platform import Platform


async def store_batch(platform: Platform, tenant_id: uuid.UUID, data: bytes, filename: str) -> Envelope:
    """What the upload handler does: raw file in storage, batch row and BatchReceived in the outbox."""
    batch_id = uuid.uuid4()
    key = tenant_key(tenant_id, "ingest", str(batch_id), "raw")
    stored = await platform.storage.put_bytes(tenant_id, key, data, "text/csv")
    envelope = BatchReceived(batch_id=str(batch_id)).envelope(tenant_id, "test")
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        await repository.insert_batch(uow, tenant_id, batch_id, filename, stored, "test-user")
        await uow.publish([envelope])
        await uow.commit()
    return envelope


async def process(platform: Platform, envelope: Envelope) -> None:
    handle = inbox_handler(platform.databases["ingest"], processor(platform.storage))
    await handle(IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id)))


async def ingest_file(platform: Platform, tenant_id: uuid.UUID, path: Path) -> uuid.UUID:
    envelope = await store_batch(platform, tenant_id, path.read_bytes(), path.name)
    await process(platform, envelope)
    return uuid.UUID(envelope.payload["batch_id"])


async def batch(platform: Platform, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> Any:
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        return await repository.get_batch(uow, tenant_id, batch_id)


async def published(platform: Platform, tenant_id: uuid.UUID, routing_key: str) -> list[Envelope]:
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        rows = await uow.execute(
            sa.select(outbox.c.body)
            .where(outbox.c.tenant_id == tenant_id, outbox.c.routing_key == routing_key)
            .order_by(outbox.c.id)
        )
        return [Envelope.decode(bytes(r.body)) for r in rows]


GEN_CREDITS = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "gen_credits.py"


def generate(folder: Path, style: str, rows: int, seed: int, *flags: str) -> tuple[Path, dict[str, Any]]:
    """A file made by the shared generator, with its expected outcome."""
    import json
    import subprocess
    import sys

    ext = "xlsx" if style == "xlsx" else "csv"
    out = folder / f"gen-{style}-{seed}-{rows}.{ext}"
    args = [sys.executable, str(GEN_CREDITS), "--style", style, "--rows", str(rows), "--seed", str(seed)]
    subprocess.run([*args, "--out", str(out), *flags], check=True, capture_output=True)
    return out, json.loads(Path(f"{out}.expected.json").read_text())


async def counts(platform: Platform, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> dict[str, Any]:
    row = await batch(platform, tenant_id, batch_id)
    assert row.status == "completed", row.error
    keys = (
        "data_rows",
        "accepted",
        "accepted_total_cents",
        "duplicates",
        "conflicts",
        "rejected",
        "header_line",
    )
    return {k: getattr(row, k) for k in keys}


async def table_count(platform: Platform, tenant_id: uuid.UUID, table: sa.Table) -> int:
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        stmt = sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
        return int((await uow.execute(stmt)).scalar_one())
