"""The end of a mandate across the services, over RabbitMQ: Comune A's mandate is closed by the
firm's platform admin, its package (final relazione, payments and receipts) is downloaded, its
personal data erased by every service; the signed certificate's counts and hashes match what was
there, no personal datum of A remains in any schema or in object storage, and Comune B, with the
same kind of data, is untouched."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway import repository
from services.contact.consumers import queue_builder
from services.contracts import PositionFact, PositionsRegistered
from services.kernel.bus import IncomingMessage
from services.kernel.messaging import inbox_handler
from tests.conftest import eventually
from tests.e2e.conftest import Comune, Running
from tests.e2e.test_relazione_across import dispute, ingested, paid_and_refunded
from tests.ingest.helpers import generate

SCHEMAS = ("ingest", "contact", "payments", "reporting", "gateway")
# Rows of the closed Comune that may stay: settings and records with no personal data.
KEPT = {
    "payments.creditors", "payments.notice_numbers", "payments.plan_rules",
    "reporting.aggio_contracts", "reporting.aggio_bands", "reporting.mandates",
    "reporting.mandate_files", "reporting.mandate_erasures",
    "ingest.tenant_closures", "contact.tenant_closures", "payments.tenant_closures",
    "reporting.tenant_closures", "ingest.inbox", "contact.inbox", "payments.inbox", "reporting.inbox",
    "gateway.tenants", "gateway.memberships", "gateway.api_keys", "gateway.audit_log",
}  # fmt: skip


async def tenant_tables(engine: AsyncEngine) -> list[str]:
    query = sa.text(
        "SELECT table_schema || '.' || table_name FROM information_schema.columns"
        " WHERE column_name = 'tenant_id' AND table_schema = ANY(:s) ORDER BY 1"
    )
    async with engine.connect() as conn:
        return list((await conn.execute(query, {"s": list(SCHEMAS)})).scalars())


async def counts(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[str, int]:
    found = {}
    async with engine.connect() as conn:
        for table in await tenant_tables(engine):
            query = sa.text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t")
            found[table] = int((await conn.execute(query, {"t": tenant_id})).scalar_one())
    return found


async def personal_data(engine: AsyncEngine, tenant_id: uuid.UUID) -> set[str]:
    """The Comune's taxpayers' fiscal codes, names and contacts, as ingest holds them."""
    async with engine.connect() as conn:
        debtors = await conn.execute(
            sa.text("SELECT fiscal_code, name FROM ingest.debtors WHERE tenant_id = :t"), {"t": tenant_id}
        )
        contacts = await conn.execute(
            sa.text("SELECT value FROM ingest.contacts WHERE tenant_id = :t"), {"t": tenant_id}
        )
        values = {v for row in debtors for v in row} | {row[0] for row in contacts}
    return {v for v in values if v and len(v) >= 6}


async def everything_as_text(engine: AsyncEngine) -> list[tuple[str, str]]:
    """Every row of every table of every schema, as text (outbox bodies decoded when plain JSON)."""
    query = sa.text(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        " WHERE table_schema = ANY(:s) AND table_type = 'BASE TABLE'"
    )
    parts = []
    async with engine.connect() as conn:
        for table in (await conn.execute(query, {"s": list(SCHEMAS)})).scalars():
            rows = await conn.execute(sa.text(f"SELECT x::text FROM {table} x"))
            parts.extend((table, r[0]) for r in rows)
        bodies = await conn.execute(
            sa.text(" UNION ALL ".join(f"SELECT body FROM {s}.outbox" for s in SCHEMAS[:4]))
        )
        parts.extend(("outbox", bytes(r[0]).decode("utf-8", "replace")) for r in bodies)
    return parts


async def others_text(engine: AsyncEngine, tenant_id: uuid.UUID) -> str:
    """Every row of every other Comune as text (the suite's other tests share the database, and
    their files may hold the same names): what is found there is not A's alone."""
    parts = []
    async with engine.connect() as conn:
        for table in await tenant_tables(engine):
            query = sa.text(f"SELECT x::text FROM {table} x WHERE tenant_id IS DISTINCT FROM :t")
            parts.extend(r[0] for r in await conn.execute(query, {"t": tenant_id}))
    return "\n".join(parts)


async def erased_keys_digest(engine: AsyncEngine, tenant_id: uuid.UUID) -> str:
    """What the certificate must say of ingest.debtors: the SHA-256 of its ids, sorted, one a line."""
    async with engine.connect() as conn:
        ids = sorted(
            str(r[0])
            for r in await conn.execute(
                sa.text("SELECT id FROM ingest.debtors WHERE tenant_id = :t"), {"t": tenant_id}
            )
        )
    return hashlib.sha256("".join(f"{i}\n" for i in ids).encode()).hexdigest()


