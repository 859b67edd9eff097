"""Cleaning and tracing: merged debtors, contacts with provenance, grades, tracing, cleaning report."""

from __future__ import annotations

import asyncio
import io
import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pypdfium2
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from services.contracts import ContactFact, ContactsRegistered, DebtorContactUpdated
from services.ingest import handlers_tracing, repository_cleaning, repository_tracing
from services.ingest.domain_contacts import ContactDatum
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import eventually, service_client
from tests.ingest.helpers import process, published, store_batch

HEADER = "codice_fiscale;nominativo;tributo;anno;numero_atto;importo;telefono;email;indirizzo;cap;comune\n"
ROSSI, ALFA, BIANCHI = "RSSMRA80A01H501U", "00743110157", "BNCGLI85C41F205O"


async def ingest(platform: Platform, tenant: Identity, body: str) -> None:
    await process(platform, await store_batch(platform, tenant.tenant_id, (HEADER + body).encode(), "a.csv"))


async def debtor(platform: Platform, tenant: Identity, code: str) -> object:
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        return (await repository_tracing.debtors_by_fiscal_code(uow, tenant.tenant_id, [code])).get(code)


async def seed(platform: Platform, tenant: Identity) -> None:
    await ingest(
        platform,
        tenant,
        f"{ROSSI};ROSSI MARIO;IMU;2023;1;10,00;347 1234567;mario@example.it;VIA ROMA 1;00100;ROMA\n"
        f"{ROSSI};ROSSI MARIO;TARI;2023;2;20,00;+39 347 1234567;;VIA ROMA 1;00100;ROMA\n"
        f"{ALFA};ALFA SRL;IMU;2023;3;30,00;n.d.;alfa@pec.example.it;VIA PO 2;10100;TORINO\n"
        f"{BIANCHI};BIANCHI GIULIA;IMU;2023;4;40,00;;;VIA LAGO;;\n",
    )


@pytest.mark.asyncio
async def test_same_taxpayer_across_rows_and_batches_is_one_debtor_with_graded_contacts(
    platform: Platform, tenant: Identity
) -> None:
    await seed(platform, tenant)
    assert (await debtor(platform, tenant, BIANCHI)).grade == "none"  # type: ignore[attr-defined]
    await ingest(
        platform,
        tenant,
        f"{ROSSI};ROSSI MARIO;CDS;2024;9;5,00;06 1234567;;VIA ROMA 1;00100;ROMA\n"
        f"{BIANCHI};BIANCHI GIULIA;TARI;2024;8;7,00;3331234567;;;;\n",
    )

    rossi = await debtor(platform, tenant, ROSSI)
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        positions = await repository_tracing.debtor_positions(uow, tenant.tenant_id, rossi.id)  # type: ignore[attr-defined]
        contacts = await repository_tracing.debtor_contacts(uow, tenant.tenant_id, rossi.id)  # type: ignore[attr-defined]
        grades = await repository_tracing.grade_counts(uow, tenant.tenant_id)
    assert [p.revenue_type for p in positions] == ["IMU", "TARI", "CDS"]
    assert sorted((c.kind, c.value) for c in contacts) == [
        ("address", "VIA ROMA 1 00100 ROMA"),
        ("email", "mario@example.it"),
        ("phone", "+39061234567"),
        ("phone", "+393471234567"),
    ]
    assert {(c.source, c.entered_by, c.confidence) for c in contacts} == {("comune", "test-user", 60)}
    assert rossi.grade == "phone"  # type: ignore[attr-defined]
    assert (await debtor(platform, tenant, ALFA)).grade == "address"  # type: ignore[attr-defined]
    # Known before the second batch, graded again once its new phone arrived.
    assert (await debtor(platform, tenant, BIANCHI)).grade == "phone"  # type: ignore[attr-defined]
    assert grades == {"phone": 2, "address": 1}


