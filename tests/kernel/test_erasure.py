"""The end of a mandate in the kernel, against the real PostgreSQL: the access log stays
append-only except for the erasure of that very Comune, a Comune under closure refuses changes,
and the erasure reports each table's count and the SHA-256 of its erased keys."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.contact.app import ERASURE
from services.kernel.storage import LocalStorage, tenant_key
from services.mandate import erase
from services.platform import Platform

INSERT_LOG = sa.text(
    "INSERT INTO contact.access_log (tenant_id, user_id, action, detail) VALUES (:t, 'u', 'view', 'RSSMRA')"
)
DELETE_LOG = sa.text("DELETE FROM contact.access_log WHERE tenant_id = :t")
ERASING = sa.text("SELECT set_config('app.erasure', :t, true)")


@pytest.mark.asyncio
async def test_the_access_log_is_erased_only_by_the_erasure_of_its_comune(platform: Platform) -> None:
    db, tenant = platform.databases["contact"], uuid.uuid4()
    async with db.unit_of_work(tenant) as uow:
        await uow.execute(INSERT_LOG, {"t": tenant})
        await uow.commit()
    for setting in (None, str(uuid.uuid4())):  # no erasure, or another Comune's
        async with db.unit_of_work(tenant) as uow:
            if setting:
                await uow.execute(ERASING, {"t": setting})
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                await uow.execute(DELETE_LOG, {"t": tenant})
    async with db.unit_of_work(tenant) as uow:
        await uow.execute(ERASING, {"t": str(tenant)})
        assert (await uow.execute(DELETE_LOG, {"t": tenant})).rowcount == 1
        await uow.commit()


@pytest.mark.asyncio
async def test_the_erasure_reports_counts_and_hashes_and_keeps_the_closure(
    platform: Platform, tmp_path: Path
) -> None:
    db, tenant, other = platform.databases["contact"], uuid.uuid4(), uuid.uuid4()
    storage = LocalStorage(tmp_path, secret="erasure-test")
    ids = sorted(str(uuid.uuid4()) for _ in range(3))
    rows = sa.text(
        "INSERT INTO contact.debtors (id, tenant_id, fiscal_code, name) VALUES (:id, :t, 'RSSMRA80A01H501U', 'X')"
    )
    for who, debtor_ids in ((tenant, ids), (other, [str(uuid.uuid4())])):
        async with db.unit_of_work(who) as uow:
            for debtor_id in debtor_ids:
                await uow.execute(rows, {"id": debtor_id, "t": who})
            await uow.commit()
        await storage.put_bytes(
            who, tenant_key(who, "contact", "evidence", "a.pdf"), b"%PDF", "application/pdf"
        )
    async with db.unit_of_work(tenant) as uow:  # the closure is recorded by `erase` if it was not
        report = await erase(uow, db, storage, tenant, ERASURE)
        await uow.commit()
    debtors = next(t for t in report["tables"] if t["table"] == "contact.debtors")
    assert debtors == {
        "table": "contact.debtors",
        "rows": 3,
        "sha256": hashlib.sha256("".join(f"{i}\n" for i in ids).encode()).hexdigest(),
    }
    assert report["objects"]["count"] == 1 and report["objects"]["bytes"] == 4
    assert await storage.keys(tenant, "") == []
    assert len(await storage.keys(other, "")) == 1
    async with db.unit_of_work(tenant) as uow:
        closure = await uow.closure()
        assert closure is not None and closure.erased_at is not None
        left = await uow.execute(sa.text("SELECT count(*) FROM contact.debtors"))
        assert left.scalar_one() == 0
    async with db.unit_of_work(other) as uow:
        assert (await uow.execute(sa.text("SELECT count(*) FROM contact.debtors"))).scalar_one() == 1
