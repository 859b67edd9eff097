"""A file loaded by mistake that waits for its columns is discarded: nothing of it is registered,
its raw file and sample rows go, the page says who discarded it and when, the discard is in the
access log, and the same file loaded again is not told as loaded before."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.contracts import BatchReceived
from services.ingest.models import access_log
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.ingest.helpers import process, published
from tests.ingest.test_formats import UNKNOWN_HEADER, batch
from tests.ingest.test_web_reports import upload
from tests.support import make_identity

DATA = (UNKNOWN_HEADER + "RSSMRA80A01H501U;IMU;2024;P-1;10,00;x\n").encode()


async def waiting(platform: Platform, who: Identity, name: str = "sbagliato.csv") -> uuid.UUID:
    batch_id = uuid.UUID(await upload(platform, who, name, DATA))
    for envelope in await published(platform, who.tenant_id, BatchReceived.routing_key()):
        if envelope.payload["batch_id"] == str(batch_id):
            await process(platform, envelope)
    assert (await batch(platform, who.tenant_id, batch_id)).status == "needs_mapping"
    return batch_id


@pytest.mark.asyncio
async def test_a_file_waiting_for_its_columns_is_discarded_and_its_file_removed(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    batch_id = await waiting(platform, tenant)
    raw_key = (await batch(platform, tenant.tenant_id, batch_id)).raw_key
    assert raw_key in await platform.storage.keys(tenant.tenant_id, "ingest")
    page = f"/t/{tenant.tenant_slug}/ingest/batches/{batch_id}"
    admin = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("comune_admin",))
    viewer = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("comune_viewer",))
    async with service_client(platform, "ingest", viewer) as client:
        shown = (await client.get(page)).text
        assert "Scarta questo file" not in shown  # a viewer cannot
        assert (await client.post(f"{page}/discard")).status_code == 403
    async with service_client(platform, "ingest", admin) as client:
        assert "Scarta questo file" in (await client.get(page)).text
        done = await client.post(f"{page}/discard")
        assert done.status_code == 303 and done.headers["location"] == page
        after = (await client.get(page)).text
        again = await client.post(f"{page}/discard")
        mapped = await client.post(f"{page}/mapping", data={"col_0": "taxpayer"})
    assert 'data-testid="discarded"' in after and "da Utente di prova" in after
    assert "Scartato senza elaborarlo" in after and "Conferma delle colonne" not in after
    assert again.status_code == 409 and "Si scarta solo un caricamento in attesa" in again.text
    assert mapped.status_code == 409  # no mapping for a discarded file
    row = await batch(platform, tenant.tenant_id, batch_id)
    assert (row.status, row.layout, row.discarded_by) == ("discarded", None, "Utente di prova")
    assert row.discarded_at is not None
    assert raw_key not in await platform.storage.keys(tenant.tenant_id, "ingest")  # the file is gone
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        audited = await uow.execute(
            sa.select(sa.func.count()).where(
                access_log.c.tenant_id == tenant.tenant_id,
                access_log.c.action == "discard_batch",
                access_log.c.subject_id == batch_id,
            )
        )
        assert audited.scalar_one() == 1

    # Another Comune cannot see or discard it; the same file again is a fresh upload.
    async with service_client(platform, "ingest", other_tenant) as client:
        foreign = await client.post(f"/api/v1/ingest/batches/{batch_id}/discard")
    assert foreign.status_code == 404
    second = await waiting(platform, tenant, "sbagliato di nuovo.csv")
    async with service_client(platform, "ingest", admin) as client:
        second_page = (await client.get(f"/t/{tenant.tenant_slug}/ingest/batches/{second}")).text
    assert 'data-testid="same-file"' not in second_page


@pytest.mark.asyncio
async def test_the_api_discards_only_a_waiting_batch(platform: Platform, tenant: Identity) -> None:
    batch_id = await waiting(platform, tenant)
    async with service_client(platform, "ingest", tenant) as client:
        done = await client.post(f"/api/v1/ingest/batches/{batch_id}/discard")
        shown = await client.get(f"/api/v1/ingest/batches/{batch_id}")
        again = await client.post(f"/api/v1/ingest/batches/{batch_id}/discard")
    assert done.status_code == 200 and done.json() == {"id": str(batch_id), "status": "discarded"}
    assert shown.json()["status"] == "discarded" and shown.json()["discarded_at"]
    assert again.status_code == 409
