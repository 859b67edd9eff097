"""An aggio contract amended during the mandate: each month is invoiced with the version in force on
its first day (the API's period, the dashboard, the monthly rendiconti), versions are added,
corrected and removed by the firm's admin through the form, and bad versions are refused in
Italian with nothing written."""

from __future__ import annotations

import html
from datetime import date

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import daily, handlers_aggio, handlers_aggio_contract, repository_aggio
from tests.conftest import service_client
from tests.reporting.test_aggio import API, HX, OCTOBER, as_role, october, save_contract

# From 1 October 2026 a flat 5% on everything, without VAT (the first version: IMU in bands at 10%
# and 5%, every other type 18,5%, VAT 22%).
AMENDMENT = {
    "version": "",
    "reference": "Atto aggiuntivo n. 1",
    "start_date": "01/10/2026",
    "vat_percent": "22",
    "row-1-type": "*",
    "row-1-from": "0",
    "row-1-to": "",
    "row-1-rate": "5",
}


async def post_version(platform: Platform, who: Identity, **changes: str) -> tuple[int, str]:
    admin = as_role(who, "platform_admin")
    async with service_client(platform, "reporting", admin) as client:
        answer = await client.post(
            f"/t/{who.tenant_slug}/reporting/aggio/contratto", data={**AMENDMENT, **changes}, headers=HX
        )
    return answer.status_code, html.unescape(answer.text)


async def remove(platform: Platform, who: Identity, version: str) -> tuple[int, str]:
    admin = as_role(who, "platform_admin")
    async with service_client(platform, "reporting", admin) as client:
        answer = await client.post(
            f"/t/{who.tenant_slug}/reporting/aggio/contratto/elimina", data={"version": version}, headers=HX
        )
    return answer.status_code, html.unescape(answer.text)


async def starts(platform: Platform, who: Identity) -> list[date]:
    async with platform.databases["reporting"].unit_of_work(who.tenant_id) as uow:
        saved = await repository_aggio.contract_versions(uow, who.tenant_id)
    return [s.contract.start_date for s in saved]


