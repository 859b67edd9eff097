"""The processor consumer against the real database and storage, on the sample files."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.contracts import (
    MAX_POSITIONS_PER_EVENT,
    BatchAccepted,
    BatchReceived,
    ContactFact,
    PositionFact,
    PositionsRegistered,
)
from services.ingest import repository, repository_events, repository_settle
from services.ingest.consumers import processor
from services.ingest.handlers import INTERNAL_ERROR
from services.kernel.bus import IncomingMessage
from services.kernel.identity import Identity
from services.kernel.messaging import inbox_handler
from services.platform import Platform
from tests.conftest import eventually, service_client
from tests.ingest.helpers import batch, ingest_file, process, published, store_batch
from tests.support import FIXTURES

SAMPLES = ["comune-c-utf8.csv", "comune-a-halley.csv", "comune-b-export.xlsx"]


def expected(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((FIXTURES / f"{name}.expected.json").read_text())


@pytest.mark.asyncio
@pytest.mark.parametrize("name", SAMPLES)
async def test_sample_file_outcome_matches_expected(platform: Platform, tenant: Identity, name: str) -> None:
    want = expected(name)
    tid = tenant.tenant_id

    batch_id = await ingest_file(platform, tid, FIXTURES / name)

    row = await batch(platform, tid, batch_id)
    assert row.status == "completed", row.error
    got = {
        "data_rows": row.data_rows,
        "accepted": row.accepted,
        "accepted_total_cents": row.accepted_total_cents,
        "duplicates": row.duplicates,
        "conflicts": row.conflicts,
        "rejected": row.rejected,
        "header_line": row.header_line,
    }
    assert got == {k: want[k] for k in got}
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        assert await repository.row_verdicts(uow, tid, batch_id) == want["row_verdicts"]
        assert await repository.position_totals(uow, tid) == (want["accepted"], want["accepted_total_cents"])
    assert row.registered == want["accepted"]
    assert await orphans(platform, tid) == {"batch_rows": 0, "positions": 0, "contacts": 0}


async def orphans(platform: Platform, tid: uuid.UUID) -> dict[str, int]:
    """Rows whose batch or debtor is missing (the bulk tables have no foreign keys: migration 0006)."""
    checks = {
        "batch_rows": "SELECT count(*) FROM ingest.batch_rows r WHERE NOT EXISTS "
        "(SELECT 1 FROM ingest.batches b WHERE b.id = r.batch_id AND b.tenant_id = r.tenant_id)",
        "positions": "SELECT count(*) FROM ingest.positions p WHERE NOT EXISTS "
        "(SELECT 1 FROM ingest.batches b WHERE b.id = p.batch_id AND b.tenant_id = p.tenant_id) OR NOT EXISTS "
        "(SELECT 1 FROM ingest.debtors d WHERE d.id = p.debtor_id AND d.tenant_id = p.tenant_id)",
        "contacts": "SELECT count(*) FROM ingest.contacts c WHERE NOT EXISTS "
        "(SELECT 1 FROM ingest.debtors d WHERE d.id = c.debtor_id AND d.tenant_id = c.tenant_id)",
    }
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        return {name: (await uow.execute(sa.text(sql))).scalar_one() for name, sql in checks.items()}


@pytest.mark.asyncio
async def test_events_carry_every_new_position_in_chunks(platform: Platform, tenant: Identity) -> None:
    want = expected("comune-a-halley.csv")
    tid = tenant.tenant_id

    await ingest_file(platform, tid, FIXTURES / "comune-a-halley.csv")

    accepted = [
        BatchAccepted.from_envelope(e) for e in await published(platform, tid, "ingest.batch_accepted.v1")
    ]
    assert len(accepted) == 1
    assert accepted[0].accepted_total_cents == want["accepted_total_cents"]
    assert accepted[0].rejected == want["rejected"]
    chunks = [
        PositionsRegistered.from_envelope(e)
        for e in await published(platform, tid, PositionsRegistered.routing_key())
    ]
    facts = [p for c in chunks for p in c.positions]
    assert len(facts) == want["accepted"]
    assert sum(p.amount_cents for p in facts) == want["accepted_total_cents"]
    assert all(len(c.positions) <= MAX_POSITIONS_PER_EVENT for c in chunks)
    assert [c.chunk for c in chunks] == list(range(1, len(chunks) + 1))
    assert {c.chunks for c in chunks} == {len(chunks)}
    # Each fact carries its debtor's grade as the batch left it (reporting's tracing result).
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        rows = await uow.execute(
            sa.text("SELECT id::text AS id, grade FROM ingest.debtors WHERE tenant_id = :t"), {"t": tid}
        )
        graded = {r.id: r.grade for r in rows}
    assert {p.debtor_id: p.debtor_grade for p in facts} == {p.debtor_id: graded[p.debtor_id] for p in facts}
    assert "phone" in {p.debtor_grade for p in facts}
    # And its act's day, the notification in the file (else the due day), from which the limitation
    # runs: ALFA S.R.L.'s TARI 2022 act 2022/78908 was notified on 28/03/2024.
    acts = {(p.fiscal_code, p.act_number): p.act_day for p in facts}
    assert acts["99445380399", "2022/78908"] == date(2024, 3, 28)
    assert all(p.act_day is not None for p in facts)


def _big_csv(rows: int) -> bytes:
    lines = ["codice_fiscale;tributo;anno;numero_atto;importo"]
    lines += [f"00000010215;IMU;2024;A/{n};{n + 1},00" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.asyncio
async def test_a_registered_credit_sent_again_with_another_amount_is_held_back(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    await process(platform, await store_batch(platform, tid, _big_csv(3), "a.csv"))
    changed = _big_csv(4).replace(b"A/1;2,00", b"A/1;2,50")

    envelope = await store_batch(platform, tid, changed, "b.csv")
    await process(platform, envelope)

    batch_id = uuid.UUID(envelope.payload["batch_id"])
    row = await batch(platform, tid, batch_id)
    assert (row.accepted, row.conflicts, row.registered) == (3, 1, 1)
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        assert await repository.position_totals(uow, tid) == (4, 100 + 200 + 300 + 400)
        [held] = await repository.list_rows(uow, tid, batch_id, "conflict")
    assert (held.row_number, held.field, held.amount_cents) == (2, "amount", 250)
    assert "già registrato" in held.reason_it
    assert held.cells == ["00000010215", "IMU", "2024", "A/1", "2,50"]


@pytest.mark.asyncio
async def test_the_big_batch_plans_give_the_same_outcome(
    platform: Platform, tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch big against the Comune's positions joins by hashing, without JIT (whose thresholds the
    disabled nested loops would pass on every statement): same verdicts, debtors and positions."""
    monkeypatch.setattr(repository_settle, "HASH_JOINS_FROM_ROWS", 1)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = platform.databases["ingest"].engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        batch_id = await ingest_file(platform, tenant.tenant_id, FIXTURES / "comune-a-halley.csv")
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)

    assert "SET LOCAL enable_nestloop = off" in statements
    assert "SET LOCAL jit = off" in statements
    row = await batch(platform, tenant.tenant_id, batch_id)
    want = expected("comune-a-halley.csv")
    assert row.status == "completed", row.error
    assert (row.data_rows, row.accepted, row.accepted_total_cents, row.duplicates, row.conflicts, row.rejected) == (
        want["data_rows"], want["accepted"], want["accepted_total_cents"], want["duplicates"], want["conflicts"],
        want["rejected"],
    )  # fmt: skip
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        positions, cents = await repository.position_totals(uow, tenant.tenant_id)
    assert (positions, cents) == (row.registered, want["accepted_total_cents"])


