"""Formats, generated files, mappings and hostile input through the real consumer and database."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from services.contracts import BatchAccepted
from services.ingest import repository
from services.ingest.models import batch_rows, debtors, positions
from services.kernel.identity import Identity
from services.platform import Platform
from tests.ingest.helpers import batch, counts, generate, process, published, store_batch, table_count
from tests.ingest.t290_sample import sample_290

GENERATED = [
    ("halley", 7, ("--title", "--totals")),
    ("utf8", 11, ("--totals",)),
    ("tsv", 3, ("--title",)),
    ("xlsx", 5, ("--title", "--totals")),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("style", "seed", "flags"), GENERATED)
async def test_generated_files_match_their_expected_outcome(
    platform: Platform, tenant: Identity, tmp_path: Path, style: str, seed: int, flags: tuple[str, ...]
) -> None:
    path, want = generate(tmp_path, style, 600, seed, *flags)
    tid = tenant.tenant_id

    envelope = await store_batch(platform, tid, path.read_bytes(), path.name)
    await process(platform, envelope)

    batch_id = uuid.UUID(envelope.payload["batch_id"])
    got = await counts(platform, tid, batch_id)
    assert got == {k: want[k] for k in got}
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        assert await repository.row_verdicts(uow, tid, batch_id) == want["row_verdicts"]


@pytest.mark.asyncio
async def test_tracciato_290_is_ingested(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    envelope = await store_batch(platform, tid, sample_290(), "ruolo.290")

    await process(platform, envelope)

    batch_id = uuid.UUID(envelope.payload["batch_id"])
    got = await counts(platform, tid, batch_id)
    assert got["data_rows"] == 4
    assert (got["accepted"], got["accepted_total_cents"], got["rejected"]) == (3, 228356, {"taxpayer": 1})
    row = await batch(platform, tid, batch_id)
    assert row.format == "t290"
    assert await table_count(platform, tid, debtors) == 2


HEADER_ONLY = b"codice_fiscale;nominativo;tributo;anno;numero_atto;importo\r\n\r\n"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (HEADER_ONLY, "solo l'intestazione"),
        (bytes(range(256)) * 100, "file binario"),
        (b"%PDF-1.4\n" + b"testo " * 100, "Il file è un documento PDF, non un elenco di crediti"),
        (
            HEADER_ONLY + b"RSSMRA80A01H501U;ROSS\x81\x8d;IMU;2024;1;10\n",
            "Codifica del file non riconosciuta",
        ),
        (HEADER_ONLY + b"x" * (10 * 1024 * 1024) + b"\n", "supera la lunghezza massima"),
    ],
    ids=["header-only", "binary", "pdf", "undecodable", "10MB-line"],
)
async def test_hostile_files_fail_in_italian_with_nothing_committed(
    platform: Platform, tenant: Identity, data: bytes, message: str
) -> None:
    tid = tenant.tenant_id
    envelope = await store_batch(platform, tid, data, "ostile.csv")

    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert row.status == "failed"
    assert message in row.error
    for table in (batch_rows, positions, debtors):
        assert await table_count(platform, tid, table) == 0
    assert await published(platform, tid, BatchAccepted.routing_key()) == []


@pytest.mark.asyncio
async def test_a_bad_line_after_thousands_of_good_rows_commits_nothing(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    good = "".join(f"00000010215;ALFA;IMU;2024;A/{n};{n + 1},00\n" for n in range(12_000))
    data = HEADER_ONLY + good.encode() + b"y" * 100_000 + b"\n"
    envelope = await store_batch(platform, tid, data, "lungo.csv")

    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert (row.status, row.data_rows) == ("failed", 0)
    assert "riga 12003" in row.error
    for table in (batch_rows, positions, debtors):
        assert await table_count(platform, tid, table) == 0


@pytest.mark.asyncio
async def test_a_nul_character_far_into_the_file_fails_it_with_its_line(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    good = "".join(f"00000010215;ALFA;IMU;2024;A/{n};{n + 1},00\n" for n in range(12_000))
    data = HEADER_ONLY + good.encode() + b"00000010215;AL\x00FA;IMU;2024;B/1;5,00\n"
    envelope = await store_batch(platform, tid, data, "nul.csv")

    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert (row.status, row.data_rows) == ("failed", 0)
    assert "Riga 12003" in row.error and "NUL" in row.error
    for table in (batch_rows, positions, debtors):
        assert await table_count(platform, tid, table) == 0


@pytest.mark.asyncio
async def test_warnings_are_recorded_per_row(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    data = (
        b"codice_fiscale;nominativo;tributo;anno;numero_atto;importo;telefono;email;indirizzo;cap;comune;data notifica\n"
        b"RSSMRA80A01H501U;ROSSI MARIO;IMU;2024;1;10,00;347 1234567;m@example.it;VIA ROMA 1;00100;ROMA;15/01/2025\n"
        b"RSSMRA80A01H501U;=HYPERLINK(1);IMU;2019;2;10,00;n.d.;posta@;VIA ROMA 1;;ROMA;10/03/2020\n"
    )
    envelope = await store_batch(platform, tid, data, "avvisi.csv")
    await process(platform, envelope)
    batch_id = uuid.UUID(envelope.payload["batch_id"])

    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        rows = await repository.list_rows(uow, tid, batch_id)
    assert [r.verdict for r in rows] == ["accepted", "accepted"]
    assert [list(r.warnings) for r in rows] == [[], ["phone", "email", "address", "limitation", "formula"]]
    assert (rows[0].phone, rows[0].email) == ("+393471234567", "m@example.it")
    assert (await batch(platform, tid, batch_id)).warnings == 1


UNKNOWN_HEADER = "Contribuente CF;Entrata;Anno;Protocollo;Da pagare;Note\n"


@pytest.mark.asyncio
async def test_unrecognised_header_waits_for_a_mapping(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    data = (UNKNOWN_HEADER + "RSSMRA80A01H501U;IMU;2024;P-1;10,00;x\n").encode()
    envelope = await store_batch(platform, tid, data, "strano.csv")

    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert row.status == "needs_mapping"
    assert row.layout["header"] == UNKNOWN_HEADER.strip().split(";")
    assert row.layout["proposal"] == {"revenue_type": 1, "year": 2}
    assert row.layout["sample"] == [["RSSMRA80A01H501U", "IMU", "2024", "P-1", "10,00", "x"]]
    assert await table_count(platform, tid, positions) == 0


@pytest.mark.asyncio
async def test_ambiguous_header_waits_for_a_mapping(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    data = b"CF;Codice fiscale;Tributo;Anno;Atto;Importo\nRSSMRA80A01H501U;RSSMRA80A01H501U;IMU;2024;1;10\n"
    envelope = await store_batch(platform, tid, data, "doppio.csv")

    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert (row.status, row.layout["ambiguous"]) == ("needs_mapping", ["taxpayer"])


@pytest.mark.asyncio
async def test_saved_mapping_is_applied_to_the_same_header(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    tid = tenant.tenant_id
    columns = {"taxpayer": 0, "revenue_type": 1, "year": 2, "act_number": 3, "amount": 4}
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        header = UNKNOWN_HEADER.strip().split(";")
        from services.ingest.domain_mapping import header_signature

        await repository.save_mapping(uow, tid, header_signature(header), header, columns, "test")
        await uow.commit()
    data = ("Elenco\n" + UNKNOWN_HEADER.upper() + "RSSMRA80A01H501U;IMU;2024;P-1;10,00;x\n").encode()

    mine = await store_batch(platform, tid, data, "strano.csv")
    theirs = await store_batch(platform, other_tenant.tenant_id, data, "strano.csv")
    await process(platform, mine)
    await process(platform, theirs)

    got = await counts(platform, tid, uuid.UUID(mine.payload["batch_id"]))
    assert (got["accepted"], got["accepted_total_cents"], got["header_line"]) == (1, 1000, 2)
    other = await batch(platform, other_tenant.tenant_id, uuid.UUID(theirs.payload["batch_id"]))
    assert other.status == "needs_mapping"


def _zip_bomb() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(48):
                member.write(b"\0" * (1024 * 1024))
    return buffer.getvalue()


@pytest.mark.asyncio
async def test_xlsx_zip_bomb_fails_without_being_opened(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    envelope = await store_batch(platform, tid, _zip_bomb(), "bomba.xlsx")

    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert row.status == "failed"
    assert "zip bomb" in row.error
    assert await table_count(platform, tid, batch_rows) == 0


@pytest.mark.asyncio
async def test_hundred_thousand_rows_end_to_end(platform: Platform, tenant: Identity, tmp_path: Path) -> None:
    path, want = generate(tmp_path, "halley", 100_000, 42, "--title", "--totals")
    tid = tenant.tenant_id

    envelope = await store_batch(platform, tid, path.read_bytes(), path.name)
    await process(platform, envelope)

    batch_id = uuid.UUID(envelope.payload["batch_id"])
    got = await counts(platform, tid, batch_id)
    assert got == {k: want[k] for k in got}
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        assert await repository.row_verdicts(uow, tid, batch_id) == want["row_verdicts"]
        assert await repository.position_totals(uow, tid) == (want["accepted"], want["accepted_total_cents"])
    [accepted] = await published(platform, tid, BatchAccepted.routing_key())
    assert accepted.payload["accepted"] == want["accepted"]


@pytest.mark.asyncio
async def test_progress_is_visible_before_the_batch_commits(
    platform: Platform, tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.ingest import pipeline
    from tests.conftest import service_client

    monkeypatch.setattr(pipeline, "PROGRESS_EVERY_ROWS", 5000)
    tid = tenant.tenant_id
    good = "".join(f"00000010215;ALFA;IMU;2024;P/{n};{n + 1},00\n" for n in range(12_000))
    envelope = await store_batch(platform, tid, HEADER_ONLY + good.encode(), "progresso.csv")
    batch_id = uuid.UUID(envelope.payload["batch_id"])
    async with service_client(platform, "ingest", tenant) as client:
        waiting = await client.get(f"/t/{tenant.tenant_slug}/ingest/batches/{batch_id}")
        async with platform.databases["ingest"].unit_of_work(tid) as uow:
            await repository.set_progress(uow, tid, batch_id, 5000, "reading")
            await uow.commit()
        reading = await client.get(
            f"/t/{tenant.tenant_slug}/ingest/batches/{batch_id}", headers={"HX-Request": "true"}
        )

    await process(platform, envelope)

    assert "righe elaborate" not in waiting.text
    assert "Lettura e controllo delle righe:\n     5.000 righe elaborate." in reading.text
    async with platform.databases["ingest"].unit_of_work(tid) as uow:
        progress = await repository.get_progress(uow, tid, batch_id)
    assert (progress.rows, progress.phase) == (12_000, "registering")
    assert (await batch(platform, tid, batch_id)).accepted == 12_000


@pytest.mark.asyncio
async def test_header_with_no_known_name_is_offered_for_mapping(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    data = b"Elenco\nC1;C2;C3;C4;C5\nRSSMRA80A01H501U;IMU;2024;1;10,00\n"
    envelope = await store_batch(platform, tid, data, "anonimo.csv")

    await process(platform, envelope)

    row = await batch(platform, tid, uuid.UUID(envelope.payload["batch_id"]))
    assert (row.status, row.layout["header_line"], row.layout["proposal"]) == ("needs_mapping", 2, {})
    assert row.layout["sample"] == [["RSSMRA80A01H501U", "IMU", "2024", "1", "10,00"]]
