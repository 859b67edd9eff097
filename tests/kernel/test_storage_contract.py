"""One storage contract, run against SeaweedFS (S3) and the local folder."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
import pytest_asyncio

from services.kernel.errors import NotFound
from services.kernel.settings import Settings
from services.kernel.storage import (
    InvalidKey,
    LocalStorage,
    ObjectNotFound,
    ObjectStorage,
    S3Storage,
    read_all,
    tenant_key,
)
from services.kernel.web import stored_file


@pytest_asyncio.fixture(params=["seaweedfs", "local-folder"])
async def storage(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> AsyncIterator[ObjectStorage]:
    if request.param == "seaweedfs":
        s3 = S3Storage(
            settings.s3_endpoint, settings.s3_bucket, settings.s3_access_key, settings.s3_secret_key
        )
        await s3.ensure_bucket()
        yield s3
    else:
        yield LocalStorage(tmp_path / "objects", secret="storage-test-secret", base_url="http://gateway.test")


@pytest.mark.asyncio
async def test_roundtrip_records_sha256_and_size(storage: ObjectStorage) -> None:
    tenant = uuid.uuid4()
    data = b"codice_fiscale;importo\n" * 50_000 + "àèìòù €".encode()
    key = tenant_key(tenant, "ingest", "batch-1", "raw")
    stored = await storage.put(tenant, key, io.BytesIO(data), "text/csv")
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert await read_all(storage, tenant, key) == data
    head = await storage.head(tenant, key)
    assert (head.sha256, head.size, head.content_type) == (stored.sha256, len(data), "text/csv")


@pytest.mark.asyncio
async def test_keys_are_confined_to_the_tenant(storage: ObjectStorage) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    key = tenant_key(tenant, "reporting", "r1.pdf")
    await storage.put_bytes(tenant, key, b"%PDF-1.4", "application/pdf")
    with pytest.raises(InvalidKey):
        await storage.head(other, key)
    with pytest.raises(InvalidKey):
        tenant_key(tenant, "..", "escape")
    with pytest.raises(InvalidKey):
        await storage.put_bytes(tenant, f"tenants/{tenant}/../{other}/x", b"x", "text/plain")


@pytest.mark.asyncio
async def test_missing_and_deleted_objects(storage: ObjectStorage) -> None:
    tenant = uuid.uuid4()
    key = tenant_key(tenant, "tmp", "gone")
    with pytest.raises(ObjectNotFound):
        await storage.head(tenant, key)
    await storage.put_bytes(tenant, key, b"x", "text/plain")
    await storage.delete(tenant, key)
    with pytest.raises(ObjectNotFound):
        await read_all(storage, tenant, key)


@pytest.mark.asyncio
async def test_presigned_url_works_and_a_tampered_one_is_refused(storage: ObjectStorage) -> None:
    tenant = uuid.uuid4()
    key = tenant_key(tenant, "reporting", "relazione.pdf")
    await storage.put_bytes(tenant, key, b"%PDF-1.4 relazione", "application/pdf")
    url = await storage.presign(tenant, key, expires_seconds=60)
    tampered_key = url.replace("relazione.pdf", "relazione2.pdf")
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    sig_field = "signature" if "signature" in query else "X-Amz-Signature"
    bad_sig = "0" * len(query[sig_field][0])
    tampered_sig = parsed._replace(
        query=urlencode({**{k: v[0] for k, v in query.items()}, sig_field: bad_sig})
    ).geturl()
    if isinstance(storage, S3Storage):
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).content == b"%PDF-1.4 relazione"
            assert (await client.get(tampered_key)).status_code == 403
            assert (await client.get(tampered_sig)).status_code == 403
    else:
        assert isinstance(storage, LocalStorage)
        q = {k: v[0] for k, v in query.items()}
        assert storage.verify(q["key"], q["expires"], q["signature"]) == (tenant, key)
        with pytest.raises(PermissionError):
            storage.verify(q["key"].replace("relazione", "altro"), q["expires"], q["signature"])
        with pytest.raises(PermissionError):
            storage.verify(q["key"], q["expires"], bad_sig)
        with pytest.raises(PermissionError):
            storage.verify(q["key"], str(int(q["expires"]) + 3600), q["signature"])


@pytest.mark.asyncio
async def test_expired_presigned_url_is_refused(storage: ObjectStorage) -> None:
    tenant = uuid.uuid4()
    key = tenant_key(tenant, "x", "y")
    await storage.put_bytes(tenant, key, b"data", "text/plain")
    url = await storage.presign(tenant, key, expires_seconds=1)
    await asyncio.sleep(2.2)
    if isinstance(storage, S3Storage):
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).status_code in (400, 403)
    else:
        assert isinstance(storage, LocalStorage)
        q = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        with pytest.raises(PermissionError):
            storage.verify(q["key"], q["expires"], q["signature"])


@pytest.mark.asyncio
async def test_a_stored_file_downloads_under_its_own_name(storage: ObjectStorage) -> None:
    tenant = uuid.uuid4()
    key = tenant_key(tenant, "contact", "evidence", "1")
    await storage.put(tenant, key, io.BytesIO(b"%PDF-1.4 ricevuta"), "application/pdf")
    response = await stored_file(storage, tenant, key, 'Ricevuta "già" pagata.pdf')
    disposition = response.headers["content-disposition"]
    # A quote in the name cannot end the header's value; the exact name travels encoded.
    assert disposition.startswith('attachment; filename="Ricevuta _gi__ pagata.pdf"')
    assert "filename*=UTF-8''Ricevuta%20%22gi%C3%A0%22%20pagata.pdf" in disposition
    assert response.media_type == "application/pdf"
    with pytest.raises(NotFound):
        await stored_file(storage, tenant, tenant_key(tenant, "contact", "evidence", "2"), "x.pdf")


@pytest.mark.asyncio
async def test_keys_lists_one_tenants_objects_under_a_prefix(storage: ObjectStorage) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    wanted = [tenant_key(tenant, "payments", "a", "x.pdf"), tenant_key(tenant, "payments", "b.zip")]
    for key in [*wanted, tenant_key(tenant, "ingest", "raw"), tenant_key(other, "payments", "c")]:
        await storage.put_bytes(
            tenant if key.startswith(f"tenants/{tenant}") else other, key, b"x", "text/plain"
        )
    assert await storage.keys(tenant, "payments") == sorted(wanted)
    assert len(await storage.keys(tenant, "")) == 3
    assert await storage.keys(tenant, "contact") == []
    with pytest.raises(InvalidKey):
        await storage.keys(tenant, "../" + str(other))
