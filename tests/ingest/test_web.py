"""Ingest over HTTP: upload, processing by the consumer, status pages and API."""

from __future__ import annotations

import html
import json
import uuid

import pytest

from services.contracts import BatchReceived
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.ingest.helpers import process, published
from tests.support import FIXTURES, make_identity

SAMPLE = "comune-c-utf8.csv"


def base(who: Identity) -> str:
    return f"/t/{who.tenant_slug}/ingest"


async def upload_and_process(platform: Platform, who: Identity, name: str = SAMPLE) -> str:
    async with service_client(platform, "ingest", who) as client:
        response = await client.post(
            "/api/v1/ingest/batches", files={"file": (name, (FIXTURES / name).read_bytes(), "text/csv")}
        )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "received"
    [envelope] = await published(platform, who.tenant_id, BatchReceived.routing_key())
    assert envelope.payload["batch_id"] == body["id"]
    await process(platform, envelope)
    return str(body["id"])


@pytest.mark.asyncio
async def test_api_upload_then_status_after_processing(platform: Platform, tenant: Identity) -> None:
    want = json.loads((FIXTURES / f"{SAMPLE}.expected.json").read_text())

    batch_id = await upload_and_process(platform, tenant)

    async with service_client(platform, "ingest", tenant) as client:
        status = (await client.get(f"/api/v1/ingest/batches/{batch_id}")).json()
    assert status["status"] == "completed"
    assert status["filename"] == SAMPLE
    for key in ("data_rows", "accepted", "accepted_total_cents", "duplicates", "conflicts", "rejected"):
        assert status[key] == want[key], key
    assert status["error"] is None


@pytest.mark.asyncio
async def test_status_is_received_before_processing(platform: Platform, tenant: Identity) -> None:
    async with service_client(platform, "ingest", tenant) as client:
        created = await client.post(
            "/api/v1/ingest/batches", files={"file": ("x.csv", b"a;b\n1;2\n", "text/csv")}
        )
        status = (await client.get(f"/api/v1/ingest/batches/{created.json()['id']}")).json()
        page = await client.get(f"{base(tenant)}/batches/{created.json()['id']}")
    assert status["status"] == "received"
    assert status["data_rows"] == 0
    assert 'hx-trigger="every 1s"' in page.text
    assert "· 8 byte<span" in page.text and "impronta SHA-256 <code>" in page.text