TRACING_GOOD = (
    "Codice fiscale;Telefono;Indirizzo;PEC;Fonte;Data reperimento;Affidabilità\n"
    f"{BIANCHI};+39 333 1112222;VIA NUOVA 3 20100 MILANO;;InfoTrace;10/11/2026;85\n"
    f"{ALFA};;;alfa2@pec.example.it;InfoTrace;2026-11-01;\n"
)
TRACING = (
    TRACING_GOOD + "RSSMRA80A01H501A;3331112222;;;InfoTrace;10/11/2026;\n"
    "RSSMRA80A01H501U;12;;;InfoTrace;10/11/2026;\n"
    f"{ROSSI};3331112223;;;InfoTrace;;\n"
)


@pytest.mark.asyncio
async def test_tracing_file_adds_contacts_with_provenance_and_publishes_updates(
    platform: Platform, tenant: Identity
) -> None:
    await seed(platform, tenant)
    base = f"/t/{tenant.tenant_slug}/ingest"
    async with service_client(platform, "ingest", tenant) as client:
        before = await client.get(f"{base}/tracing")
        refused = await client.post(
            f"{base}/tracing/import",
            files={"file": ("rintraccio.csv", TRACING.encode("cp1252"), "text/csv")},
            data={"csrf_token": "t"},
            headers={"HX-Request": "true"},
        )
        unchanged = await client.get(f"{base}/tracing")
        result = await client.post(
            f"{base}/tracing/import",
            files={"file": ("rintraccio.csv", TRACING_GOOD.encode("cp1252"), "text/csv")},
            data={"csrf_token": "t"},
            headers={"HX-Request": "true"},
        )
        after = await client.get(f"{base}/tracing")
    assert BIANCHI in before.text and ALFA in before.text and ROSSI not in before.text
    # One unusable row: nothing is imported, every bad row is listed with its reason.
    assert refused.status_code == 400 and "Nessun recapito importato" in refused.text
    assert "non presente tra i debitori" not in refused.text  # an invalid code is refused before lookup
    assert "Codice fiscale o partita IVA non valido" in refused.text
    assert "Telefono non utilizzabile: «12»" in refused.text
    assert "Data di reperimento non valida" in refused.text
    assert BIANCHI in unchanged.text
    assert result.status_code == 200 and '<strong data-testid="added">3</strong>' in result.text
    # The page's counts and queue come back out of band, without the debtor now reachable by phone.
    assert '<section aria-labelledby="queue-title" id="tracing-queue" hx-swap-oob="true">' in result.text
    assert '<dd class="col-sm-8" data-grade="phone">2</dd>' in result.text
    assert ALFA in result.text and BIANCHI not in result.text
    assert BIANCHI not in after.text and ALFA in after.text

    bianchi = await debtor(platform, tenant, BIANCHI)
    assert bianchi.grade == "phone"  # type: ignore[attr-defined]
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        contacts = await repository_tracing.debtor_contacts(uow, tenant.tenant_id, bianchi.id)  # type: ignore[attr-defined]
    traced = [c for c in contacts if c.source == "InfoTrace"]
    assert sorted((c.kind, c.value, c.confidence, c.found_on.isoformat()) for c in traced) == [
        ("address", "VIA NUOVA 3 20100 MILANO", 85, "2026-11-10"),
        ("phone", "+393331112222", 85, "2026-11-10"),
    ]
    events = [
        DebtorContactUpdated.from_envelope(e)
        for e in await published(platform, tenant.tenant_id, DebtorContactUpdated.routing_key())
    ]
    assert [(e.fiscal_code, e.kind, e.grade) for e in events] == [
        (BIANCHI, "phone", "phone"),
        (BIANCHI, "address", "phone"),
        (ALFA, "pec", "address"),
    ]
    assert events[0].active_phones == ("+393331112222",)
    assert [(e.found_on, e.confidence) for e in events[:2]] == [("2026-11-10", 85), ("2026-11-10", 85)]


