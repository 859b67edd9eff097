"""The aggio engine end to end: real events projected by the reporting consumers, a tiered contract
entered by the firm's admin, the API, the monthly rendiconto stored, downloaded and e-mailed to the
test SMTP server, and the daily run that makes it on the first working day."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from services.contracts import (
    ChargesPaid,
    ChargesRevoked,
    PaymentReceived,
    PaymentRefunded,
    PaymentRevoked,
    PositionFact,
)
from services.kernel.identity import Identity
from services.kernel.mail import FolderMailer
from services.platform import Platform
from services.reporting import daily, handlers_aggio_contract, repository_aggio
from services.reporting import repository as repo
from services.reporting.domain import ROME
from services.reporting.domain_aggio import BASIS_LABELS
from tests.conftest import service_client
from tests.reporting.helpers import deliver, fact, registered
from tests.smtp_server import Inbox
from tests.support import make_identity

HX = {"HX-Request": "true"}
API = "/api/v1/reporting/aggio"
OCTOBER = "period_from=2026-10-01&period_to=2026-10-31"
CONTRACT = {
    "reference": "Rep. 77/2026",
    "start_date": "01/01/2026",
    "vat_applies": "1",
    "vat_percent": "22",
    "row-1-type": "IMU",
    "row-1-from": "0",
    "row-1-to": "1.000,00",
    "row-1-rate": "10",
    "row-2-type": "IMU",
    "row-2-from": "1.000,00",
    "row-2-to": "",
    "row-2-rate": "5",
    "row-3-type": "*",
    "row-3-from": "0",
    "row-3-to": "",
    "row-3-rate": "18,5",
}


def book_rows(body: bytes, sheet: str) -> list[tuple[object, ...]]:
    return list(load_workbook(io.BytesIO(body), read_only=True)[sheet].iter_rows(values_only=True))


def as_role(who: Identity, *roles: str) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=roles, name=who.tenant_name)


def payment(p: PositionFact, cents: int, paid_on: str) -> PaymentReceived:
    return PaymentReceived(
        payment_id=str(uuid.uuid4()),
        position_id=p.position_id,
        debtor_id=p.debtor_id,
        amount_cents=cents,
        paid_on=paid_on,
        recorded_by="pagopa",
        source="receipt",
        iuv="0" + uuid.uuid4().hex[:16],
        receipt_ref="R-" + uuid.uuid4().hex[:8],
        flow_id="2026-10-31ABI-S001",
    )


def refund(p: PaymentReceived, cents: int, on: str) -> PaymentRefunded:
    return PaymentRefunded(
        str(uuid.uuid4()), p.payment_id, p.position_id, p.debtor_id, cents, on, "Pagato due volte", "admin"
    )


def revoke(p: PaymentReceived) -> PaymentRevoked:
    return PaymentRevoked(
        p.payment_id, p.position_id, p.debtor_id, p.amount_cents, p.iuv, p.receipt_ref, p.flow_id
    )


async def october(platform: Platform, who: Identity) -> None:
    """IMU 1.500,05 + TARI 100,01 + CDS 30,03 collected in October; an IMU payment of September
    refunded 200,00 in October; TARI refunded 10,00; an IMU payment of 70,00 revoked."""
    imu, imu2, tari, cds = fact(500_000, "IMU"), fact(10_000, "IMU"), fact(20_000, "TARI"), fact(9_000, "CDS")
    await deliver(platform, who.tenant_id, registered(imu, imu2, tari, cds))
    p1, p2 = payment(imu, 150_005, "2026-10-05"), payment(imu2, 7_000, "2026-10-06")
    p3, p4 = payment(tari, 10_001, "2026-10-07"), payment(cds, 3_003, "2026-10-08")
    september = payment(imu, 50_000, "2026-09-30")
    await deliver(platform, who.tenant_id, p1, p2, p3, p4, september)
    await deliver(platform, who.tenant_id, revoke(p2), refund(p3, 1_000, "2026-10-20"))
    await deliver(platform, who.tenant_id, refund(september, 20_000, "2026-10-15"))
    # A TARI payment of 50,00 refunded 5,00, then revoked: neither counts in the base.
    p6 = payment(tari, 5_000, "2026-10-09")
    await deliver(platform, who.tenant_id, p6, refund(p6, 500, "2026-10-10"), revoke(p6))
    # The debtors' c.803 charges (their own notices): TARI 30,00 in October counts apart, the IMU
    # 12,00 revoked and the September 9,00 do not; none of them is in the base.
    tari_charges, imu_charges = (
        charges(tari, "TARI", 3_000, "2026-10-12"),
        charges(imu, "IMU", 1_200, "2026-10-13"),
    )
    await deliver(platform, who.tenant_id, tari_charges, imu_charges, charges(imu, "IMU", 900, "2026-09-29"))
    await deliver(platform, who.tenant_id, uncharged(imu_charges))


def charges(p: PositionFact, revenue_type: str, cents: int, paid_on: str) -> ChargesPaid:
    return ChargesPaid(
        payment_id=str(uuid.uuid4()),
        plan_id=str(uuid.uuid4()),
        debtor_id=p.debtor_id,
        revenue_type=revenue_type,
        amount_cents=cents,
        paid_on=paid_on,
        iuv="0" + uuid.uuid4().hex[:16],
        receipt_ref="C-" + uuid.uuid4().hex[:8],
        flow_id="",
    )


def uncharged(c: ChargesPaid) -> ChargesRevoked:
    return ChargesRevoked(c.payment_id, c.plan_id, c.debtor_id, c.amount_cents, "2026-10-31ABI-S002")


async def save_contract(platform: Platform, who: Identity, **changes: str) -> tuple[int, str]:
    admin = as_role(who, "platform_admin")
    async with service_client(platform, "reporting", admin) as client:
        answer = await client.post(
            f"/t/{who.tenant_slug}/reporting/aggio/contratto", data={**CONTRACT, **changes}, headers=HX
        )
    return answer.status_code, answer.text


@pytest.mark.asyncio
async def test_a_tiered_contract_gives_the_contract_arithmetic_net_of_refunds(
    platform: Platform, tenant: Identity
) -> None:
    await october(platform, tenant)
    assert (await save_contract(platform, tenant))[0] == 200
    async with service_client(platform, "reporting", as_role(tenant, "api")) as client:
        body = (await client.get(f"{API}?{OCTOBER}")).json()
    # IMU: 1.500,05 - 200,00 = 1.300,05 → 10% of 1.000 + 5% of 300,05 = 100 + 15,0025 → 115,00
    # TARI 90,01 + CDS 30,03 share the 18,5% table: 120,04 → 22,2074 → 22,21, split 16,65 / 5,56
    # aggio 137,21; VAT 22% = 30,1862 → 30,19; invoice 167,40
    assert (body["collected_cents"], body["refunded_cents"], body["revoked_cents"]) == (
        163_009,
        21_000,
        12_000,
    )
    assert (body["taxable_cents"], body["aggio_cents"], body["vat_cents"]) == (142_009, 13_721, 3_019)
    assert body["invoice_cents"] == 16_740
    lines = {line["revenue_type"]: line for line in body["by_revenue_type"]}
    assert lines["IMU"] == {
        "revenue_type": "IMU",
        "collected_cents": 150_005,
        "refunded_cents": 20_000,
        "revoked_cents": 7_000,
        "taxable_cents": 130_005,
        "aggio_cents": 11_500,
        "charges_c803_cents": 0,
    }
    assert (body["charges_c803_cents"], body["charges_c803_by_revenue_type"]) == (3_000, {"TARI": 3_000})
    assert lines["TARI"]["charges_c803_cents"] == 3_000
    assert (lines["TARI"]["aggio_cents"], lines["CDS"]["aggio_cents"]) == (1_665, 556)
    assert (lines["TARI"]["refunded_cents"], lines["TARI"]["revoked_cents"]) == (1_000, 5_000)
    assert body["contract"]["basis"] == "by_type_bands"
    # The dashboard's figure: month by month since the contract began (September: 10% of 500,00).
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        board = await handlers_aggio_contract.dashboard_aggio(uow, tenant.tenant_id, date(2026, 11, 30))
    assert board is not None and (board.label, board.cents) == (BASIS_LABELS["by_type_bands"], 13_721 + 5_000)


@pytest.mark.asyncio
async def test_bad_input_gets_an_italian_message_and_changes_nothing(
    platform: Platform, tenant: Identity
) -> None:
    assert (await save_contract(platform, tenant))[0] == 200
    status, text = await save_contract(platform, tenant, **{"row-2-from": "1.200,00", "row-1-rate": "7"})
    assert status == 400 and "buco" in text and 'data-field="row-2-from"' in text
    status, text = await save_contract(platform, tenant, **{"row-2-from": "900"})
    assert status == 400 and "si sovrappongono" in text
    status, text = await save_contract(platform, tenant, **{"row-3-type": "BOLLO"})
    assert status == 400 and "Riga 3: Tipo di entrata sconosciuto" in text  # the row named
    assert 'id="row-3-type" name="row-3-type" class="form-select is-invalid" aria-invalid="true"' in text
    # A field above the table: its message under it, tied to it for screen readers.
    status, text = await save_contract(platform, tenant, start_date="31/02/2026")
    assert "Il giorno «31/02/2026» non esiste nel calendario." in html.unescape(text)
    assert (
        status == 400 and 'aria-invalid="true" aria-describedby="start_date-errore start_date-aiuto"' in text
    )
    assert 'id="start_date-errore" class="invalid-feedback">' in text
    # Several fields at fault: every one named at once, each marked, listed with a link to it.
    status, text = await save_contract(
        platform, tenant, start_date="31/02/2026", reference="", vat_percent="x"
    )
    assert status == 400 and "correggi i 3 campi indicati" in text
    for field in ("reference", "start_date", "vat_percent"):
        assert f'aria-describedby="{field}-errore' in text and f'href="#{field}"' in text
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        saved = (await repository_aggio.contract_versions(uow, tenant.tenant_id))[-1]
    assert saved.contract.table("IMU")[0].rate_bp == 1000  # unchanged
    async with service_client(platform, "reporting", as_role(tenant, "api")) as client:
        backwards = await client.get(f"{API}?period_from=2026-10-31&period_to=2026-10-01")
        malformed = await client.get(f"{API}?period_from=2026-10-01&period_to=31/10/2026")
    assert (
        backwards.status_code == 400 and backwards.json()["error"] == "Il periodo termina prima di iniziare."
    )
    assert malformed.status_code == 400 and malformed.json()["field"] == "period_to"
    async with service_client(platform, "reporting", as_role(tenant, "comune_admin")) as client:
        refused = await client.post(f"/t/{tenant.tenant_slug}/reporting/aggio/contratto", data=CONTRACT)
    assert refused.status_code == 403


@pytest.mark.asyncio
async def test_the_monthly_rendiconto_is_stored_emailed_and_downloadable(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await october(platform, tenant)
    assert (await save_contract(platform, tenant))[0] == 200
    office = f"tributi-{uuid.uuid4().hex[:8]}@comune.example.it"
    async with service_client(platform, "reporting", as_role(tenant, "comune_admin")) as client:
        bad = await client.post(
            f"/t/{tenant.tenant_slug}/reporting/aggio/contatti", data={"emails": "non-una-mail"}, headers=HX
        )
        saved = await client.post(
            f"/t/{tenant.tenant_slug}/reporting/aggio/contatti", data={"emails": office}, headers=HX
        )
    assert bad.status_code == 400 and "non è un indirizzo valido" in html.unescape(bad.text)
    assert saved.status_code == 200 and "Indirizzi salvati" in saved.text

    ctx = platform.context("reporting")
    early = await daily.run_daily(ctx, date(2025, 12, 1), [tenant.tenant_id])  # November 2025
    assert early[tenant.tenant_id]["monthly_rendiconto"] == "before the contract"
    not_yet = await daily.run_daily(ctx, date(2026, 11, 1), [tenant.tenant_id])  # a Sunday, All Saints
    assert not_yet[tenant.tenant_id]["monthly_rendiconto"] == "not due"
    first = await daily.run_daily(ctx, date(2026, 11, 2), [tenant.tenant_id])
    assert str(first[tenant.tenant_id]["monthly_rendiconto"]).startswith("generated")
    again = await daily.run_daily(ctx, date(2026, 11, 3), [tenant.tenant_id])
    assert again[tenant.tenant_id]["monthly_rendiconto"] == "done"

    # The daily run may also send the office its digest: the rendiconto is the one that says so.
    [message] = [m for m in await smtp.wait_for(office) if "rendiconto" in str(m["Subject"])]
    assert "rendiconto dell'aggio di ottobre 2026" in message["Subject"]
    files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert set(files) == {"rendiconto-aggio-2026-10-v1.pdf", "rendiconto-aggio-2026-10-v1.xlsx"}
    text = message.get_body(("plain",))
    assert text is not None and "Totale da fatturare: 167,40 €" in text.get_content()

    viewer = as_role(tenant, "comune_viewer")
    async with service_client(platform, "reporting", viewer) as client:
        listing = await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio")
        assert listing.status_code == 200 and "ottobre 2026" in listing.text and office in listing.text
        async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
            [made] = await repository_aggio.list_rendiconti(uow, tenant.tenant_id)
        pdf = await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio/rendiconti/{made.id}.pdf")
        xlsx = await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio/rendiconti/{made.id}.xlsx")
    assert (made.aggio_cents, made.vat_cents, made.invoice_cents, made.emailed_to) == (
        13_721,
        3_019,
        16_740,
        [office],
    )
    assert hashlib.sha256(pdf.content).hexdigest() == made.pdf_sha256 == pdf.headers["x-content-sha256"]
    assert pdf.content == files["rendiconto-aggio-2026-10-v1.pdf"]
    assert b"167,40" in pdf.content and b"137,21" in pdf.content and b"c. 803" in pdf.content
    assert b"Oneri c. 803 incassati" in pdf.content and b"30,00" in pdf.content
    summary = [row for row in book_rows(xlsx.content, "Riepilogo") if row and row[0] == "TARI"]
    assert summary[-1][:2] == ("TARI", 30)
    # Every amount of the summary is a number the sheet adds up, not text.
    invoice = [row for row in book_rows(xlsx.content, "Riepilogo") if row and row[0] == "Totale da fatturare"]
    assert len(invoice) == 1 and isinstance(invoice[0][1], int | float)
    assert round(invoice[0][1] * 100) == made.invoice_cents
    totals = [row for row in book_rows(xlsx.content, "Riepilogo") if row and row[0] == "Totale"]
    assert all(isinstance(v, int | float) for v in totals[0][1:6]), totals
    assert hashlib.sha256(xlsx.content).hexdigest() == made.xlsx_sha256
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    # Read-only sheets drop a row's empty trailing cells: pad to the header's width.
    movements = [(*row, None, None)[:11] for row in book["Movimenti"].iter_rows(values_only=True)]
    assert len(movements) == 1 + 5  # header, three payments, two refunds
    kinds = sorted(str(row[1]) for row in movements[1:])
    assert kinds == ["Pagamento", "Pagamento", "Pagamento", "Rimborso", "Rimborso"]
    paid = sum(round(row[9] * 100) for row in movements[1:] if row[9] is not None)
    back = sum(round(row[10] * 100) for row in movements[1:] if row[10] is not None)
    assert (paid, back) == (163_009, 21_000)
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        actions = [e.action for e in await repo.access.entries(uow, tenant.tenant_id, made.id)]
    assert actions == ["download_rendiconto_pdf", "download_rendiconto_xlsx"]

    admin = as_role(tenant, "platform_admin")
    async with service_client(platform, "reporting", admin) as client:
        future = await client.post(
            f"/t/{tenant.tenant_slug}/reporting/aggio/rendiconti", data={"month": "2099-01"}, headers=HX
        )
        # October again, nothing changed: asked first, since a new version would repeat it.
        same = await client.post(
            f"/t/{tenant.tenant_slug}/reporting/aggio/rendiconti", data={"month": "2026-10"}, headers=HX
        )
        second = await client.post(
            f"/t/{tenant.tenant_slug}/reporting/aggio/rendiconti",
            data={"month": "2026-10", "conferma": "1"},
            headers=HX,
        )
        # A month before the contract's start is not rendered under it (the daily run skips it too).
        before = await client.post(
            f"/t/{tenant.tenant_slug}/reporting/aggio/rendiconti", data={"month": "2025-12"}, headers=HX
        )
    assert future.status_code == 400 and "mese già concluso" in future.text
    assert before.status_code == 400 and "non copre dicembre 2025" in html.unescape(before.text)
    assert same.status_code == 200 and 'data-testid="rendiconto-unchanged"' in same.text
    assert "ha già una versione con queste cifre (la 1," in html.unescape(same.text)
    assert second.status_code == 200 and second.text.count("ottobre 2026") >= 2
    assert "Rendiconto di ottobre 2026 generato (versione 2): in invio a" in html.unescape(second.text)
    assert len([m for m in await smtp.wait_for(office, count=2) if "rendiconto" in str(m["Subject"])]) == 2


@pytest.mark.asyncio
async def test_another_comune_sees_nothing_of_this_ones_aggio(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    await october(platform, tenant)
    assert (await save_contract(platform, tenant))[0] == 200
    db = platform.databases["reporting"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        await repository_aggio.save_office_emails(uow, tenant.tenant_id, ["a@comune.example.it"], "u")
        await uow.commit()
    async with db.unit_of_work(other_tenant.tenant_id) as uow:
        assert await repository_aggio.contract_versions(uow, other_tenant.tenant_id) == ()
        assert await repository_aggio.contract_versions(uow, tenant.tenant_id) == ()  # RLS too
        assert await repository_aggio.office_emails(uow, tenant.tenant_id) == []
        assert (
            await repository_aggio.bases(uow, tenant.tenant_id, date(2026, 10, 1), date(2026, 10, 31)) == {}
        )
        assert (
            await repository_aggio.movements(uow, tenant.tenant_id, date(2026, 10, 1), date(2026, 10, 31))
            == []
        )
        with pytest.raises(sa.exc.DBAPIError):  # B cannot write into A's rows
            await repository_aggio.save_office_emails(uow, tenant.tenant_id, ["b@altro.example.it"], "u")
    async with service_client(platform, "reporting", as_role(other_tenant, "api")) as client:
        refused = await client.get(f"{API}?{OCTOBER}")
    assert refused.status_code == 400 and "contratto" in refused.json()["error"]


@pytest.mark.asyncio
async def test_a_rendiconto_kept_by_the_development_mailer_is_not_said_sent(
    platform: Platform, tenant: Identity, tmp_path: Path
) -> None:
    await october(platform, tenant)
    assert (await save_contract(platform, tenant))[0] == 200
    async with service_client(platform, "reporting", as_role(tenant, "comune_admin")) as client:
        await client.post(
            f"/t/{tenant.tenant_slug}/reporting/aggio/contatti",
            data={"emails": "ut@comune.example.it"},
            headers=HX,
        )
    kept = FolderMailer(tmp_path, "Riscossa <noreply@riscossa.localhost>")
    ctx = dataclasses.replace(platform.context("reporting"), mailer=kept)
    await daily.run_daily(ctx, date(2026, 11, 2), [tenant.tenant_id])
    assert len(list(tmp_path.glob("*.eml"))) >= 1
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        [made] = await repository_aggio.list_rendiconti(uow, tenant.tenant_id)
    assert made.emailed_at is None and "nessun server di posta" in (made.email_error or "")


@pytest.mark.asyncio
async def test_the_debtors_charges_of_the_month_show_without_an_aggio_contract(
    platform: Platform, tenant: Identity
) -> None:
    today = datetime.now(ROME).date()
    owed = fact(50_000, "TARI")
    await deliver(
        platform, tenant.tenant_id, registered(owed), charges(owed, "TARI", 1_234, today.isoformat())
    )
    async with service_client(platform, "reporting", as_role(tenant, "comune_admin")) as client:
        shown = await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio")
    assert shown.status_code == 200 and 'data-testid="no-contract"' in shown.text
    table = shown.text.split('data-testid="charges"', 1)[1].split("</table>", 1)[0]
    assert "<td>TARI</td>" in table and "12,34" in table
