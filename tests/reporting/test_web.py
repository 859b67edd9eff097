import hashlib
import uuid

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import domain
from services.reporting import repository as repo
from tests.conftest import service_client
from tests.reporting.helpers import deliver, fact, paid, registered
from tests.support import make_identity

HX = {"HX-Request": "true"}


def web(who: Identity, path: str = "") -> str:
    return f"/t/{who.tenant_slug}/reporting/{path}"


def as_role(who: Identity, *roles: str) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=roles, name=who.tenant_name)


async def seed(platform: Platform, who: Identity) -> None:
    """Assigned 1.234,56 + 500,00 (TARI); collected 234,56 + 100,01 → 334,57."""
    imu, tari = fact(123_456, "IMU", 2021), fact(50_000, "TARI", 2022, fiscal_code="VRDLGI70B02F205X")
    await deliver(platform, who.tenant_id, registered(imu, tari))
    await deliver(platform, who.tenant_id, paid(imu, 23_456), paid(tari, 10_001))


@pytest.mark.asyncio
async def test_dashboard_shows_totals_and_refreshing_fragment(platform: Platform, tenant: Identity) -> None:
    await seed(platform, tenant)
    async with service_client(platform, "reporting", tenant) as client:
        full = await client.get(web(tenant))
        fragment = await client.get(web(tenant, "summary"), headers=HX)
    assert full.status_code == 200
    assert "€ 1.734,56" in full.text  # assigned
    assert "€ 334,57" in full.text  # collected
    assert "€ 1.399,99" in full.text  # residual
    assert "19,3%" in full.text
    assert "Genera relazione di scarico" in full.text
    assert fragment.status_code == 200
    assert 'hx-trigger="every 5s"' in fragment.text
    assert "<html" not in fragment.text
    assert "TARI" in fragment.text and "€ 334,57" in fragment.text


@pytest.mark.asyncio
async def test_generate_download_and_verify_report(platform: Platform, tenant: Identity) -> None:
    await seed(platform, tenant)
    async with service_client(platform, "reporting", tenant) as client:
        saved = await client.post(web(tenant, "settings"), data={"aggio_percent": "3,5"}, headers=HX)
        assert saved.status_code == 200 and "Impostazioni salvate" in saved.text
        listed = await client.post(web(tenant, "reports"), headers=HX)
        assert listed.status_code == 200
        assert "Scarica PDF" in listed.text and "<html" not in listed.text
        created = await client.post("/api/v1/reporting/reports")
        assert created.status_code == 201
        report = created.json()
        download = await client.get(report["download_url"])

    assert report["collected_cents"] == 33_457
    assert (report["assigned_cents"], report["residual_cents"]) == (173_456, 139_999)
    assert (report["aggio_rate_bp"], report["aggio_cents"]) == (350, 1_171)  # 1_170.995 → 1_171
    assert (
        report["object_key"] == f"tenants/{tenant.tenant_id}/reporting/{report['id']}/relazione-scarico.pdf"
    )

    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith('attachment; filename="relazione-scarico-')
    body = download.content
    assert body.startswith(b"%PDF")
    assert hashlib.sha256(body).hexdigest() == report["sha256"]
    assert len(body) == report["size"]
    assert tenant.tenant_name.encode() in body
    for cents in (173_456, 33_457, 139_999, 1_171):
        assert domain.format_cents(cents).encode() in body
    assert b"VRDLGI70B02F205X" in body
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        logged = await repo.access.entries(uow, tenant.tenant_id)
    assert [(e.action, str(e.subject_id), e.user_id) for e in logged] == [
        ("download_relazione", report["id"], tenant.user_id)
    ]

    head = await platform.storage.head(tenant.tenant_id, report["object_key"])
    assert (head.sha256, head.size) == (report["sha256"], report["size"])
    raw = platform.storage.client.get_object(Bucket=platform.storage.bucket, Key=report["object_key"])  # type: ignore[attr-defined]
    assert hashlib.sha256(raw["Body"].read()).hexdigest() == report["sha256"]


@pytest.mark.asyncio
async def test_report_reflects_data_at_generation_time(platform: Platform, tenant: Identity) -> None:
    position = fact(10_000)
    await deliver(platform, tenant.tenant_id, registered(position), paid(position, 1_234))
    async with service_client(platform, "reporting", tenant) as client:
        first = (await client.post("/api/v1/reporting/reports")).json()
        await deliver(platform, tenant.tenant_id, paid(position, 4_321))
        second = (await client.post("/api/v1/reporting/reports")).json()
        summary = (await client.get("/api/v1/reporting/summary")).json()
        body = (await client.get(second["download_url"])).content
        listing = (await client.get("/api/v1/reporting/reports")).json()
    assert (first["collected_cents"], second["collected_cents"]) == (1_234, 5_555)
    assert b"55,55" in body
    assert summary["collected_cents"] == 5_555 and summary["residual_cents"] == 4_445
    assert summary["by_revenue_type"][0]["revenue_type"] == "IMU"
    assert [r["id"] for r in listing["reports"]] == [second["id"], first["id"]]


@pytest.mark.asyncio
async def test_download_is_refused_to_other_tenants_and_unknown_ids(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    async with service_client(platform, "reporting", tenant) as client:
        report = (await client.post("/api/v1/reporting/reports")).json()
        assert (await client.get(web(tenant, f"reports/{uuid.uuid4()}/pdf"))).status_code == 404
        assert (await client.get(web(tenant, "reports/not-a-uuid/pdf"))).status_code == 404
    async with service_client(platform, "reporting", other_tenant) as client:
        assert (await client.get(web(other_tenant, f"reports/{report['id']}/pdf"))).status_code == 404
        assert (await client.get(report["download_url"])).status_code == 404  # A's slug in the path


@pytest.mark.asyncio
async def test_tampered_object_is_not_served(platform: Platform, tenant: Identity) -> None:
    async with service_client(platform, "reporting", tenant) as client:
        report = (await client.post("/api/v1/reporting/reports")).json()
        await platform.storage.put_bytes(
            tenant.tenant_id, report["object_key"], b"%PDF-forged", "application/pdf"
        )
        response = await client.get(report["download_url"])
    assert response.status_code == 500
    assert "impronta" in response.text


@pytest.mark.asyncio
async def test_roles(platform: Platform, tenant: Identity) -> None:
    operator = as_role(tenant, "operator")
    async with service_client(platform, "reporting", operator) as client:
        assert (await client.get(web(operator))).status_code == 200
        assert "Genera relazione" not in (await client.get(web(operator))).text
        assert (await client.post(web(operator, "reports"), headers=HX)).status_code == 403
        assert (await client.post("/api/v1/reporting/reports")).status_code == 403
        assert (await client.post(web(operator, "settings"), data={"aggio_percent": "5"})).status_code == 403
    supervisor = as_role(tenant, "supervisor")
    async with service_client(platform, "reporting", supervisor) as client:
        assert (await client.post("/api/v1/reporting/reports")).status_code == 201
        assert (await client.get(web(supervisor, "settings"))).status_code == 403


@pytest.mark.asyncio
async def test_invalid_aggio_rate_is_rejected(platform: Platform, tenant: Identity) -> None:
    async with service_client(platform, "reporting", tenant) as client:
        response = await client.post(web(tenant, "settings"), data={"aggio_percent": "120"}, headers=HX)
        page = await client.get(web(tenant, "settings"))
    assert response.status_code == 400
    assert "100%" in response.text
    assert 'value="0,00"' in page.text