@pytest.mark.asyncio
async def test_operator_adds_a_contact_then_marks_it_wrong(platform: Platform, tenant: Identity) -> None:
    await seed(platform, tenant)
    alfa = await debtor(platform, tenant, ALFA)
    api = f"/api/v1/ingest/debtors/{alfa.id}"  # type: ignore[attr-defined]
    async with service_client(platform, "ingest", tenant) as client:
        added = await client.post(
            f"{api}/contacts",
            data={"kind": "phone", "value": "011 5551234", "source": "telefonata", "confidence": "90"},
        )
        bad = await client.post(f"{api}/contacts", data={"kind": "phone", "value": "boh"})
        contact_id = next(c["id"] for c in added.json()["contacts"] if c["value"] == "+390115551234")
        wrong = await client.post(f"/api/v1/ingest/contacts/{contact_id}/wrong")
        again = await client.post(f"{api}/contacts", data={"kind": "phone", "value": "0115551234"})
        page = await client.get(f"/t/{tenant.tenant_slug}/ingest/debtors/{alfa.id}")  # type: ignore[attr-defined]
    assert added.status_code == 201 and added.json()["grade"] == "phone"
    entry = next(c for c in added.json()["contacts"] if c["id"] == contact_id)
    assert (entry["source"], entry["entered_by"], entry["confidence"]) == (
        "telefonata",
        "Utente di prova",
        90,
    )
    assert bad.status_code == 400 and "Telefono non utilizzabile" in bad.json()["error"]
    assert wrong.status_code == 200 and wrong.json()["grade"] == "address"
    assert next(c for c in wrong.json()["contacts"] if c["id"] == contact_id)["wrong"] is True
    assert again.status_code == 409
    assert "Segnalato errato da Utente di prova" in page.text
    events = [
        DebtorContactUpdated.from_envelope(e)
        for e in await published(platform, tenant.tenant_id, DebtorContactUpdated.routing_key())
    ]
    assert [(e.active, e.grade, e.active_phones, e.confidence) for e in events] == [
        (True, "phone", ("+390115551234",), 90),
        (False, "address", (), 90),
    ]
    assert events[0].found_on == entry["found_on"]


