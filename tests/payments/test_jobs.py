"""Jobs of the payments worker: imports and the ZIP of notices for the post, run by the real
worker through the outbox, with their progress page."""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from services.kernel.identity import Identity
from services.payments.repository_emails import EmailRecord, keep_emails
from services.platform import Platform
from tests.conftest import eventually, service_client
from tests.payments.helpers import fact, scalar, seed
from tests.payments.test_notices import api, page_of, with_creditor
from tests.payments.test_reconciliation import flow_xml, noticed


@pytest_asyncio.fixture
async def worker(platform: Platform) -> AsyncIterator[Any]:
    """The payments worker consuming, and a relay that publishes the outbox when drained."""
    relay = platform.relay("payments")
    # Earlier tests' relays leave ingest events queued for the payments consumers (balances, e-mails)
    # that nobody here needs: without them the worker gets to the jobs at once.
    for consumer in platform.consumers("payments"):
        await platform.bus.purge(consumer.queue(platform.settings.queue_prefix).name)  # type: ignore[attr-defined]
    await platform.start_workers(("payments",))
    try:
        yield relay
    finally:
        await platform.stop_workers()
        await relay.engine.dispose()


async def finished(platform: Platform, who: Identity, relay: Any, job_id: str) -> dict[str, Any]:
    async with service_client(platform, "payments", api(who)) as http:

        async def done() -> dict[str, Any] | None:
            await relay.drain()
            body: dict[str, Any] = (await http.get(f"/api/v1/payments/jobs/{job_id}")).json()
            return body if body["status"] in ("done", "failed") else None

        found: dict[str, Any] = await eventually(done, timeout=30)
        return found


@pytest.mark.asyncio
async def test_an_fdr_imported_from_the_page_is_reconciled_by_the_worker(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    _, iuvs = await noticed(platform, tenant, 4_200)
    xml = flow_xml([(iuvs[0], "W-1", 4_200, 0)])
    async with service_client(platform, "payments", tenant) as http:
        queued = await http.post(
            f"/t/{tenant.tenant_slug}/payments/reconciliation/jobs/fdr",
            files={"file": ("flusso.xml", xml, "application/xml")},
            headers={"HX-Request": "true"},
        )
        assert queued.status_code == 200 and "<progress" in queued.text
        job_id = re.search(r'id="job-([0-9a-f-]{36})"', queued.text).group(1)  # type: ignore[union-attr]
        job = await finished(platform, tenant, worker, job_id)
        assert job["status"] == "done" and job["result"]["matched"] == 1, job
        shown = await http.get(
            f"/t/{tenant.tenant_slug}/payments/jobs/{job_id}", headers={"HX-Request": "true"}
        )
    assert "Abbinati: 1" in shown.text and "hx-trigger" not in shown.text
    paid = "SELECT paid_cents FROM payments.positions WHERE tenant_id = :t"
    assert await scalar(platform, tenant.tenant_id, paid, t=tenant.tenant_id) == 4_200


@pytest.mark.asyncio
async def test_a_refused_file_ends_the_job_failed_with_its_message(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    await noticed(platform, tenant, 1_000)
    async with service_client(platform, "payments", tenant) as http:
        queued = await http.post(
            f"/t/{tenant.tenant_slug}/payments/reconciliation/jobs/receipts",
            files={"file": ("ricevute.csv", b"iuv;importo\n123;abc\n", "text/csv")},
        )
    job_id = re.search(r'id="job-([0-9a-f-]{36})"', queued.text).group(1)  # type: ignore[union-attr]
    job = await finished(platform, tenant, worker, job_id)
    assert job["status"] == "failed" and "Manca la colonna" in job["error"]
    receipts = "SELECT count(*) FROM payments.receipts WHERE tenant_id = :t"
    assert await scalar(platform, tenant.tenant_id, receipts, t=tenant.tenant_id) == 0


@pytest.mark.asyncio
async def test_the_notices_of_a_list_come_as_one_zip_for_the_post(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    await with_creditor(platform, tenant)
    rossi = [fact(12_000), fact(3_000)]
    bianchi = fact(7_500, name="BIANCHI ANNA", fiscal_code="BNCNNA70A41H501X")
    await seed(platform, tenant.tenant_id, *rossi, bianchi)
    street = "VIA ROMA 1 00184 ROMA RM"
    record = EmailRecord(uuid.uuid4(), uuid.UUID(rossi[0].debtor_id), "address", street, True)
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        await keep_emails(uow, tenant.tenant_id, [record])
        await uow.commit()
    async with service_client(platform, "payments", api(tenant)) as http:
        wrong = await http.post("/api/v1/payments/notices/bulk", json={"fiscal_codes": ["NOT A CODE!"]})
        assert wrong.status_code == 400 and "non validi" in wrong.json()["error"]
        fake = await http.post("/api/v1/payments/notices/bulk", json={"fiscal_codes": ["XXXNONVALIDO"]})
        assert fake.status_code == 400 and "XXXNONVALIDO" in fake.json()["error"]
        nobody = await http.post("/api/v1/payments/notices/bulk", json={"fiscal_codes": ["VRDGPP80A01H501U"]})
        assert nobody.status_code == 400 and "VRDGPP80A01H501U" in nobody.json()["error"], nobody.text
        queued = await http.post(
            "/api/v1/payments/notices/bulk", json={"fiscal_codes": ["RSSMRA80A01H501U", "VRDGPP80A01H501U"]}
        )
        assert queued.status_code == 202, queued.text
        job = await finished(platform, tenant, worker, queued.json()["id"])
        assert job["status"] == "done" and job["result"]["notices"] == 2, job
        assert job["result"]["missing"] == ["VRDGPP80A01H501U"]
        assert job["result"]["without_address"] == (0 if rossi[0].debtor_id == rossi[1].debtor_id else 1)
        archive = await http.get(f"/api/v1/payments/jobs/{job['id']}/avvisi.zip")
    async with service_client(platform, "payments", tenant) as http:  # the page says who was left out
        shown = (await http.get(f"/t/{tenant.tenant_slug}/payments/jobs/{job['id']}")).text
    assert "Escluso 1 codice fiscale senza importi da pagare" in shown and "VRDGPP80A01H501U" in shown
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        names = zipped.namelist()
        index = list(csv.reader(io.StringIO(zipped.read("elenco.csv").decode()), delimiter=";"))
        pdfs = {n: zipped.read(n) for n in names if n.endswith(".pdf")}
    assert len(pdfs) == 2 and {row[1] for row in index[1:]} == {"RSSMRA80A01H501U"}
    assert index[0][3] == "indirizzo" and street in {row[3] for row in index[1:]}
    assert any(street in page_of(pdf)[0] for pdf in pdfs.values())
    for name, pdf in pdfs.items():
        text, codes = page_of(pdf)
        nav = name.rsplit("_", 1)[1].removesuffix(".pdf")
        assert codes == [f"PAGOPA|002|{nav}|80012340016|{12_000 if '120,00' in text else 3_000}"]