@pytest.mark.asyncio
async def test_each_month_is_invoiced_with_the_version_in_force_then(
    platform: Platform, tenant: Identity
) -> None:
    await october(platform, tenant)
    assert (await save_contract(platform, tenant))[0] == 200
    status, _ = await post_version(platform, tenant)
    assert status == 200 and await starts(platform, tenant) == [date(2026, 1, 1), date(2026, 10, 1)]
    async with service_client(platform, "reporting", as_role(tenant, "api")) as client:
        october_only = (await client.get(f"{API}?{OCTOBER}")).json()
        both = (await client.get(f"{API}?period_from=2026-09-01&period_to=2026-10-31")).json()
    # October: 5% of 1.420,09 (1.630,09 collected - 210,00 refunded) = 71,0045 -> 71,00, no VAT.
    assert (october_only["aggio_cents"], october_only["vat_cents"]) == (7_100, 0)
    assert october_only["contract"]["reference"] == "Atto aggiuntivo n. 1"
    # September under the first version: IMU 500,00 at 10% = 50,00, VAT 22% = 11,00.
    assert (both["aggio_cents"], both["vat_cents"], both["invoice_cents"]) == (12_100, 1_100, 13_200)
    assert [(v["reference"], v["applied_from"], v["applied_to"]) for v in both["versions"]] == [
        ("Rep. 77/2026", "2026-09-01", "2026-09-30"),
        ("Atto aggiuntivo n. 1", "2026-10-01", "2026-10-31"),
    ]
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        board = await handlers_aggio_contract.dashboard_aggio(uow, tenant.tenant_id, date(2026, 11, 30))
    assert board is not None and (board.label, board.cents) == ("5,00%", 5_000 + 7_100)

    ctx = platform.context("reporting")
    for day in (date(2026, 10, 1), date(2026, 11, 2)):  # September's rendiconto, then October's
        done = await daily.run_daily(ctx, day, [tenant.tenant_id])
        assert str(done[tenant.tenant_id]["monthly_rendiconto"]).startswith("generated")
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        made = {r.month: r for r in await handlers_aggio.list_rendiconti(uow, tenant.tenant_id)}
    september, octo = made[date(2026, 9, 1)], made[date(2026, 10, 1)]
    assert (september.aggio_cents, september.vat_cents, september.contract["reference"]) == (
        5_000,
        1_100,
        "Rep. 77/2026",
    )
    assert (octo.aggio_cents, octo.vat_cents, octo.contract["reference"]) == (
        7_100,
        0,
        "Atto aggiuntivo n. 1",
    )

    async with service_client(platform, "reporting", as_role(tenant, "comune_admin")) as client:
        shown = html.unescape((await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio")).text)
    assert "Il contratto ha 2 versioni" in shown
    assert 'Versione in vigore dal 01/10/2026 <span class="badge bg-success">in vigore oggi</span>' in shown
    assert "Versione in vigore dal 01/01/2026</h3>" in shown and "Elimina questa versione" not in shown
    async with service_client(platform, "reporting", as_role(tenant, "comune_admin")) as client:
        dashboard = html.unescape((await client.get(f"/t/{tenant.tenant_slug}/reporting/")).text)
    # The start and the rate of today are not paired as if that rate had applied since the start.
    assert "Aggio maturato dal 01/01/2026 a oggi:" in dashboard
    assert "· contratto in 2 versioni, ogni mese con la sua; in vigore oggi: 5,00%" in dashboard


@pytest.mark.asyncio
async def test_versions_are_corrected_removed_and_bad_ones_refused(
    platform: Platform, tenant: Identity
) -> None:
    assert (await save_contract(platform, tenant))[0] == 200
    status, text = await post_version(platform, tenant, start_date="15/10/2026")
    assert (
        status == 400 and "decorre dal primo giorno di un mese" in text and 'data-field="start_date"' in text
    )
    status, text = await post_version(platform, tenant, start_date="01/01/2026")
    assert status == 400 and "Esiste già una versione del contratto in vigore dal 01/01/2026" in text
    status, text = await post_version(platform, tenant, start_date="01/12/2025")
    assert status == 400 and "prima dell'inizio del contratto (01/01/2026)" in text
    assert await starts(platform, tenant) == [date(2026, 1, 1)]  # nothing written

    assert (await post_version(platform, tenant))[0] == 200
    # The form opened on the amendment corrects it (its rate, and its date to another month's first).
    status, _ = await post_version(
        platform, tenant, version="2026-10-01", start_date="01/11/2026", **{"row-1-rate": "6"}
    )
    assert status == 200 and await starts(platform, tenant) == [date(2026, 1, 1), date(2026, 11, 1)]
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        latest = (await repository_aggio.contract_versions(uow, tenant.tenant_id))[-1].contract
    assert latest.bands[0].rate_bp == 600
    # A stale form (its version removed meanwhile) is refused rather than adding a version.
    status, text = await post_version(platform, tenant, version="2026-10-01", start_date="01/12/2026")
    assert status == 400 and "non esiste più" in text

    admin = as_role(tenant, "platform_admin")
    async with service_client(platform, "reporting", admin) as client:
        form = html.unescape(
            (await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio/contratto?versione=nuova")).text
        )
        edit = (
            await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio/contratto?versione=2026-11-01")
        ).text
        gone = await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio/contratto?versione=2020-01-01")
    assert "Contratto dell'aggio: nuova versione" in form and 'name="version" value=""' in form
    assert 'id="start_date" name="start_date" class="form-control" value=""' in form
    assert 'name="version" value="2026-11-01"' in edit and 'value="01/11/2026"' in edit
    assert gone.status_code == 404

    status, _ = await remove(platform, tenant, "2026-11-01")
    assert status == 200 and await starts(platform, tenant) == [date(2026, 1, 1)]
    status, text = await remove(platform, tenant, "2026-01-01")
    assert status == 400 and "La prima versione del contratto non si elimina" in text
    status, text = await remove(platform, tenant, "non-una-data")
    assert status == 400 and "non valida" in text
    async with service_client(platform, "reporting", as_role(tenant, "comune_admin")) as client:
        refused = await client.post(
            f"/t/{tenant.tenant_slug}/reporting/aggio/contratto/elimina", data={"version": "2026-01-01"}
        )
    assert refused.status_code == 403 and await starts(platform, tenant) == [date(2026, 1, 1)]