@pytest.mark.asyncio
async def test_page_upload_with_htmx_redirects_to_the_batch(platform: Platform, tenant: Identity) -> None:
    async with service_client(platform, "ingest", tenant) as client:
        response = await client.post(
            f"{base(tenant)}/batches",
            files={"file": ("elenco.csv", (FIXTURES / SAMPLE).read_bytes(), "text/csv")},
            data={"csrf_token": "t"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 201
        target = response.headers["HX-Redirect"]
        assert target.startswith(f"{base(tenant)}/batches/")
        [envelope] = await published(platform, tenant.tenant_id, BatchReceived.routing_key())
        await process(platform, envelope)
        detail = await client.get(target)
        fragment = await client.get(target, headers={"HX-Request": "true"})
        listing = await client.get(f"{base(tenant)}/")
    assert detail.status_code == 200
    assert "Elaborato" in detail.text
    assert "hx-trigger" not in detail.text
    assert "€ 262.088,15" in detail.text
    assert "Tipo di entrata non riconosciuto" in detail.text  # rejected rows with their reason
    # The polled fragment brings the file's line, its format and encoding known once it was read
    # (the page showed them only after a reload).
    source, status = fragment.text.split("</p>", 1)
    assert source.lstrip().startswith('<p class="text-muted small" id="batch-source" hx-swap-oob="true">')
    assert "formato testo delimitato" in source and "codifica UTF-8" in source
    assert status.lstrip().startswith('<div id="batch-status"')
    assert "<html" not in fragment.text and 'id="batch-source">' in detail.text
    assert "elenco.csv" in listing.text
    assert f'hx-post="{base(tenant)}/batches"' in listing.text


@pytest.mark.asyncio
async def test_empty_or_missing_file_is_refused_in_italian(platform: Platform, tenant: Identity) -> None:
    async with service_client(platform, "ingest", tenant) as client:
        empty = await client.post("/api/v1/ingest/batches", files={"file": ("vuoto.csv", b"", "text/csv")})
        missing = await client.post("/api/v1/ingest/batches", data={"altro": "x"})
    assert (empty.status_code, empty.json()["error"]) == (400, "Il file è vuoto.")
    assert (missing.status_code, missing.json()["field"]) == (400, "file")
    assert await published(platform, tenant.tenant_id, BatchReceived.routing_key()) == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("name", "data", "what"),
    [
        ("delibera.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "un documento PDF"),
        ("elenco.xlsx", b"%PDF-1.4\n", "un documento PDF"),  # renamed: the bytes decide
        ("foto.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "un'immagine JPEG"),
        (
            "vecchio.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
            "un file Excel 97-2003 (.xls) o Word (.doc)",
        ),
    ],
)
async def test_a_document_or_an_image_is_refused_before_a_batch_is_recorded(
    platform: Platform, tenant: Identity, name: str, data: bytes, what: str
) -> None:
    async with service_client(platform, "ingest", tenant) as client:
        refused = await client.post(
            "/api/v1/ingest/batches", files={"file": (name, data, "application/octet-stream")}
        )
        page = await client.post(
            f"{base(tenant)}/batches",
            files={"file": (name, data, "application/octet-stream")},
            headers={"HX-Request": "true"},
        )
    assert refused.status_code == 400 and refused.json()["field"] == "file"
    assert refused.json()["error"] == (
        f"Il file è {what}, non un elenco di crediti: carica un CSV, un foglio Excel (.xlsx) o un tracciato 290."
    )
    assert page.status_code == 400 and html.escape(what) in page.text
    assert await published(platform, tenant.tenant_id, BatchReceived.routing_key()) == []


@pytest.mark.asyncio
async def test_viewer_cannot_upload(platform: Platform) -> None:
    tid = uuid.uuid4()
    viewer = make_identity(tid, f"comune-{tid.hex[:8]}", roles=("comune_viewer",))
    async with service_client(platform, "ingest", viewer) as client:
        refused = await client.post("/api/v1/ingest/batches", files={"file": ("a.csv", b"x", "text/csv")})
        listing = await client.get(f"{base(viewer)}/")
    assert refused.status_code == 403
    assert listing.status_code == 200
    assert "upload-form" not in listing.text


@pytest.mark.asyncio
async def test_foreign_or_unknown_batch_is_not_found(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    batch_id = await upload_and_process(platform, tenant)

    async with service_client(platform, "ingest", other_tenant) as client:
        foreign = await client.get(f"/api/v1/ingest/batches/{batch_id}")
        foreign_page = await client.get(f"{base(other_tenant)}/batches/{batch_id}")
        unknown = await client.get(f"/api/v1/ingest/batches/{uuid.uuid4()}")
        garbage = await client.get("/api/v1/ingest/batches/not-a-uuid")
    assert [r.status_code for r in (foreign, foreign_page, unknown, garbage)] == [404, 404, 404, 404]


@pytest.mark.asyncio
async def test_upload_is_processed_by_the_running_worker(platform: Platform, tenant: Identity) -> None:
    from tests.conftest import eventually

    relay = platform.relay("ingest")
    async with service_client(platform, "ingest", tenant) as client:
        created = await client.post(
            "/api/v1/ingest/batches",
            files={"file": (SAMPLE, (FIXTURES / SAMPLE).read_bytes(), "text/csv")},
        )
        batch_id = created.json()["id"]

        async def completed() -> dict | None:  # type: ignore[type-arg]
            await relay.drain()
            body = (await client.get(f"/api/v1/ingest/batches/{batch_id}")).json()
            return body if body["status"] == "completed" else None

        await platform.start_workers(("ingest",))
        try:
            status = await eventually(completed)
        finally:
            await platform.stop_workers()
            await relay.engine.dispose()
    assert status["accepted_total_cents"] == 26208815
