"""Rows API, error reports, column mapping in the UI and the streaming upload limit, over HTTP."""

from __future__ import annotations

import csv
import html
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from openpyxl import load_workbook

from services.contracts import BatchReceived
from services.ingest import web
from services.ingest.reader import parse_file
from services.kernel.identity import Identity
from services.kernel.web import service_app
from services.platform import Platform
from tests.conftest import service_client
from tests.ingest.helpers import batch, process, published
from tests.support import FIXTURES, identity_headers

SAMPLE = "comune-c-utf8.csv"


async def upload(platform: Platform, who: Identity, name: str, data: bytes, **fields: str) -> str:
    async with service_client(platform, "ingest", who) as client:
        response = await client.post(
            "/api/v1/ingest/batches", files={"file": (name, data, "text/csv")}, data=fields
        )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def process_pending(platform: Platform, who: Identity) -> None:
    for envelope in await published(platform, who.tenant_id, BatchReceived.routing_key()):
        await process(platform, envelope)


@pytest.mark.asyncio
async def test_rows_endpoint_filters_by_verdict(platform: Platform, tenant: Identity) -> None:
    want = json.loads((FIXTURES / f"{SAMPLE}.expected.json").read_text())
    batch_id = await upload(platform, tenant, SAMPLE, (FIXTURES / SAMPLE).read_bytes())
    await process_pending(platform, tenant)

    async with service_client(platform, "ingest", tenant) as client:
        url = f"/api/v1/ingest/batches/{batch_id}/rows"
        conflicts = (await client.get(url, params={"verdict": "conflict"})).json()
        rejected = (await client.get(url, params={"verdict": "rejected", "limit": "1000"})).json()
        first = (await client.get(url, params={"limit": "2"})).json()
        following = (await client.get(url, params={"limit": "2", "after": first["next_after"]})).json()
        bad = await client.get(url, params={"verdict": "tutto"})
    verdicts = want["row_verdicts"]
    assert [r["row_number"] for r in conflicts["rows"]] == [
        i + 1 for i, v in enumerate(verdicts) if v == "conflict"
    ]
    assert len(rejected["rows"]) == sum(want["rejected"].values())
    assert all(r["reason"] and r["field"] for r in rejected["rows"])
    assert [r["verdict"] for r in first["rows"] + following["rows"]] == verdicts[:4]
    assert bad.status_code == 400


@pytest.mark.asyncio
async def test_error_report_lists_problem_rows_neutralised_and_can_be_reuploaded(
    platform: Platform, tenant: Identity, tmp_path: object
) -> None:
    data = (
        b"codice_fiscale;nominativo;tributo;anno;numero_atto;importo\n"
        b"RSSMRA80A01H501U;ROSSI;IMU;2024;1;10,00\n"
        b'RSSMRA80A01H501A;=HYPERLINK("x");IMU;2024;2;10,00\n'
        b"00000010215;ALFA;XYZ;2024;3;5,00\n"
        b"00000010215;ALFA;TARI;2024;4;5,00\n"
        b"00000010215;ALFA;TARI;2024;4;6,00\n"
    )
    batch_id = await upload(platform, tenant, "elenco.csv", data)
    await process_pending(platform, tenant)

    base = f"/t/{tenant.tenant_slug}/ingest/batches/{batch_id}"
    async with service_client(platform, "ingest", tenant) as client:
        as_csv = await client.get(f"{base}/errors.csv")
        as_xlsx = await client.get(f"/api/v1/ingest/batches/{batch_id}/errors.xlsx")
        page = await client.get(base)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-disposition"] == 'attachment; filename="errori-elenco.csv"'
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == [
        "codice_fiscale",
        "nominativo",
        "tributo",
        "anno",
        "numero_atto",
        "importo",
        "ESITO",
        "MOTIVO",
        "RIGA_FILE",
    ]
    assert [(line[0], line[1], line[6], line[8]) for line in lines[1:]] == [
        ("RSSMRA80A01H501A", '\'=HYPERLINK("x")', "Scartata", "3"),
        ("00000010215", "ALFA", "Scartata", "4"),
        ("00000010215", "ALFA", "In conflitto", "5"),
        ("00000010215", "ALFA", "In conflitto", "6"),
    ]
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).worksheets[0]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[1][1] == '\'=HYPERLINK("x")'
    assert all(not str(v).startswith("=") for row in cells for v in row if v is not None)
    assert "errors.csv" in page.text and "errors.xlsx" in page.text
    # The report is itself an uploadable file: its header maps to the same fields.
    report = tmp_path / "errori.csv"  # type: ignore[operator]
    report.write_bytes(as_csv.content)
    assert parse_file(report, 2026).data_rows == 4