@pytest.mark.asyncio
async def test_tracing_file_adds_only_data_not_yet_known(platform: Platform, tenant: Identity) -> None:
    """A datum the debtor has (from the Comune, an earlier tracing file, or marked wrong) or that
    the file repeats is added once; only what was added is published, in the order of the file."""
    await seed(platform, tenant)
    rossi = await debtor(platform, tenant, ROSSI)
    mobile = "+393471234567"
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        known = await repository_tracing.debtor_contacts(uow, tenant.tenant_id, rossi.id)  # type: ignore[attr-defined]
        await repository_tracing.deactivate_contact(
            uow, tenant.tenant_id, next(c.id for c in known if c.value == mobile), "operatore"
        )
        await uow.commit()
    traced = (
        "Codice fiscale;Telefono;Email;Fonte;Data reperimento;Affidabilità\n"
        f"{ROSSI};347 1234567;mario@example.it;InfoTrace;10/11/2026;90\n"  # both known, one wrong
        f"{ROSSI};333 9998887;;InfoTrace;10/11/2026;90\n"
        f"{BIANCHI};333 9998887;;InfoTrace;10/11/2026;80\n"  # the same number, another debtor
        f"{ROSSI};+39 333 9998887;;Altra fonte;11/11/2026;50\n"  # repeated by the file
    )
    async with service_client(platform, "ingest", tenant) as client:
        first = await client.post(
            "/api/v1/ingest/tracing/import", files={"file": ("r.csv", traced.encode(), "text/csv")}
        )
        again = await client.post(
            "/api/v1/ingest/tracing/import", files={"file": ("r.csv", traced.encode(), "text/csv")}
        )
    assert (first.status_code, first.json()) == (200, {"added": 2, "rows": 4})
    assert (again.status_code, again.json()) == (200, {"added": 0, "rows": 4})
    events = [
        DebtorContactUpdated.from_envelope(e)
        for e in await published(platform, tenant.tenant_id, DebtorContactUpdated.routing_key())
    ]
    assert [(e.fiscal_code, e.value, e.source, e.confidence, e.grade) for e in events] == [
        (ROSSI, "+393339998887", "InfoTrace", 90, "phone"),
        (BIANCHI, "+393339998887", "InfoTrace", 80, "phone"),
    ]
    assert events[0].active_phones == ("+393339998887",)  # the number marked wrong stays out
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        after = await repository_tracing.debtor_contacts(uow, tenant.tenant_id, rossi.id)  # type: ignore[attr-defined]
    assert [(c.value, c.active) for c in after if c.value == mobile] == [(mobile, False)]
    assert (await debtor(platform, tenant, BIANCHI)).grade == "phone"  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_tracing_file_in_several_statements_keeps_the_first_of_each_datum(
    platform: Platform, tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(platform, tenant)
    monkeypatch.setattr(repository_tracing, "CONTACTS_PER_STATEMENT", 3)
    lines = [f"{BIANCHI};333 55500{i:02d};InfoTrace;10/11/2026;{50 + i}" for i in range(10)]
    lines.insert(2, f"{ALFA};333 5550003;InfoTrace;10/11/2026;40")
    lines.append(f"{BIANCHI};333 5550003;Altra fonte;11/11/2026;10")  # repeats line 5 of the data
    body = "Codice fiscale;Telefono;Fonte;Data reperimento;Affidabilità\n" + "\n".join(lines) + "\n"
    async with service_client(platform, "ingest", tenant) as client:
        response = await client.post(
            "/api/v1/ingest/tracing/import", files={"file": ("r.csv", body.encode(), "text/csv")}
        )
    assert (response.status_code, response.json()["added"]) == (200, 11)
    events = [
        DebtorContactUpdated.from_envelope(e)
        for e in await published(platform, tenant.tenant_id, DebtorContactUpdated.routing_key())
    ]
    # In the order of the file, whatever order they were inserted in.
    assert [(e.fiscal_code, e.value[-2:], e.confidence) for e in events] == [
        (BIANCHI, "00", 50),
        (BIANCHI, "01", 51),
        (ALFA, "03", 40),
        *((BIANCHI, f"{i:02d}", 50 + i) for i in range(2, 10)),
    ]
    assert len({e.contact_id for e in events}) == 11


async def someone_waits_for_a_debtor_row(platform: Platform) -> bool:
    """Whether a transaction is waiting for a lock on a debtor's row (or a statement on debtors)."""
    async with platform.databases["ingest"].engine.connect() as conn:
        waiting = await conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%ingest.debtors%'"
            )
        )
        return bool(waiting.scalar_one())


