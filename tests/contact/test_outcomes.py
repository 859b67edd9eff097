"""The outcomes with fixed meanings, on the real database: a wrong number invalidated (and, told by
event, ingest deactivates it and regrades the debtor), a debtor traced again coming back, the cases
for the Ufficio tributi pausing the calls, a death stopping them; each with its event."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa

from services.contact.domain import ROME
from services.contracts import (
    ContactDatumInvalidated,
    DebtorContactUpdated,
    DebtorDeceased,
    DisputeOpened,
    HardshipFlagged,
)
from services.ingest import consumers as ingest_consumers
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.messaging import inbox_handler
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import (
    card_contacts,
    contact_fact,
    contact_updated,
    contacts_registered,
    debtor,
    deliver,
    fact,
    seed,
)
from tests.contact.test_conduct_web import record, take
from tests.contact.test_web import as_user, base
from tests.ingest.test_cleaning import ROSSI
from tests.ingest.test_cleaning import debtor as ingest_debtor
from tests.ingest.test_cleaning import seed as seed_ingest
from tests.support import contact_clock

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)


async def sent(platform: Platform, schema: str, who: Identity, event: type) -> list[Envelope]:
    sql = f"SELECT body FROM {schema}.outbox WHERE tenant_id = :t AND routing_key = :k ORDER BY id"
    async with platform.databases[schema].unit_of_work(who.tenant_id) as uow:
        bodies = (await uow.execute(sa.text(sql), {"t": who.tenant_id, "k": event.routing_key()})).scalars()
        return [Envelope.decode(b) for b in bodies]


@pytest.mark.asyncio
async def test_a_wrong_number_is_invalidated_and_the_debtor_traced(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    first, second = contact_fact(d, "+393471111111"), contact_fact(d, "+393472222222")
    await deliver(platform, contacts_registered(tenant.tenant_id, first, second))
    op = as_user(tenant, "op-wrong")
    with contact_clock(platform, MONDAY):
        await take(platform, op)
        status, text = await record(platform, op, d, outcome="numero_errato")
        assert status == 400 and "Indica quale numero" in text
        status, _ = await record(platform, op, d, outcome="numero_errato", datum_id=first.contact_id)
        assert status == 303
    assert await card_contacts(platform, tenant.tenant_id, d) == [("phone", "+393472222222")]
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.status == "da_lavorare"  # another phone is left
    [invalidated] = await sent(platform, "contact", tenant, ContactDatumInvalidated)
    assert ContactDatumInvalidated.from_envelope(invalidated).contact_id == first.contact_id
    with contact_clock(platform, MONDAY.replace(day=1, month=12)):
        await take(platform, op)
        status, _ = await record(platform, op, d, outcome="irreperibile", datum_id=second.contact_id)
        assert status == 303
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.status == "da_rintracciare"
    # Tracing finds a new number: the debtor is back in the queue.
    await deliver(platform, contact_updated(tenant.tenant_id, contact_fact(d, "+393473333333"), active=True))
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.status == "da_lavorare"


@pytest.mark.asyncio
async def test_ingest_deactivates_the_number_a_call_found_wrong(platform: Platform, tenant: Identity) -> None:
    await seed_ingest(platform, tenant)
    rossi = await ingest_debtor(platform, tenant, ROSSI)
    sql = "SELECT id FROM ingest.contacts WHERE tenant_id = :t AND debtor_id = :d AND kind = 'phone'"
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        (phone,) = (await uow.execute(sa.text(sql), {"t": tenant.tenant_id, "d": rossi.id})).scalars()  # type: ignore[attr-defined]
    event = ContactDatumInvalidated(str(phone), str(rossi.id), "numero_errato", "op-x", MONDAY.isoformat())  # type: ignore[attr-defined]
    handle = inbox_handler(platform.databases["ingest"], ingest_consumers.calls)
    for _ in range(2):  # delivered twice: handled once
        envelope = event.envelope(tenant.tenant_id)
        await handle(IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id)))
    assert (await ingest_debtor(platform, tenant, ROSSI)).grade == "address"  # type: ignore[attr-defined]
    [told] = await sent(platform, "ingest", tenant, DebtorContactUpdated)
    update = DebtorContactUpdated.from_envelope(told)
    assert (update.contact_id, update.active, update.active_phones) == (str(phone), False, ())


@pytest.mark.asyncio
async def test_cases_for_the_office_pause_the_calls_and_a_death_stops_them(
    platform: Platform, tenant: Identity
) -> None:
    disputed, hardship, deceased = (str(uuid.uuid4()) for _ in range(3))
    await seed(
        platform, tenant.tenant_id, fact(disputed, 90_000), fact(hardship, 80_000), fact(deceased, 70_000)
    )
    op = as_user(tenant, "op-cases")
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{disputed}" in await take(platform, op)
        status, text = await record(platform, op, disputed, outcome="contestazione")
        assert status == 400 and "motivo della contestazione" in text
        status, _ = await record(
            platform, op, disputed, outcome="contestazione", note="Avviso mai notificato"
        )
        assert status == 303
        assert f"/debtors/{hardship}" in await take(platform, op)
        await record(platform, op, hardship, outcome="difficolta", note="Disoccupato da marzo, tre figli")
        assert f"/debtors/{deceased}" in await take(platform, op)
        await record(platform, op, deceased, outcome="deceduto", note="Risponde la figlia: deceduto a giugno")
        assert "Nessun debitore da lavorare" in await take(platform, op)
    statuses = [(await debtor(platform, tenant.tenant_id, d)).status for d in (disputed, hardship, deceased)]  # type: ignore[union-attr]
    assert statuses == ["sospeso", "sospeso", "chiuso"]
    [dispute] = await sent(platform, "contact", tenant, DisputeOpened)
    assert DisputeOpened.from_envelope(dispute).note == "Avviso mai notificato"
    assert len(await sent(platform, "contact", tenant, HardshipFlagged)) == 1
    assert len(await sent(platform, "contact", tenant, DebtorDeceased)) == 1


@pytest.mark.asyncio
async def test_a_contact_marked_wrong_in_one_click_goes_to_tracing(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    phone, mail = contact_fact(d, "+393471111111"), contact_fact(d, "rossi@example.it", kind="email")
    await deliver(platform, contacts_registered(tenant.tenant_id, phone, mail))
    op = as_user(tenant, "op-click")
    async with service_client(platform, "contact", op) as client:
        card = (await client.get(f"{base(op)}/debtors/{d}")).text
        assert f"/contacts/{phone.contact_id}/wrong" in card and "Segna come errato" in card
        assert 'hx-confirm="Segnare come errato il recapito «+39 347 111 1111»?' in card
        assert '<option value="' + phone.contact_id + '">+39 347 111 1111</option>' in card
        done = await client.post(f"{base(op)}/debtors/{d}/contacts/{phone.contact_id}/wrong")
        assert done.status_code == 303
        again = await client.post(f"{base(op)}/debtors/{d}/contacts/{phone.contact_id}/wrong")
        assert again.status_code == 404
    assert await card_contacts(platform, tenant.tenant_id, d) == [("email", "rossi@example.it")]
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.status == "da_rintracciare"  # no phone left
    [invalidated] = await sent(platform, "contact", tenant, ContactDatumInvalidated)
    assert ContactDatumInvalidated.from_envelope(invalidated).reason == "segnalato_errato"