@pytest.mark.asyncio
async def test_the_page_counts_the_credits_already_time_barred(platform: Platform, tenant: Identity) -> None:
    """Those the limitation already bars (`kernel.limitation`), by their act's day or, undated, by
    their year: how many and how much, on the page and through the API, to check before working."""
    data = (
        b"codice_fiscale;nominativo;tributo;anno;numero_atto;data_notifica;importo\n"
        b"RSSMRA80A01H501U;ROSSI;IMU;2018;1;;100,00\n"  # no act day: barred with its year
        b"VRDNNA70A41H501F;VERDI;CDS;2019;2;10/01/2020;20,50\n"  # notified more than five years ago
        b"00000010215;ALFA;TARI;2020;3;16/03/2022;5,00\n"  # notified in 2022: still running
    )
    batch_id = await upload(platform, tenant, "vecchi.csv", data)
    await process_pending(platform, tenant)
    async with service_client(platform, "ingest", tenant) as client:
        page = html.unescape((await client.get(f"/t/{tenant.tenant_slug}/ingest/batches/{batch_id}")).text)
        api = (await client.get(f"/api/v1/ingest/batches/{batch_id}")).json()
    told = page.split('data-testid="barred">', 1)[1].split("</span>", 1)[0]
    assert told.startswith("di cui 2 crediti per € 120,50 già oltre il termine di prescrizione")
    assert "le righe scartate sono nel file degli errori" not in page  # none was
    assert (api["warnings"], api["time_barred"], api["time_barred_cents"]) == (2, 2, 12_050)


@pytest.mark.asyncio
async def test_the_rows_registered_with_warnings_can_be_downloaded(
    platform: Platform, tenant: Identity
) -> None:
    data = (
        b"codice_fiscale;nominativo;tributo;anno;numero_atto;importo;telefono\n"
        b"RSSMRA80A01H501U;ROSSI;IMU;2024;1;10,00;+393471234567\n"
        b"VRDNNA70A41H501F;VERDI;IMU;2024;2;10,00;12\n"
        b"00000010215;=ALFA;TARI;2024;3;5,00;\n"
        b"RSSMRA80A01H501X;NERI;IMU;2024;4;10,00;12\n"  # rejected: in the errors report, not here
    )
    batch_id = await upload(platform, tenant, "con avvisi.csv", data)
    await process_pending(platform, tenant)
    base = f"/t/{tenant.tenant_slug}/ingest/batches/{batch_id}"
    async with service_client(platform, "ingest", tenant) as client:
        page = await client.get(base)
        as_csv = await client.get(f"{base}/warnings.csv")
        as_xlsx = await client.get(f"{base}/warnings.xlsx")
    assert (
        'data-testid="warnings">2<' in page.text
        and "warnings.csv" in page.text
        and "warnings.xlsx" in page.text
    )
    assert as_csv.headers["content-disposition"] == 'attachment; filename="avvertenze-con_avvisi.csv"'
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == [
        "CODICE_FISCALE",
        "NOMINATIVO",
        "TRIBUTO",
        "ANNO",
        "NUMERO_ATTO",
        "IMPORTO",
        "ESITO",
        "AVVERTENZE",
        "RIGA_FILE",
    ]
    assert [line[:6] + line[-2:] for line in lines[1:]] == [
        ["VRDNNA70A41H501F", "VERDI", "IMU", "2024", "2", "10,00", "Telefono non utilizzabile: «12».", "3"],
        [
            "00000010215",
            "'=ALFA",
            "TARI",
            "2024",
            "3",
            "5,00",
            "Testo che inizia con = + - @: neutralizzato nelle esportazioni.",
            "4",
        ],
    ]
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).worksheets[0]
    assert sheet.title == "Righe con avvertenze" and len(list(sheet.iter_rows())) == 3