@pytest.mark.asyncio
async def test_more_than_500_positions_are_split(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    await process(platform, await store_batch(platform, tid, _big_csv(1201), "grande.csv"))

    chunks = [
        PositionsRegistered.from_envelope(e)
        for e in await published(platform, tid, PositionsRegistered.routing_key())
    ]
    assert [len(c.positions) for c in chunks] == [500, 500, 201]
    assert [(c.chunk, c.chunks) for c in chunks] == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.asyncio
async def test_reupload_registers_no_new_positions(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    path = FIXTURES / "comune-c-utf8.csv"
    first = await ingest_file(platform, tid, path)

    second = await ingest_file(platform, tid, path)

    again = await batch(platform, tid, second)
    assert again.status == "completed"
    assert again.accepted == expected(path.name)["accepted"]
    assert again.registered == 0
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        count, _ = await repository.position_totals(uow, tid)
    assert count == expected(path.name)["accepted"]
    events = await published(platform, tid, PositionsRegistered.routing_key())
    assert {PositionsRegistered.from_envelope(e).batch_id for e in events} == {str(first)}
    assert await orphans(platform, tid) == {"batch_rows": 0, "positions": 0, "contacts": 0}


@pytest.mark.asyncio
async def test_reupload_with_one_new_row_registers_only_that_one(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    await process(platform, await store_batch(platform, tid, _big_csv(3), "a.csv"))

    envelope = await store_batch(platform, tid, _big_csv(4), "b.csv")
    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert (row.accepted, row.registered) == (4, 1)
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        assert await repository.position_totals(uow, tid) == (4, 100 + 200 + 300 + 400)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Elenco posizioni\nnessuna colonna utile;qui\n1;2\n", "Intestazione non trovata"),
        (b"codice_fiscale;anno\nRSSMRA80A01H501U;2020\n", "Intestazione incompleta"),
        (b"PK\x03\x04 not really a workbook", "Excel"),
    ],
)
async def test_unreadable_file_fails_the_batch_without_positions(
    platform: Platform, tenant: Identity, data: bytes, message: str
) -> None:
    tid = tenant.tenant_id
    envelope = await store_batch(platform, tid, data, "rotto.csv")

    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert row.status == "failed"
    assert message in row.error
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        assert await repository.position_totals(uow, tid) == (0, 0)
    assert await published(platform, tid, BatchAccepted.routing_key()) == []


class _BrokenStorage:
    """Object storage whose downloads fail in a way no retry mends (an unexpected error)."""

    async def stream(self, tenant_id: uuid.UUID, key: str) -> AsyncIterator[bytes]:
        raise RuntimeError("disk gone")
        yield b""  # pragma: no cover


@pytest.mark.asyncio
async def test_a_batch_failing_unexpectedly_is_marked_failed_after_the_last_attempt(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    envelope = await store_batch(platform, tid, _big_csv(2), "due.csv")
    batch_id = uuid.UUID(envelope.payload["batch_id"])
    handle = inbox_handler(platform.databases["ingest"], processor(_BrokenStorage()))  # type: ignore[arg-type]
    message = IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id))

    with pytest.raises(RuntimeError, match="disk gone"):  # retried later: the batch keeps waiting
        await handle(message)
    assert (await batch(platform, tid, batch_id)).status == "received"

    with pytest.raises(RuntimeError, match="disk gone"):  # on to the dead-letter queue
        await handle(dataclasses.replace(message, attempt=3, final_attempt=True))
    row = await batch(platform, tid, batch_id)
    assert (row.status, row.error) == ("failed", INTERNAL_ERROR)
    assert row.completed_at is not None
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        assert await repository.position_totals(uow, tid) == (0, 0)
    assert await published(platform, tid, BatchAccepted.routing_key()) == []

    # Replayed from the dead-letter queue (`riscossa dlq replay`), the message has the batch
    # processed again: no attempt was taken by the inbox, every one rolled back.
    await process(platform, envelope)
    row = await batch(platform, tid, batch_id)
    assert (row.status, row.error) == ("completed", None)
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        assert (await repository.position_totals(uow, tid))[0] == 2
    # Handled once: a further delivery changes nothing.
    await process(platform, envelope)
    assert len(await published(platform, tid, BatchAccepted.routing_key())) == 1


