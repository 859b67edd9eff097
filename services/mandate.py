"""The end of a mandate in every service: the Comune's closure, and the erasure of its personal data.

`MandateClosed` records the closure (the service's views then refuse every change, see
`kernel.web.endpoint`); a service with something the Comune must keep exports it first (an
`Exporter`, the payments service's package). `ErasureRequested` erases: first the stored objects
(their list, sizes and SHA-256 saved beforehand in a transaction of its own, so a retried erasure
still reports them), then, in the handler's transaction, every row of the Comune in every table of
the service's schema but the few settings `Erasure.keep` names (none holds personal data), each
table's count and the SHA-256 of its erased keys returned by the DELETE itself. The closure row
stays with `erased_at` set: from then on the service drops every event of that Comune
(`kernel.messaging`), so a late event cannot bring its data back. The report goes out as the
service's `TenantErased` for the certificate (reporting).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

import services.repository_mandate as store
from services.contracts_mandate import ERASED_EVENTS, ErasureRequested, MandateClosed
from services.kernel.db import Database, UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.messaging import Consumer
from services.kernel.storage import ObjectNotFound, ObjectStorage

log = logging.getLogger(__name__)
record_closure = store.record_closure
# An exporter writes the service's part of the handover package when the mandate closes.
Exporter = Callable[[UnitOfWork, uuid.UUID, ObjectStorage], Awaitable[None]]


@dataclass(frozen=True)
class Erasure:
    """What a service erases: every table of `metadata` with a `tenant_id` but those in `keep`, and
    the stored objects under `tenants/<id>/<prefix>/` for each of `prefixes`."""

    service: str
    metadata: sa.MetaData
    prefixes: tuple[str, ...]
    keep: frozenset[str] = field(default_factory=frozenset)

    def tables(self) -> list[sa.Table]:
        """The erased tables, children before the tables they refer to."""
        return [
            t
            for t in reversed(self.metadata.sorted_tables)
            if "tenant_id" in t.c and t.name not in self.keep and t.name != "tenant_closures"
        ]


async def erase(
    uow: UnitOfWork, db: Database, storage: ObjectStorage, tenant_id: uuid.UUID, spec: Erasure
) -> dict[str, Any]:
    """Erase the Comune's objects and rows (in `uow`, which the caller commits) and return the
    report, also written to the outbox as the service's `TenantErased`."""
    objects = await _object_manifest(db, storage, tenant_id, spec)
    for item in objects:
        await storage.delete(tenant_id, item["key"])
    await store.allow_access_log_erasure(uow, tenant_id)
    tables = [await store.erase_table(uow, table, tenant_id) for table in spec.tables()]
    erased_at = datetime.now(UTC)
    await store.mark_erased(uow, tenant_id, erased_at)
    summary = objects_summary(objects)
    report: dict[str, Any] = {
        "service": spec.service,
        "erased_at": erased_at.isoformat(),
        "tables": tables,
        "objects": summary,
    }
    event = ERASED_EVENTS[spec.service](
        service=spec.service,
        erased_at=erased_at.isoformat(),
        tables=json.dumps(tables, sort_keys=True),
        objects=json.dumps(summary, sort_keys=True),
    )
    await uow.publish([event.envelope(tenant_id, uow.correlation_id)])
    log.info(
        "personal data of a Comune erased",
        extra={"fields": {"service": spec.service, "rows": sum(t["rows"] for t in tables)}},
    )
    return report


def objects_summary(objects: list[dict[str, Any]]) -> dict[str, Any]:
    lines = "".join(
        f"{o['key']} {o['size']} {o['sha256']}\n" for o in sorted(objects, key=lambda o: o["key"])
    )
    return {
        "count": len(objects),
        "bytes": sum(int(o["size"]) for o in objects),
        "sha256": hashlib.sha256(lines.encode()).hexdigest(),
    }


async def _object_manifest(
    db: Database, storage: ObjectStorage, tenant_id: uuid.UUID, spec: Erasure
) -> list[dict[str, Any]]:
    """The Comune's stored objects, listed once and saved before any is deleted."""
    async with db.unit_of_work(tenant_id, aside=True) as aside:
        await store.record_closure(aside, tenant_id)
        saved = await store.saved_manifest(aside, tenant_id)
        if saved is not None:
            return saved
        manifest = []
        for prefix in spec.prefixes:
            for key in await storage.keys(tenant_id, prefix):
                try:
                    found = await storage.head(tenant_id, key)
                except ObjectNotFound:
                    continue
                manifest.append({"key": key, "size": found.size, "sha256": found.sha256})
        await store.save_manifest(aside, tenant_id, manifest)
        await aside.commit()
        return manifest


def mandate_consumer(
    ctx_db: Database, storage: ObjectStorage, spec: Erasure, exporter: Exporter | None = None
) -> Consumer:
    """`<service>.mandate`: the closure (and the service's export), then the erasure."""

    async def on_closed(uow: UnitOfWork, envelope: Envelope) -> None:
        MandateClosed.from_envelope(envelope)
        await store.record_closure(uow, envelope.tenant_id)
        if exporter is not None:
            await exporter(uow, envelope.tenant_id, storage)

    async def on_erasure(uow: UnitOfWork, envelope: Envelope) -> None:
        ErasureRequested.from_envelope(envelope)
        closure = await uow.closure()
        if closure is not None and closure.erased_at is not None:
            return  # erased already (the request was sent twice)
        await erase(uow, ctx_db, storage, envelope.tenant_id, spec)

    return Consumer(
        name=f"{spec.service}.mandate",
        handlers={MandateClosed.routing_key(): on_closed, ErasureRequested.routing_key(): on_erasure},
    )