@pytest.mark.asyncio
async def test_mapping_is_previewed_corrected_confirmed_and_remembered(
    platform: Platform, tenant: Identity
) -> None:
    data = b"Contribuente CF;Entrata;Anno;Protocollo;Da pagare\nRSSMRA80A01H501U;IMU;2024;P-1;10,00\n"
    batch_id = await upload(platform, tenant, "strano.csv", data)
    await process_pending(platform, tenant)
    base = f"/t/{tenant.tenant_slug}/ingest/batches/{batch_id}"
    incomplete = {
        "csrf_token": "t",
        "col_0": "taxpayer",
        "col_1": "revenue_type",
        "col_2": "year",
        "col_4": "amount",
    }
    complete = {**incomplete, "col_3": "act_number"}
    htmx = {"HX-Request": "true"}

    async with service_client(platform, "ingest", tenant) as client:
        page = await client.get(base)
        partial = await client.post(f"{base}/mapping/preview", data=incomplete, headers=htmx)
        preview = await client.post(f"{base}/mapping/preview", data=complete, headers=htmx)
        refused = await client.post(f"{base}/mapping", data=incomplete, headers=htmx)
        still = (await client.get(f"/api/v1/ingest/batches/{batch_id}")).json()
        confirmed = await client.post(f"{base}/mapping", data=complete, headers=htmx)
    assert 'name="col_3"' in page.text and "Conferma e carica" in page.text
    assert "Mancano ancora: Numero atto." in partial.text
    assert "€ 10,00" in preview.text and "RSSMRA80A01H501U" in preview.text
    assert refused.status_code == 400
    assert "mancano numero atto" in refused.text
    assert still["status"] == "needs_mapping"
    assert still["mapping"]["proposal"] == {"revenue_type": 1, "year": 2}
    assert confirmed.status_code == 204
    assert confirmed.headers["HX-Redirect"] == base

    await process_pending(platform, tenant)
    done = await batch(platform, tenant.tenant_id, uuid.UUID(batch_id))
    assert (done.status, done.accepted, done.accepted_total_cents) == ("completed", 1, 1000)

    # The same header again, through the API: the saved mapping is applied without asking.
    again = await upload(platform, tenant, "ancora.csv", data.replace(b"P-1", b"P-2"))
    await process_pending(platform, tenant)
    second = await batch(platform, tenant.tenant_id, uuid.UUID(again))
    assert (second.status, second.registered) == ("completed", 1)


@pytest.mark.asyncio
async def test_api_mapping_leaving_a_required_field_unmapped_is_refused(
    platform: Platform, tenant: Identity
) -> None:
    data = b"Contribuente CF;Entrata;Anno;Protocollo;Da pagare\nRSSMRA80A01H501U;IMU;2024;P-1;10,00\n"
    batch_id = await upload(platform, tenant, "strano.csv", data)
    await process_pending(platform, tenant)
    url = f"/api/v1/ingest/batches/{batch_id}/mapping"

    async with service_client(platform, "ingest", tenant) as client:
        refused = await client.post(
            url, json={"columns": {"taxpayer": 0, "revenue_type": 1, "year": 2, "act_number": 3}}
        )
        accepted = await client.post(
            url, json={"columns": {"taxpayer": 0, "revenue_type": 1, "year": 2, "act_number": 3, "amount": 4}}
        )
        twice = await client.post(url, json={"columns": {"taxpayer": 0}})
    assert refused.status_code == 400
    assert refused.json()["error"].startswith(
        "Associa una colonna a ogni campo obbligatorio: mancano importo"
    )
    assert accepted.status_code == 202
    assert twice.status_code == 409


@pytest.mark.asyncio
async def test_encoding_and_sheet_choices_reach_the_processor(platform: Platform, tenant: Identity) -> None:
    data = (
        "codice_fiscale;nominativo;tributo;anno;numero_atto;importo\nRSSMRA80A01H501U;CAFFÈ;IMU;2024;1;10\n"
    )
    batch_id = await upload(platform, tenant, "latin.csv", data.encode("cp1252"), encoding="iso-8859-1")
    async with service_client(platform, "ingest", tenant) as client:
        bad = await client.post(
            "/api/v1/ingest/batches", files={"file": ("a.csv", b"x", "text/csv")}, data={"encoding": "ebcdic"}
        )
    await process_pending(platform, tenant)
    row = await batch(platform, tenant.tenant_id, uuid.UUID(batch_id))
    assert (row.status, row.encoding, row.requested_encoding) == ("completed", "ISO-8859-1", "iso-8859-1")
    assert bad.status_code == 400 and bad.json()["field"] == "encoding"


@pytest.mark.asyncio
async def test_upload_limit_is_enforced_while_streaming(platform: Platform, tenant: Identity) -> None:
    limit = 256 * 1024
    context = platform.context("ingest")
    app = service_app(
        replace(context, settings=replace(context.settings, max_upload_bytes=limit)), web.routes()
    )
    sent = 0
    boundary = "confine"

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="enorme.csv"\r\n\r\n'
        yield head.encode()
        for _ in range(10_000):  # would be 640 MB if it were all read
            sent += 64 * 1024
            yield b"x" * (64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {
        **identity_headers(platform.signer, tenant),
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://service.test"
    ) as client:
        response = await client.post("/api/v1/ingest/batches", content=body(), headers=headers)
        declared = await client.post(
            "/api/v1/ingest/batches", content=b"", headers={**headers, "Content-Length": str(2 * 1024**3)}
        )
    assert response.status_code == 413
    assert response.json()["error"] == "Il file supera la dimensione massima di 256 KB."
    assert sent < 2 * limit
    assert declared.status_code == 413
    assert await published(platform, tenant.tenant_id, BatchReceived.routing_key()) == []