@pytest.mark.asyncio
async def test_a_debtor_graded_by_a_batch_and_a_tracing_file_together_keeps_the_right_grade(
    platform: Platform, tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch grades BIANCHI while a tracing import that has just added a phone for him and
    graded him has not committed yet: once it commits, the batch must see that phone."""
    await seed(platform, tenant)
    batch_cleaning, traced_graded, release_tracing = asyncio.Event(), asyncio.Event(), asyncio.Event()
    clean_batch, contacts_changed = repository_cleaning.clean_batch, handlers_tracing._contacts_changed

    async def clean_after_tracing(*args: Any, **kwargs: Any) -> None:
        batch_cleaning.set()
        await traced_graded.wait()
        await clean_batch(*args, **kwargs)

    async def changed_then_wait(*args: Any, **kwargs: Any) -> None:
        await contacts_changed(*args, **kwargs)
        traced_graded.set()
        await release_tracing.wait()  # before the commit, holding the lock on BIANCHI's row

    monkeypatch.setattr(repository_cleaning, "clean_batch", clean_after_tracing)
    monkeypatch.setattr(handlers_tracing, "_contacts_changed", changed_then_wait)
    row = f"{BIANCHI};BIANCHI GIULIA;TARI;2024;77;7,00;;;;;\n"
    batch = asyncio.create_task(
        process(platform, await store_batch(platform, tenant.tenant_id, (HEADER + row).encode(), "b.csv"))
    )
    await asyncio.wait_for(batch_cleaning.wait(), 30)
    traced = f"Codice fiscale;Telefono;Fonte;Data reperimento\n{BIANCHI};333 5556667;InfoTrace;10/11/2026\n"

    async def import_tracing() -> httpx.Response:
        async with service_client(platform, "ingest", tenant) as client:
            files = {"file": ("r.csv", traced.encode(), "text/csv")}
            return await client.post("/api/v1/ingest/tracing/import", files=files)

    tracing = asyncio.create_task(import_tracing())
    await asyncio.wait_for(traced_graded.wait(), 30)

    await eventually(lambda: someone_waits_for_a_debtor_row(platform))
    release_tracing.set()
    assert (await asyncio.wait_for(tracing, 30)).status_code == 200
    await asyncio.wait_for(batch, 30)
    assert (await debtor(platform, tenant, BIANCHI)).grade == "phone"  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_an_operator_grading_a_debtor_a_batch_is_grading_sees_the_batch_contacts(
    platform: Platform, tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other way round: the batch has added a phone for BIANCHI and graded him but has not
    committed when an operator adds his address; once the batch commits, the operator's grading
    must see its phone."""
    await seed(platform, tenant)
    bianchi = await debtor(platform, tenant, BIANCHI)
    batch_graded, release_batch = asyncio.Event(), asyncio.Event()
    clean_batch = repository_cleaning.clean_batch

    async def clean_then_wait(*args: Any, **kwargs: Any) -> None:
        await clean_batch(*args, **kwargs)
        batch_graded.set()
        await release_batch.wait()  # before the commit, holding the lock on BIANCHI's row

    monkeypatch.setattr(repository_cleaning, "clean_batch", clean_then_wait)
    row = f"{BIANCHI};BIANCHI GIULIA;TARI;2024;78;7,00;333 4445556;;;;\n"
    envelope = await store_batch(platform, tenant.tenant_id, (HEADER + row).encode(), "b.csv")
    batch = asyncio.create_task(process(platform, envelope))
    await asyncio.wait_for(batch_graded.wait(), 30)

    async def add_address() -> httpx.Response:
        async with service_client(platform, "ingest", tenant) as client:
            data = {"kind": "address", "value": "VIA NUOVA 3 20100 MILANO", "source": "telefonata"}
            return await client.post(f"/api/v1/ingest/debtors/{bianchi.id}/contacts", data=data)  # type: ignore[attr-defined]

    operator = asyncio.create_task(add_address())

    await eventually(lambda: someone_waits_for_a_debtor_row(platform))
    release_batch.set()
    await asyncio.wait_for(batch, 30)
    response = await asyncio.wait_for(operator, 30)
    assert (response.status_code, response.json()["grade"]) == (201, "phone")
    assert (await debtor(platform, tenant, BIANCHI)).grade == "phone"  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_other_tenant_cannot_see_or_change_debtors_and_contacts(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    await seed(platform, tenant)
    rossi = await debtor(platform, tenant, ROSSI)
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        [contact, *_] = await repository_tracing.debtor_contacts(uow, tenant.tenant_id, rossi.id)  # type: ignore[attr-defined]
    async with service_client(platform, "ingest", other_tenant) as client:
        seen = await client.get(f"/api/v1/ingest/debtors/{rossi.id}")  # type: ignore[attr-defined]
        changed = await client.post(f"/api/v1/ingest/contacts/{contact.id}/wrong")
        added = await client.post(
            f"/api/v1/ingest/debtors/{rossi.id}/contacts", data={"kind": "phone", "value": "3470000000"}
        )  # type: ignore[attr-defined]
    assert [r.status_code for r in (seen, changed, added)] == [404, 404, 404]
    async with platform.databases["ingest"].unit_of_work(other_tenant.tenant_id) as uow:
        assert await repository_tracing.debtor_contacts(uow, tenant.tenant_id, rossi.id) == []  # type: ignore[attr-defined]
        # A tracing file's contacts only go to debtors of the Comune importing it.
        datum = ContactDatum("phone", "+393470000000")
        new = repository_tracing.NewContact(rossi.id, datum, "X", date(2026, 11, 1), 50)  # type: ignore[attr-defined]
        assert await repository_tracing.add_contacts(uow, other_tenant.tenant_id, "x", [new]) == []
        assert await repository_tracing.deactivate_contact(uow, tenant.tenant_id, contact.id, "x") is None
    assert (await debtor(platform, tenant, ROSSI)).grade == "phone"  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_cleaning_report_in_pdf_and_xlsx(platform: Platform, tenant: Identity) -> None:
    await seed(platform, tenant)
    await ingest(platform, tenant, f"{'BNCGLI85C41F205O'};=CMD();ALTRO;2023;5;1,00;;;;;\n")
    await ingest(platform, tenant, "VRDNNA70A41H501F;VERDI ANNA;TARI;2023;7;1.234,56;;;;;\n")
    async with service_client(platform, "ingest", tenant) as client:
        imported = await client.post(
            "/api/v1/ingest/tracing/import",
            files={"file": ("r.csv", TRACING_GOOD.encode(), "text/csv")},
        )
        assert imported.status_code == 200 and imported.json()["added"] == 3
        pdf = await client.get(f"/t/{tenant.tenant_slug}/ingest/cleaning-report.pdf")
        xlsx = await client.get("/api/v1/ingest/cleaning-report.xlsx")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert book.sheetnames == ["Riepilogo", "Rintracciati", "Irraggiungibili"]
    summary = {r[0]: r[1] for r in book["Riepilogo"].iter_rows(min_row=2, values_only=True)}
    # Numbers the spreadsheet adds up (they were text), said in the plural.
    assert summary["Telefoni normalizzati nel formato internazionale (E.164)"] == 1
    assert summary["Telefoni non utilizzabili scartati"] == 1
    assert summary["Debitori raggiungibili per telefono"] == 2
    assert summary["Debitori senza recapiti utilizzabili"] == 1
    traced = list(book["Rintracciati"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[4]) for r in traced] == [
        (ALFA, "PEC", "InfoTrace"),
        (BIANCHI, "Indirizzo", "InfoTrace"),
        (BIANCHI, "Telefono", "InfoTrace"),
    ]
    assert all(isinstance(r[6], int) for r in traced)  # the confidence, a number
    header, verdi = list(book["Irraggiungibili"].iter_rows(values_only=True))
    assert header == ("Codice fiscale", "Nominativo", "Importo dovuto (€)")
    assert verdi[:2] == ("VRDNNA70A41H501F", "VERDI ANNA") and Decimal(str(verdi[2])) == Decimal("1234.56")
    # A phone as people dial it, without the spreadsheet's apostrophe; in the PDF too, where no
    # text is neutralised (a PDF runs no formula): the name «=CMD()» shows as written.
    assert traced[2][3] == "+39 333 111 2222"
    document = pypdfium2.PdfDocument(pdf.content)
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "+39 333 111 2222" in text and "'+39" not in text


def test_contact_event_round_trips() -> None:
    event = DebtorContactUpdated(
        debtor_id=str(uuid.uuid4()),
        fiscal_code=ROSSI,
        contact_id=str(uuid.uuid4()),
        kind="phone",
        value="+393471234567",
        source="InfoTrace",
        active=True,
        grade="phone",
        active_phones=("+393471234567",),
        found_on="2026-11-10",
        confidence=85,
    )
    envelope = event.envelope(uuid.uuid4())
    assert DebtorContactUpdated.from_envelope(envelope) == event
    # Written by a producer from before the provenance fields: they decode as unknown.
    older = {k: v for k, v in envelope.payload.items() if k not in ("found_on", "confidence")}
    decoded = DebtorContactUpdated.from_envelope(replace(envelope, payload=older))
    assert (decoded.found_on, decoded.confidence) == ("", -1)
    with pytest.raises(UndecodableMessage):  # a field without a default is still required
        without_grade = {k: v for k, v in older.items() if k != "grade"}
        DebtorContactUpdated.from_envelope(replace(envelope, payload=without_grade))
    assert DebtorContactUpdated.routing_key() == "ingest.debtor_contact_updated.v1"


def test_contacts_registered_round_trips_and_is_bounded() -> None:
    fact = ContactFact(
        debtor_id=str(uuid.uuid4()),
        contact_id=str(uuid.uuid4()),
        kind="phone",
        value="+393471234567",
        source="comune",
        found_on="2026-11-24",
        confidence=60,
        active=True,
    )
    event = ContactsRegistered(batch_id=str(uuid.uuid4()), chunk=1, chunks=2, contacts=(fact,))
    envelope = event.envelope(uuid.uuid4())
    assert ContactsRegistered.from_envelope(Envelope.decode(envelope.encode())) == event
    assert ContactsRegistered.routing_key() == "ingest.contacts_registered.v1"
    with pytest.raises(ValueError, match="at most 500"):
        ContactsRegistered(batch_id="b", chunk=1, chunks=1, contacts=(fact,) * 501)
    bad = {**envelope.payload, "contacts": [{**envelope.payload["contacts"][0], "confidence": "60"}]}
    with pytest.raises(UndecodableMessage, match="confidence must be int"):
        ContactsRegistered.from_envelope(Envelope(envelope.type, envelope.version, envelope.tenant_id, bad))


async def registered_contacts(platform: Platform, tenant: Identity) -> list[ContactsRegistered]:
    envelopes = await published(platform, tenant.tenant_id, ContactsRegistered.routing_key())
    return [ContactsRegistered.from_envelope(e) for e in envelopes]


@pytest.mark.asyncio
async def test_batch_publishes_the_contacts_it_brought_in(platform: Platform, tenant: Identity) -> None:
    await seed(platform, tenant)
    rossi = await debtor(platform, tenant, ROSSI)
    [first] = await registered_contacts(platform, tenant)
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        stored = await repository_tracing.debtor_contacts(uow, tenant.tenant_id, rossi.id)  # type: ignore[attr-defined]
    phone = next(c for c in stored if c.kind == "phone")
    assert (first.chunk, first.chunks) == (1, 1)
    assert (
        ContactFact(
            debtor_id=str(rossi.id),  # type: ignore[attr-defined]
            contact_id=str(phone.id),
            kind="phone",
            value="+393471234567",
            source="comune",
            found_on=phone.found_on.isoformat(),
            confidence=60,
            active=True,
        )
        in first.contacts
    )
    assert sorted((c.kind, c.value) for c in first.contacts) == [
        ("address", "VIA LAGO"),
        ("address", "VIA PO 2 10100 TORINO"),
        ("address", "VIA ROMA 1 00100 ROMA"),
        ("email", "mario@example.it"),
        ("pec", "alfa@pec.example.it"),
        ("phone", "+393471234567"),
    ]
    # A second batch publishes only the data it added, not those already known.
    await ingest(platform, tenant, f"{ROSSI};ROSSI MARIO;CDS;2024;9;5,00;347 1234567;;;;\n")
    await ingest(platform, tenant, f"{ROSSI};ROSSI MARIO;CDS;2024;10;5,00;06 1234567;;;;\n")
    events = await registered_contacts(platform, tenant)
    assert len(events) == 2
    assert [(c.debtor_id, c.kind, c.value) for c in events[1].contacts] == [
        (str(rossi.id), "phone", "+39061234567")  # type: ignore[attr-defined]
    ]