async def platform_admin(running: Running, comune: Comune) -> uuid.UUID:
    db = running.platform.databases["gateway"]
    async with db.unit_of_work(None) as uow:
        user_id = await repository.upsert_user(uow, f"{comune.slug}-firm", "Fabio Ferri (piattaforma)")
        await uow.commit()
    async with db.unit_of_work(comune.tenant_id) as uow:
        await repository.add_membership(uow, comune.tenant_id, user_id, "platform_admin")
        await uow.commit()
    return user_id


async def with_data(running: Running, comune: Comune, fixture: str | Path) -> dict[str, Any]:
    batch = await ingested(running, comune, fixture)
    await dispute(running, comune)
    collected, _ = await paid_and_refunded(running, comune, "")
    async with running.api(comune) as api:

        async def settled() -> dict[str, Any] | None:
            body: dict[str, Any] = (await api.get("/api/v1/reporting/summary")).json()
            return body if body["collected_cents"] == sum(collected.values()) else None

        await eventually(settled, timeout=60)
    return batch


async def close_and_download(running: Running, a: Comune, admin: uuid.UUID) -> bytes:
    base = f"/t/{a.slug}/reporting/mandato"
    async with await running.browser(admin, "Piattaforma") as firm:
        refused = await firm.post(f"{base}/chiusura", data={"reason": "Contratto scaduto"})
        assert refused.status_code == 400 and "Conferma la chiusura" in refused.text
        closed = await firm.post(f"{base}/chiusura", data={"reason": "Contratto scaduto", "confirm": "1"})
        assert closed.status_code == 303, closed.text
        early = await firm.post(f"{base}/cancellazione", data={"received": "1"})
        assert early.status_code == 400 and "non è ancora completo" in early.text

        async def ready() -> str | None:
            page = (await firm.get(base)).text
            return page if "package-pending" not in page and "package-file" in page else None

        page = await eventually(ready, timeout=90)
    async with running.api(a) as api:
        upload = await api.post(
            "/api/v1/ingest/batches", files={"file": ("x.csv", b"a;b\n1;2\n", "text/csv")}
        )
        assert upload.status_code == 409 and "mandato" in upload.json()["error"]
    async with await running.browser(a.staff["comune_admin"], "Ufficio") as office:
        link = page.split('href="')[1:]
        zip_url = next(p.split('"')[0] for p in link if "/mandato/consegna/" in p)
        archive = await office.get(zip_url)
        assert archive.status_code == 200, archive.text
        relazione_url = next(p.split('"')[0] for p in link if p.split('"')[0].endswith(".csv"))
        relazione = await office.get(relazione_url)
        assert relazione.status_code == 200
    return archive.content


async def a_late_event_is_dropped(running: Running, engine: AsyncEngine, a: Comune) -> None:
    """A position of A's still on its way to contact when contact erased A brings nothing back."""
    fact = PositionFact(
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        "RSSMRA80A01H501U",
        "ROSSI MARIO IN RITARDO",
        "IMU",
        2020,
        "X/1",
        1000,
    )
    event = PositionsRegistered(batch_id=str(uuid.uuid4()), chunk=0, chunks=1, positions=(fact,))
    envelope = event.envelope(a.tenant_id)
    message = IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id))
    await inbox_handler(running.platform.databases["contact"], queue_builder)(message)
    async with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM contact.debtors WHERE tenant_id = :t")
        assert (await conn.execute(query, {"t": a.tenant_id})).scalar_one() == 0


