import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.reporting.helpers import deliver, fact, paid, registered
from tests.reporting.test_aggio import save_contract
from tests.support import make_identity

HX = {"HX-Request": "true"}
PERIOD = {"kind": "final", "period_from": "2026-01-01", "period_to": "2026-03-31"}


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
async def test_roles(platform: Platform, tenant: Identity) -> None:
    operator = as_role(tenant, "operator")
    async with service_client(platform, "reporting", operator) as client:
        assert (await client.get(web(operator))).status_code == 200
        assert "Genera relazione" not in (await client.get(web(operator))).text
        assert (await client.post(web(operator, "reports"), headers=HX)).status_code == 403
        assert (await client.post("/api/v1/reporting/reports", json=PERIOD)).status_code == 403
    supervisor = as_role(tenant, "supervisor")
    async with service_client(platform, "reporting", supervisor) as client:
        assert (await client.post("/api/v1/reporting/reports", json=PERIOD)).status_code == 202
        assert (
            await client.get(web(supervisor, "aggio"))
        ).status_code == 403  # the Comune's and the firm's admin


@pytest.mark.asyncio
async def test_the_dashboard_shows_the_contracts_aggio_or_asks_for_the_contract(
    platform: Platform, tenant: Identity
) -> None:
    await seed(platform, tenant)  # 334,57 collected on 14/03/2025
    async with service_client(platform, "reporting", tenant) as client:
        before = await client.get(web(tenant))
        api_before = (await client.get("/api/v1/reporting/summary")).json()
    assert "contratto non inserito" in before.text and (
        api_before["aggio_cents"],
        api_before["aggio_basis"],
    ) == (
        None,
        None,
    )
    flat = {
        "row-1-type": "*",
        "row-1-from": "0",
        "row-1-to": "",
        "row-1-rate": "10",
        "start_date": "01/01/2025",
    }
    flat |= {"row-2-type": "", "row-2-from": "", "row-2-to": "", "row-2-rate": ""}
    flat |= {"row-3-type": "", "row-3-from": "", "row-3-to": "", "row-3-rate": "", "vat_applies": ""}
    status, text = await save_contract(platform, tenant, **flat)
    assert status in (200, 303), text
    async with service_client(platform, "reporting", tenant) as client:
        after = await client.get(web(tenant))
        api_after = (await client.get("/api/v1/reporting/summary")).json()
    # 10% of the 334,57 collected in March 2025, rounded half-up: 33,46
    assert "Aggio maturato dal 01/01/2025 a oggi: " in after.text and "· contratto 10,00%" in after.text
    assert api_after["aggio_cents"] == 3_346 and api_after["aggio_basis"] == "10,00%"