@pytest.mark.asyncio
async def test_redelivery_is_handled_once(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    envelope = await store_batch(platform, tid, _big_csv(2), "due.csv")

    await process(platform, envelope)
    await process(platform, envelope)

    assert len(await published(platform, tid, BatchAccepted.routing_key())) == 1
    assert len(await published(platform, tid, BatchReceived.routing_key())) == 1


def test_samples_exist() -> None:
    assert all((FIXTURES / n).is_file() for n in SAMPLES)
    assert isinstance(FIXTURES, Path)


def test_event_facts_built_in_sql_have_the_contract_fields() -> None:
    assert tuple(repository_events.POSITION_FACT_SQL) == tuple(
        f.name for f in dataclasses.fields(PositionFact)
    )
    assert tuple(repository_events.CONTACT_FACT_SQL) == tuple(f.name for f in dataclasses.fields(ContactFact))


@pytest.mark.asyncio
async def test_batches_of_one_comune_settle_one_at_a_time(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    """While a batch of the Comune is settling (here: someone holds its settle lock), another one
    is read and stored but waits to settle; a batch of another Comune does not wait."""
    data = (FIXTURES / "comune-c-utf8.csv").read_bytes()
    mine = await store_batch(platform, tenant.tenant_id, data, "a.csv")
    theirs = await store_batch(platform, other_tenant.tenant_id, data, "b.csv")
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as holder:
        await holder.execute(sa.text(repository_settle.SETTLE_LOCK), {"tenant_id": tenant.tenant_id})
        for who, free in ((tenant, False), (other_tenant, True)):
            async with platform.databases["ingest"].unit_of_work(who.tenant_id) as uow:
                assert await repository_settle.settle_lock(uow, who.tenant_id, wait=False) is free
        waiting = asyncio.create_task(process(platform, mine))
        await asyncio.wait_for(process(platform, theirs), timeout=60)
        batch_id = uuid.UUID(mine.payload["batch_id"])

        async def phase() -> str | None:
            async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
                row = await repository.get_progress(uow, tenant.tenant_id, batch_id)
            return None if row is None else str(row.phase)

        async def waiting_phase() -> bool:
            return await phase() == "waiting"

        await eventually(waiting_phase)
        await asyncio.sleep(0.5)
        assert not waiting.done() and await phase() == "waiting"
        async with service_client(platform, "ingest", tenant) as client:
            page = await client.get(f"/t/{tenant.tenant_slug}/ingest/batches/{batch_id}")
        assert "In attesa che termini la registrazione di un altro file del Comune" in " ".join(
            page.text.split()
        )
    # The holder's unit of work ended without a commit: rolled back, lock released.
    await asyncio.wait_for(waiting, timeout=60)
    for who, envelope in ((tenant, mine), (other_tenant, theirs)):
        done = await batch(platform, who.tenant_id, uuid.UUID(envelope.payload["batch_id"]))
        assert (done.status, done.accepted) == ("completed", expected("comune-c-utf8.csv")["accepted"])