@pytest.mark.asyncio
async def test_the_end_of_a_mandate_erases_one_comune_and_certifies_it(
    running: Running, tmp_path: Path
) -> None:
    a = await running.new_comune("Comune di Chiusura")
    b = await running.new_comune("Comune di Controllo")
    # A's file is generated with a seed no other test uses: its taxpayers are in no other test's data.
    own, _ = generate(tmp_path, "utf8", 300, 271_828)
    batch_a = await with_data(running, a, own)
    await with_data(running, b, "comune-a-halley.csv")
    engine = create_async_engine(running.platform.settings.database_url)
    storage = running.platform.storage
    try:
        b_before = await counts(engine, b.tenant_id)
        b_objects = await storage.keys(b.tenant_id, "")
        elsewhere = await others_text(engine, a.tenant_id)
        secrets = {s for s in await personal_data(engine, a.tenant_id) if s not in elsewhere}
        assert len(secrets) > 50
        debtors_digest = await erased_keys_digest(engine, a.tenant_id)
        a_before = await counts(engine, a.tenant_id)
        admin = await platform_admin(running, a)

        archive = zipfile.ZipFile(io.BytesIO(await close_and_download(running, a, admin)))
        payments = list(
            csv.reader(io.StringIO(archive.read("pagamenti.csv").decode("utf-8-sig")), delimiter=";")
        )
        assert sorted(row[1] for row in payments[1:]) == ["100,00", "23,45"]
        assert {"ricevute.csv", "rimborsi.csv", "flussi.csv"} <= set(archive.namelist())

        base = f"/t/{a.slug}/reporting/mandato"
        async with await running.browser(admin, "Piattaforma") as firm:
            # Before erasing, the firm sees who took the package and what erasing does.
            before = (await firm.get(base)).text
            listed = before.split('data-testid="package-downloads"', 1)[1].split("</ul>", 1)[0]
            assert listed.count("<li>") == 2 and "pagamenti-e-ricevute.zip" in listed
            assert "relazione di scarico (CSV)" in listed
            assert 'data-testid="erase-effects"' in before and "non si può più scaricare" in before
            asked = await firm.post(f"{base}/cancellazione", data={"received": "1"})
            assert asked.status_code == 303, asked.text

            async def certified() -> bytes | None:
                answer = await firm.get(f"{base}/certificato.json")
                return answer.content if answer.status_code == 200 else None

            document = json.loads(await eventually(certified, timeout=90))
            pdf = await firm.get(f"{base}/certificato.pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
            assert "firma verificata" in (await firm.get(base)).text

        # Each handed-over file's SHA-256 reads on one line of the PDF (it wrapped mid-hash).
        printed = pypdfium2.PdfDocument(pdf.content)
        text = "".join(printed[i].get_textpage().get_text_range() for i in range(len(printed)))
        assert all(f["sha256"] in text for f in document["certificato"]["riconsegnato"])
        content = document["certificato"]
        signed = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(content["firma"]["chiave_pubblica"]))
        key.verify(base64.b64decode(document["firma"]), signed)  # raises if forged
        services = {s["servizio"]: s for s in content["servizi"]}
        assert set(services) == {"ingest", "contact", "payments", "reporting"}
        debtors = next(t for t in services["ingest"]["tabelle"] if t["tabella"] == "ingest.debtors")
        assert debtors["righe"] == a_before["ingest.debtors"] and debtors["sha256"] == debtors_digest
        assert services["ingest"]["oggetti"]["numero"] == 1  # the credit file
        assert (
            services["payments"]["righe_cancellate"]
            >= a_before["payments.payments"] + a_before["payments.positions"]
        )
        assert {f["nome"] for f in content["riconsegnato"]} >= {
            "pagamenti-e-ricevute.zip",
            "relazione-finale.pdf",
        }
        assert batch_a["accepted"] == a_before["ingest.positions"]

        # Nothing of A is left but settings, closures, inbox ids and the erasure reports sent out.
        left = {t: n for t, n in (await counts(engine, a.tenant_id)).items() if n and t not in KEPT}
        async with engine.connect() as conn:
            sent = await conn.execute(
                sa.text(
                    " UNION ALL ".join(
                        f"SELECT '{s}.outbox', routing_key FROM {s}.outbox WHERE tenant_id = :t"
                        for s in ("ingest", "contact", "payments", "reporting")
                    )
                ),
                {"t": a.tenant_id},
            )
            outboxes = list(sent)
        assert all("tenant_erased" in key or "erasure" in key or "mandate" in key for _, key in outboxes)
        assert set(left) <= {table for table, _ in outboxes}, left
        rows = await everything_as_text(engine)
        assert [(s, table, row) for table, row in rows for s in secrets if s in row] == []
        remaining = await storage.keys(a.tenant_id, "")
        assert remaining and all(k.startswith(f"tenants/{a.tenant_id}/certificato/") for k in remaining)

        await a_late_event_is_dropped(running, engine, a)

        # B is untouched: the same rows and the same objects.
        b_after = await counts(engine, b.tenant_id)
        moving = {t for t in b_before if t.endswith((".inbox", ".outbox", ".event_log", "access_log"))}
        assert {t: n for t, n in b_after.items() if t not in moving} == {
            t: n for t, n in b_before.items() if t not in moving
        }
        assert await storage.keys(b.tenant_id, "") == b_objects
    finally:
        await engine.dispose()
