"""The debtor's file as PDF from the Ufficio tributi's portal (`pdf_dossier`): what was done to
recover each credit, to hand over with it; the download is in the access log and only the office,
the firm's supervisors and the platform's administrators get it, of their own Comune."""

from __future__ import annotations

import uuid

import pytest
from reportlab.lib.enums import TA_LEFT, TA_RIGHT

from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import pdf_dossier
from tests.conftest import service_client
from tests.reporting.test_digest import text_of
from tests.reporting.test_portal import FORMULA, access_log, campaign, person, portale


@pytest.mark.asyncio
async def test_the_debtors_file_says_what_was_done_and_its_download_is_recorded(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    known = await campaign(platform, tenant.tenant_id)
    b, pb = known["b"], known["pb"]
    viewer = person(tenant, "comune_viewer")
    async with service_client(platform, "reporting", viewer) as client:
        page = (await client.get(portale(viewer, f"/debitori/{b.debtor_id}"))).text
        response = await client.get(portale(viewer, f"/debitori/{b.debtor_id}/fascicolo.pdf"))
    assert f"/debitori/{b.debtor_id}/fascicolo.pdf" in page and "Scarica il fascicolo" in page
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="fascicolo-BNCNNA70B41F205X.pdf"'
    assert response.headers["cache-control"] == "private, no-store"
    text = " ".join(text_of(response.content).split())
    assert "Fascicolo del contribuente" in text and tenant.tenant_name in text
    assert "BIANCHI ANNA" in text and "BNCNNA70B41F205X" in text and b.act_number in text
    # Assigned / collected (€ 100.00 paid, € 25.00 refunded) / residual; the act of 2022, time-barred
    # from 1 January 2028 untouched, was paid in part on 4 March 2026: five years from then.
    assert "€ 300,00 / € 75,00 / € 225,00" in text
    assert "Si prescrive dal" in text and "05/03/2031" in text and "01/01/2028" not in text
    assert "(prescritta)" not in text
    assert "art. 2944 c.c." in text
    assert "Contatti tentati: 1" in text and "Chiede di rateizzare" in text
    assert "Decaduto il 01/09/2026" in text and "rate ricalcolate su € 180,00" in text
    assert pb.iuv in text and pb.flow_id in text and "Rimborsati € 25,00" in text
    assert "Contestazione" in text and "Immobile venduto" in text and "In attesa di risposta" in text
    pages = text.count("Riscossa · fascicolo del contribuente")
    assert pages >= 1 and f"Pagina {pages} di {pages}" in text and "Pagina 1 di" in text
    logged = [e for e in await access_log(platform, tenant.tenant_id) if e.user_id == viewer.user_id]
    assert [(e.action, str(e.subject_id)) for e in logged] == [
        ("view_debtor", b.debtor_id),
        ("export_dossier", b.debtor_id),
    ]
    # A name a file gave as a spreadsheet formula is printed as written, not read as markup.
    c = known["c"]
    async with service_client(platform, "reporting", viewer) as client:
        odd = await client.get(portale(viewer, f"/debitori/{c.debtor_id}/fascicolo.pdf"))
    assert odd.status_code == 200 and FORMULA in text_of(odd.content)


@pytest.mark.asyncio
async def test_the_debtors_file_is_only_for_the_office_of_its_own_comune(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    known = await campaign(platform, tenant.tenant_id)
    path = f"/debitori/{known['b'].debtor_id}/fascicolo.pdf"
    operator = person(tenant, "operator")
    stranger = person(other_tenant, "comune_admin")
    async with service_client(platform, "reporting", operator) as client:
        refused = await client.get(portale(operator, path))
    async with service_client(platform, "reporting", stranger) as client:
        elsewhere = await client.get(portale(stranger, path))
        malformed = await client.get(portale(stranger, "/debitori/non-un-id/fascicolo.pdf"))
        unknown = await client.get(portale(stranger, f"/debitori/{uuid.uuid4()}/fascicolo.pdf"))
    assert refused.status_code == 403
    assert elsewhere.status_code == 404 and malformed.status_code == 404 and unknown.status_code == 404
    assert not [e for e in await access_log(platform, tenant.tenant_id) if e.action == "export_dossier"]


def test_amounts_stand_right_in_the_files_tables() -> None:
    rows = [["Data", "Importo", "Stato"], ["01/03/2026", "€ 1.234,56", "Valido"]]
    _, table, _ = pdf_dossier._section("Pagamenti", rows, (20, 22, 40), "Nessuno.", amounts=(1,))
    aligned = [[cell.style.alignment for cell in row] for row in table._cellvalues]
    assert aligned == [[TA_LEFT, TA_RIGHT, TA_LEFT]] * 2
