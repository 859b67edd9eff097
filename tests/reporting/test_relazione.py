"""The relazione di scarico through the real worker (PostgreSQL, RabbitMQ, SeaweedFS): requested by
the page or the API, generated with progress, stored as PDF, XLSX and CSV with their SHA-256 as a new
version each time, downloaded only by who may (every download in the access log), and its totals
equal to the sums over the events the other services sent."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from services.contracts import (
    DisputeOpened,
    Event,
    PaymentReceived,
    PaymentRefunded,
    PaymentRevoked,
    PaymentsReceived,
    PositionsRegistered,
)
from services.kernel.identity import Identity
from services.kernel.money import format_euro
from services.platform import Platform
from services.reporting import handlers_aggio_contract, handlers_cases, handlers_relazione, render_xlsx
from services.reporting import repository as repo
from services.reporting import repository_aggio as aggio_repo
from services.reporting.domain_aggio import ALL_TYPES, Band, Contract
from services.reporting.models_relazione import reports
from tests.conftest import eventually, service_client
from tests.reporting.helpers import deliver_envelope
from tests.reporting.test_cases import OPENED, to_cases, viewer
from tests.reporting.test_ledger import history
from tests.support import make_identity, until_today

API = "/api/v1/reporting/reports"
PERIOD = {"kind": "final", "period_from": "2026-01-01", "period_to": until_today("2026-12-31")}
ASSIGNED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), name=who.tenant_name)


async def finished(platform: Platform, who: Identity, relay: Any, report_id: str) -> dict[str, Any]:
    async with service_client(platform, "reporting", api(who)) as http:

        async def done() -> dict[str, Any] | None:
            await relay.drain()
            body: dict[str, Any] = (await http.get(f"{API}/{report_id}")).json()
            return body if body["status"] in ("done", "failed") else None

        found: dict[str, Any] = await eventually(done, timeout=60)
        return found


async def report_count(platform: Platform, tenant_id: uuid.UUID) -> int:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        stmt = sa.select(sa.func.count()).select_from(reports).where(reports.c.tenant_id == tenant_id)
        return int((await uow.execute(stmt)).scalar_one())


async def campaign(platform: Platform, who: Identity) -> dict[str, Any]:
    """The ledger's small campaign (its positions assigned on 1 March 2026, the day before its first
    call), plus a position the office cancels (sgravio) on a dispute."""
    events, known = history()
    extra = replace(
        known["a"], position_id=str(uuid.uuid4()), debtor_id=str(uuid.uuid4()), act_number="ACC-SGRAVIO"
    )
    extra = replace(extra, amount_cents=7_000)
    events.append(PositionsRegistered(str(uuid.uuid4()), 1, 1, (extra,)))
    for event in events:
        envelope = event.envelope(who.tenant_id, "test")
        if isinstance(event, PositionsRegistered):
            envelope = replace(envelope, occurred_at=ASSIGNED)
        await deliver_envelope(platform, envelope)
    dispute = str(uuid.uuid4())
    opened = DisputeOpened(dispute, extra.debtor_id, "Non dovuto", "op-1", OPENED)
    await to_cases(platform, who.tenant_id, opened)
    async with platform.databases["reporting"].unit_of_work(who.tenant_id) as uow:
        typed = handlers_cases.Typed("cancelled", "Atto annullato in autotutela", "", (extra.position_id,))
        await handlers_cases.answer(uow, viewer(who, "comune_admin"), uuid.UUID(dispute), typed)
        await uow.commit()
    return {**known, "events": events, "cancelled": extra}


def sums_over_events(events: list[Event], cancelled_cents: int) -> dict[str, int]:
    """Assigned, collected and residual from the events alone: registered minus cancelled; payments
    received minus revoked minus refunded."""
    registered = sum(
        f.amount_cents for e in events if isinstance(e, PositionsRegistered) for f in e.positions
    )
    received = sum(p.amount_cents for e in events if isinstance(e, PaymentsReceived) for p in e.payments)
    received += sum(e.amount_cents for e in events if isinstance(e, PaymentReceived))
    revoked = sum(e.amount_cents for e in events if isinstance(e, PaymentRevoked))
    refunded = sum(e.amount_cents for e in events if isinstance(e, PaymentRefunded))
    assigned, collected = registered - cancelled_cents, received - revoked - refunded
    return {"assigned": assigned, "collected": collected, "residual": assigned - collected}


@pytest.mark.asyncio
async def test_the_worker_stores_three_files_with_their_digest_and_a_new_version_each_time(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    known = await campaign(platform, tenant)
    async with service_client(platform, "reporting", api(tenant)) as http:
        queued = await http.post(API, json=PERIOD)
        assert queued.status_code == 202, queued.text
        assert queued.json()["status"] == "queued" and queued.json()["version"] == 1
        first = await finished(platform, tenant, worker, queued.json()["id"])
        again = await http.post(API, json=PERIOD)
        second = await finished(platform, tenant, worker, again.json()["id"])
        downloads = {fmt: await http.get(first["files"][fmt]["url"]) for fmt in ("pdf", "xlsx", "csv")}
        listed = (await http.get(API)).json()["reports"]

    assert first["status"] == "done", first
    assert first["progress"] == {"done": 4, "total": 4}
    assert (second["version"], second["status"]) == (2, "done")
    assert [r["id"] for r in listed[:2]] == [second["id"], first["id"]]
    for fmt in ("pdf", "xlsx", "csv"):
        stored, again_stored = first["files"][fmt], second["files"][fmt]
        body = downloads[fmt].content
        assert downloads[fmt].status_code == 200
        assert hashlib.sha256(body).hexdigest() == stored["sha256"] and len(body) == stored["size"]
        async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
            key = (
                await uow.execute(
                    sa.text(
                        "SELECT object_key FROM reporting.report_files WHERE report_id = :r AND format = :f"
                    ),
                    {"r": first["id"], "f": fmt},
                )
            ).scalar_one()
        assert key.startswith(f"tenants/{tenant.tenant_id}/reporting/relazioni/{first['id']}/")
        # Named by kind, period and version: the files of two periods never share a name.
        period = f"20260101-{PERIOD['period_to'].replace('-', '')}"
        assert key.endswith(f"/relazione-finale-{period}-v1.{fmt}")
        assert (
            f'filename="relazione-finale-{period}-v1.{fmt}"' in downloads[fmt].headers["content-disposition"]
        )
        head = await platform.storage.head(tenant.tenant_id, key)
        assert (head.sha256, head.size) == (stored["sha256"], stored["size"])
        assert again_stored["url"] != stored["url"]
        # Each version says which it is, the CSV too: the same data never gives the same file.
        assert again_stored["sha256"] != stored["sha256"], fmt
    rows = list(csv.reader(io.StringIO(downloads["csv"].content.decode("utf-8-sig")), delimiter=";"))
    by_act = {r[3]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_act["ACC-SGRAVIO"]["Motivo mancata riscossione"] == "Annullata dall'ufficio (sgravio)"
    assert by_act["ACC-SGRAVIO"]["Prossimo passo"] == "Discarico"
    b = by_act[known["b"].act_number]
    assert (b["Riscosso"], b["Motivo mancata riscossione"], b["Piano decaduto il"]) == (
        "75,00",
        "Piano di rateizzazione decaduto",
        "01/09/2026",
    )
    assert by_act[known["a"].act_number]["Motivo mancata riscossione"] == ""
    # c's one counted payment is dated 14/03/2025, a year before the position was assigned: a part
    # payment, the rest still due and pursued (not proposed for discharge as paid before)
    c = by_act[known["c"].act_number]
    assert (c["Riscosso"], c["Motivo mancata riscossione"]) == ("10,00", "In lavorazione, senza esito")
    assert c["Prossimo passo"] != "Discarico"
    assert (
        "flusso" not in c["Pagamenti (IUV, data, flusso)"]
        and "14/03/2025" in c["Pagamenti (IUV, data, flusso)"]
    )
    book = openpyxl.load_workbook(io.BytesIO(downloads["xlsx"].content), read_only=True)
    assert [r[0] for r in book["Posizioni"].iter_rows(min_row=2, values_only=True)].count(
        known["a"].fiscal_code
    ) >= 1
    assert downloads["pdf"].content.startswith(b"%PDF")


@pytest.mark.asyncio
async def test_the_relazione_totals_equal_the_sums_over_the_events(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    known = await campaign(platform, tenant)
    cancelled = known["cancelled"].amount_cents
    expected = sums_over_events(known["events"], cancelled)
    async with service_client(platform, "reporting", api(tenant)) as http:
        queued = await http.post(API, json=PERIOD)
        done = await finished(platform, tenant, worker, queued.json()["id"])
        summary = (await http.get("/api/v1/reporting/summary")).json()
    assert done["assigned_cents"] == expected["assigned"] == summary["assigned_cents"]
    assert expected["assigned"] == 92_345 and cancelled == 7_000
    assert done["collected_cents"] == expected["collected"] == summary["collected_cents"] == 58_500
    assert done["residual_cents"] == expected["residual"]
    assert done["aggio_cents"] == 0 and done["aggio_rate_bp"] == 0


@pytest.mark.asyncio
async def test_bad_requests_get_an_italian_message_and_record_nothing(
    platform: Platform, tenant: Identity
) -> None:
    wrong = [
        ({**PERIOD, "period_from": "2026-12-31", "period_to": "2026-01-01"}, "period_to", "termina prima"),
        ({**PERIOD, "kind": "settimanale"}, "kind", "interim"),
        ({**PERIOD, "period_from": "31-12-2026"}, "period_from", "non è valida"),
        ({**PERIOD, "period_to": "2099-12-31"}, "period_to", "non può finire dopo oggi"),
        ({"kind": "final"}, "period_from", "non è valida"),
    ]
    async with service_client(platform, "reporting", api(tenant)) as http:
        for body, field, words in wrong:
            answer = await http.post(API, json=body)
            assert answer.status_code == 400, answer.text
            assert answer.json()["field"] == field and words in answer.json()["error"], answer.json()
        assert (await http.post(API, content=b"not json")).status_code == 400
    async with service_client(platform, "reporting", tenant) as http:
        form = {"kind": "interim", "period_from": "2026-05-01", "period_to": "2026-04-01"}
        page = await http.post(
            f"/t/{tenant.tenant_slug}/reporting/reports", data=form, headers={"HX-Request": "true"}
        )
    assert page.status_code == 400
    assert (
        'aria-invalid="true" aria-describedby="period_to-errore"' in page.text
        and "termina prima" in page.text
    )
    assert await report_count(platform, tenant.tenant_id) == 0
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        outbox = await uow.execute(
            sa.text(
                "SELECT count(*) FROM reporting.outbox WHERE routing_key = 'reporting.job_requested.v1' AND tenant_id = :t"
            ),
            {"t": tenant.tenant_id},
        )
        assert outbox.scalar_one() == 0


@pytest.mark.asyncio
async def test_the_page_requests_polls_and_offers_downloads_to_who_may_and_audits_them(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    await campaign(platform, tenant)
    base = f"/t/{tenant.tenant_slug}/reporting/reports"
    office = viewer(tenant, "comune_admin")
    async with service_client(platform, "reporting", office) as http:
        page = await http.get(base)
        assert page.status_code == 200 and "Genera relazione di scarico" in page.text
        form = {"kind": "interim", "period_from": "2026-01-01", "period_to": until_today("2026-12-31")}
        queued = await http.post(base, data=form, headers={"HX-Request": "true"})
        assert (
            queued.status_code == 200
            and "<progress" in queued.text
            and 'hx-trigger="every 1s"' in queued.text
        )
        report_id = re.search(r'id="report-([0-9a-f-]{36})"', queued.text).group(1)  # type: ignore[union-attr]
        # In the list the whole row polls (its totals come with the documents), not its status alone.
        assert f'hx-get="{base}/{report_id}?riga=1"' in queued.text
        assert f'hx-get="{base}/{report_id}" hx-trigger' not in queued.text
        done = await finished(platform, tenant, worker, report_id)
        polled = await http.get(f"{base}/{report_id}", headers={"HX-Request": "true"})
        row = await http.get(f"{base}/{report_id}?riga=1", headers={"HX-Request": "true"})
    assert "hx-trigger" not in polled.text and "Scarica PDF" in polled.text and "Scarica CSV" in polled.text
    assert row.text.lstrip().startswith(f'<tr id="report-row-{report_id}"') and "hx-trigger" not in row.text
    assert "Scarica PDF" in row.text and format_euro(done["residual_cents"]) in row.text, row.text
    for role, status in (("comune_viewer", 200), ("supervisor", 200), ("operator", 403)):
        async with service_client(platform, "reporting", viewer(tenant, role)) as http:
            assert (await http.get(f"{base}/{report_id}.csv")).status_code == status, role
    async with service_client(platform, "reporting", viewer(tenant, "comune_viewer")) as http:
        assert (await http.get(f"{base}/{report_id}.docx")).status_code == 404
        assert (await http.get(f"{base}/{uuid.uuid4()}.pdf")).status_code == 404
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        logged = await repo.access.entries(uow, tenant.tenant_id)
    downloads = [(e.action, str(e.subject_id)) for e in logged if e.action == "download_relazione"]
    assert downloads == [("download_relazione", report_id)] * 2


@pytest.mark.asyncio
async def test_another_comune_cannot_see_or_download(
    platform: Platform, tenant: Identity, other_tenant: Identity, worker: Any
) -> None:
    await campaign(platform, tenant)
    async with service_client(platform, "reporting", api(tenant)) as http:
        queued = await http.post(API, json=PERIOD)
    done = await finished(platform, tenant, worker, queued.json()["id"])
    async with service_client(platform, "reporting", api(other_tenant)) as http:
        assert (await http.get(f"{API}/{done['id']}")).status_code == 404
        assert (await http.get(done["files"]["pdf"]["url"])).status_code == 404


@pytest.mark.asyncio
async def test_a_tampered_file_is_not_served(platform: Platform, tenant: Identity, worker: Any) -> None:
    async with service_client(platform, "reporting", api(tenant)) as http:
        queued = await http.post(API, json=PERIOD)
        done = await finished(platform, tenant, worker, queued.json()["id"])
        async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
            key = (
                await uow.execute(
                    sa.text(
                        "SELECT object_key FROM reporting.report_files WHERE report_id = :r AND format = 'csv'"
                    ),
                    {"r": done["id"]},
                )
            ).scalar_one()
        await platform.storage.put_bytes(tenant.tenant_id, key, b"forged", "text/csv")
        response = await http.get(done["files"]["csv"]["url"])
    assert response.status_code == 500 and "impronta" in response.text


@pytest.mark.asyncio
async def test_the_aggio_is_none_without_a_contract_and_the_contracts_when_there_is_one(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    await campaign(platform, tenant)
    db = platform.databases["reporting"]
    async with service_client(platform, "reporting", api(tenant)) as http:
        none_yet = await finished(platform, tenant, worker, (await http.post(API, json=PERIOD)).json()["id"])
        pdf_status = (await http.get(none_yet["files"]["pdf"]["url"])).status_code
    assert none_yet["aggio_cents"] == 0 and pdf_status == 200

    by_type = Contract(
        "REP-2026/7",
        date(2026, 1, 1),
        (Band("IMU", 0, None, 1_000), Band(ALL_TYPES, 0, None, 500)),
        vat_applies=True,
        vat_rate_bp=2_200,
    )
    async with db.unit_of_work(tenant.tenant_id) as uow:
        await aggio_repo.put_version(uow, tenant.tenant_id, None, by_type, tenant.tenant_name, "admin")
        await uow.commit()
    async with service_client(platform, "reporting", api(tenant)) as http:
        queued = await http.post(API, json=PERIOD)
        contract = await finished(platform, tenant, worker, queued.json()["id"])
        xlsx = (await http.get(contract["files"]["xlsx"]["url"])).content
    async with db.unit_of_work(tenant.tenant_id) as uow:
        invoiced = await handlers_aggio_contract.period_aggio(
            uow, tenant.tenant_id, date(2026, 1, 1), date.today()
        )
    # March 2026: IMU 10% of 500,00; TARI 5% of 100,00 - 25,00 refunded; the CDS payment of 2025
    # predates the contract; the revoked one never counts.
    assert contract["aggio_cents"] == 5_000 + 375 == invoiced.result.aggio_cents
    assert contract["aggio_rate_bp"] is None
    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    header = dict(book["Intestazione"].iter_rows(values_only=True))
    assert header["Contratto"] == "REP-2026/7, dal 01/01/2026, aggio aliquota per tipo di entrata, IVA 22,00%"
    closing = {r[0]: r for r in book["Totali"].iter_rows(values_only=True) if r and r[0]}
    assert "REP-2026/7" in str(closing["Regola dell'aggio"][1]) and closing["Aggio"][5] == 53.75
    assert closing["IVA 22,00%"][5] == 11.83 and closing["Totale da fatturare"][5] == 65.58


@pytest.mark.asyncio
async def test_a_relazione_the_rules_refuse_ends_failed_with_its_message_on_the_page(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    await campaign(platform, tenant)
    only_imu = Contract("REP-1", date(2026, 1, 1), (Band("IMU", 0, None, 1_000),), vat_applies=False)
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        await aggio_repo.put_version(uow, tenant.tenant_id, None, only_imu, tenant.tenant_name, "admin")
        await uow.commit()
    async with service_client(platform, "reporting", api(tenant)) as http:
        queued = await http.post(API, json=PERIOD)
    failed = await finished(platform, tenant, worker, queued.json()["id"])
    assert failed["status"] == "failed" and failed["files"] == {}
    assert failed["error"] == "Il contratto non prevede un'aliquota per: CDS, TARI."
    async with service_client(platform, "reporting", viewer(tenant, "comune_admin")) as http:
        shown = await http.get(
            f"/t/{tenant.tenant_slug}/reporting/reports/{failed['id']}", headers={"HX-Request": "true"}
        )
        listed = await http.get(f"/t/{tenant.tenant_slug}/reporting/reports")
    assert 'role="alert"' in shown.text and "non prevede un&#39;aliquota" in shown.text
    assert "hx-trigger" not in shown.text and "non prevede un&#39;aliquota" in listed.text


@pytest.mark.asyncio
async def test_an_interim_covers_the_positions_assigned_by_its_end_and_the_payments_within_it(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    await campaign(platform, tenant)
    before = {"kind": "interim", "period_from": "2026-01-01", "period_to": "2026-02-28"}
    march = {"kind": "interim", "period_from": "2026-03-01", "period_to": "2026-03-31"}
    async with service_client(platform, "reporting", api(tenant)) as http:
        empty = await finished(platform, tenant, worker, (await http.post(API, json=before)).json()["id"])
        first = await finished(platform, tenant, worker, (await http.post(API, json=march)).json()["id"])
        csv_body = (await http.get(first["files"]["csv"]["url"])).content
    assert (empty["status"], empty["progress"]["total"], empty["assigned_cents"]) == ("done", 0, 0)
    # In March all five positions were assigned and none yet cancelled (the sgravio came later);
    # March's payments: 500,00 and 100,00 less the 25,00 refunded; the 2025 one and the revoked do
    # not count.
    assert (first["assigned_cents"], first["collected_cents"]) == (92_345 + 7_000, 57_500)
    rows = list(csv.reader(io.StringIO(csv_body.decode("utf-8-sig")), delimiter=";"))
    reason = rows[0].index("Motivo mancata riscossione")
    reasons = {r[3]: r[reason] for r in rows[1:]}
    assert reasons["ACC-SGRAVIO"] == "Non ancora lavorata"


def _xlsx_library_fails(*_: object) -> None:
    raise OSError("no space left on device")


@pytest.mark.asyncio
async def test_a_failed_xlsx_fails_the_relazione_with_the_message_the_page_shows(
    platform: Platform, tenant: Identity, worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await campaign(platform, tenant)
    monkeypatch.setattr(render_xlsx, "_save", _xlsx_library_fails)
    async with service_client(platform, "reporting", api(tenant)) as http:
        queued = await http.post(API, json=PERIOD)
    failed = await finished(platform, tenant, worker, queued.json()["id"])
    assert failed["status"] == "failed" and failed["files"] == {}
    assert failed["error"] == handlers_relazione.INTERNAL_ERROR
    async with service_client(platform, "reporting", viewer(tenant, "comune_admin")) as http:
        shown = await http.get(
            f"/t/{tenant.tenant_slug}/reporting/reports/{failed['id']}", headers={"HX-Request": "true"}
        )
    assert 'role="alert"' in shown.text and "errore interno" in shown.text


@pytest.mark.asyncio
async def test_the_aggio_of_an_amended_contract_takes_each_months_version(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    await campaign(platform, tenant)
    first = Contract(
        "REP-2026/7",
        date(2026, 1, 1),
        (Band("IMU", 0, None, 1_000), Band(ALL_TYPES, 0, None, 500)),
        vat_applies=True,
        vat_rate_bp=2_200,
    )
    amended = Contract(
        "REP-2026/7-bis", date(2026, 3, 1), (Band(ALL_TYPES, 0, None, 2_000),), vat_applies=False
    )
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        for contract in (first, amended):
            await aggio_repo.put_version(uow, tenant.tenant_id, None, contract, tenant.tenant_name, "admin")
        await uow.commit()
    async with service_client(platform, "reporting", api(tenant)) as http:
        queued = await http.post(API, json=PERIOD)
        done = await finished(platform, tenant, worker, queued.json()["id"])
        xlsx = (await http.get(done["files"]["xlsx"]["url"])).content
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        invoiced = await handlers_aggio_contract.period_aggio(
            uow, tenant.tenant_id, date(2026, 1, 1), date.today()
        )
    # March 2026 under the amendment: 20% of 500,00 + 100,00 - 25,00 refunded, without VAT (the
    # first version would have given 53,75 and VAT).
    assert done["aggio_cents"] == 11_500 == invoiced.result.aggio_cents
    assert done["aggio_rate_bp"] is None
    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    header = dict(book["Intestazione"].iter_rows(values_only=True))
    assert header["Contratto"] == (
        "REP-2026/7, dal 01/01/2026 aggio aliquota per tipo di entrata, IVA 22,00%; "
        "REP-2026/7-bis, dal 01/03/2026 aggio 20,00%, IVA non applicata"
    )
    closing = {r[0]: r for r in book["Totali"].iter_rows(values_only=True) if r and r[0]}
    assert "Contratto in 2 versioni" in str(closing["Regola dell'aggio"][1]) and closing["Aggio"][5] == 115
