"""The conduct rules enforced by the contact service, on the real database, with its clock frozen:
nobody is offered when the calling hours are closed, a debtor past the day's conversation or who
asked not to be phoned is neither offered nor recordable, a supervisor's override is audited, and a
Comune's stricter rules apply from the moment they are saved."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from services.contact.domain import ROME
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import debtor, fact, seed
from tests.contact.test_web import as_user, base
from tests.support import contact_clock

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)
HX = {"HX-Request": "true"}


async def take(platform: Platform, who: Identity) -> str:
    async with service_client(platform, "contact", who) as client:
        response = await client.post(f"{base(who)}/next", headers=HX)
    return response.headers.get("HX-Redirect") or response.text


async def record(platform: Platform, who: Identity, d: str, **data: str) -> tuple[int, str]:
    async with service_client(platform, "contact", who) as client:
        response = await client.post(f"{base(who)}/debtors/{d}/outcomes", data=data)
    return response.status_code, response.text


async def audited(platform: Platform, who: Identity) -> list[str]:
    sql = "SELECT detail FROM contact.access_log WHERE tenant_id = :t AND action = 'conduct_override'"
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        return list((await uow.execute(sa.text(sql), {"t": who.tenant_id})).scalars())


@pytest.mark.asyncio
async def test_nobody_is_offered_on_a_sunday_or_a_holiday(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    op = as_user(tenant, "op-sunday")
    with contact_clock(platform, datetime(2026, 12, 6, 10, 0, tzinfo=ROME)):
        assert "Il 06/12/2026 è domenica: non si telefona." in await take(platform, op)
    with contact_clock(platform, datetime(2027, 3, 29, 10, 0, tzinfo=ROME)):
        assert "festivo (Lunedì dell&#39;Angelo)" in await take(platform, op)
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.assigned_to is None
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{d}" in await take(platform, op)


@pytest.mark.asyncio
async def test_one_conversation_a_day_then_the_debtor_waits_for_tomorrow(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    op = as_user(tenant, "op-cap")
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{d}" in await take(platform, op)
        # The debtor asks to be called back in half an hour: that was a conversation, so the
        # callback is refused for today, and set for tomorrow.
        status, text = await record(platform, op, d, outcome="richiamare", callback_at="2026-11-30T10:30")
        assert status == 400 and "fissa il richiamo da domani" in text
        status, _ = await record(platform, op, d, outcome="richiamare", callback_at="2026-12-01T10:30")
        assert status == 303
    with contact_clock(platform, MONDAY.replace(hour=11)):
        assert "Nessun debitore da lavorare" in await take(platform, op)
        status, text = await record(platform, op, d, outcome="contattato")
        assert status == 409 and "già stata una conversazione oggi" in text
        supervisor = as_user(tenant, "sup-cap", ("supervisor",))
        status, text = await record(platform, supervisor, d, outcome="contattato")
        assert status == 400 and "scrivi il motivo" in text
        status, _ = await record(
            platform, supervisor, d, outcome="contattato", override_reason="Il contribuente ha richiamato lui"
        )
        assert status == 303
    assert await audited(platform, tenant) == [
        "Con questo contribuente c'è già stata una conversazione oggi: al massimo una al giorno. "
        "Motivo: Il contribuente ha richiamato lui"
    ]
    sql = "SELECT override_reason FROM contact.contacts WHERE tenant_id = :t AND operator = 'sup-cap'"
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        kept = (await uow.execute(sa.text(sql), {"t": tenant.tenant_id})).scalar_one()
    assert kept == "Il contribuente ha richiamato lui"


@pytest.mark.asyncio
async def test_a_third_party_on_the_line_is_not_the_days_conversation(
    platform: Platform, tenant: Identity
) -> None:
    """The wife answers: «rientra alle 19». The callback is kept for this evening, the debtor is
    offered then and the conversation with him is recorded; only that one counts (the board too)."""
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    op = as_user(tenant, "op-third")
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{d}" in await take(platform, op)
        status, _ = await record(
            platform, op, d, outcome="terzo_risponde", note="Rientra alle 19", callback_at="2026-11-30T19:00"
        )
        assert status == 303
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and (row.status, row.callback_at) == ("da_richiamare", MONDAY.replace(hour=19))
    with contact_clock(platform, MONDAY.replace(hour=19, minute=1)):
        assert f"/debtors/{d}" in await take(platform, op)
        status, _ = await record(platform, op, d, outcome="contattato")
        assert status == 303
        status, text = await record(platform, op, d, outcome="contattato")
        assert status == 409 and "già stata una conversazione oggi" in text
        supervisor = as_user(tenant, "sup-third", ("supervisor",))
        async with service_client(platform, "contact", supervisor) as client:
            board = await client.get(f"{base(supervisor)}/board")
    assert 'calls">2</strong> chiamate' in board.text and "<strong>1</strong> conversazione<" in board.text


@pytest.mark.asyncio
async def test_a_debtor_who_asks_not_to_be_phoned_gets_written_channels_only(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    op = as_user(tenant, "op-dnc")
    with contact_clock(platform, MONDAY):
        await take(platform, op)
        status, _ = await record(
            platform, op, d, outcome="richiamare", callback_at="2026-12-01T10:00", do_not_call="1"
        )
        assert status == 303
    with contact_clock(platform, datetime(2026, 12, 1, 10, 30, tzinfo=ROME)):
        assert "Nessun debitore da lavorare" in await take(platform, op)
        async with service_client(platform, "contact", op) as client:
            card = (await client.get(f"{base(op)}/debtors/{d}")).text
        assert "Non vuole essere chiamato" in card and "solo comunicazioni scritte" in card
        status, text = await record(platform, op, d, outcome="contattato")
        assert status == 409 and "ha chiesto di non essere chiamato" in text


@pytest.mark.asyncio
async def test_a_callback_on_easter_monday_is_refused(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    op = as_user(tenant, "op-easter")
    with contact_clock(platform, MONDAY):
        await take(platform, op)
        status, text = await record(platform, op, d, outcome="richiamare", callback_at="2027-03-29T10:00")
    assert status == 400 and "Richiamo non possibile. Il 29/03/2027 è festivo" in text
    with contact_clock(platform, MONDAY):
        status, text = await record(platform, op, d, outcome="richiamare", callback_at="2028-12-05T10:00")
    latest = (MONDAY.date() + timedelta(days=180)).strftime("%d/%m/%Y")
    assert status == 400 and f"entro 180 giorni: al più tardi il {latest}" in text


@pytest.mark.asyncio
async def test_a_comunes_stricter_hours_apply_and_looser_ones_are_refused(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    supervisor = as_user(tenant, "sup-rules", ("supervisor",))
    weekdays = {f"from_{n}": "09:00" for n in range(5)} | {f"to_{n}": "18:00" for n in range(5)}
    form = {
        **weekdays,
        "daily_cap": "1",
        "weekly_cap": "2",
        "patron_day": "07/12",
        "patron_saint": "Sant'Ambrogio",
    }
    with contact_clock(platform, MONDAY):
        async with service_client(platform, "contact", supervisor) as client:
            page = await client.get(f"{base(supervisor)}/conduct")
            assert page.status_code == 200 and "lun–ven 8:30–21:00, sab 8:30–15:00" in page.text
            assert "Lunedì dell&#39;Angelo" in page.text or "Capodanno" in page.text
            looser = await client.post(
                f"{base(supervisor)}/conduct", data={**form, "to_0": "22:00"}, headers=HX
            )
            assert looser.status_code == 400
            assert 'id="to_0-error"' in looser.text and "tra 8:30 e 21:00" in looser.text
            assert 'aria-invalid="true"' in looser.text
            # Every field at fault at once, each beside its field and listed on top with a link.
            faults = {
                **form,
                "to_0": "22:00",
                "weekly_cap": "5",
                "patron_day": "31/02",
                "weight_amount": "11",
            }
            several = await client.post(f"{base(supervisor)}/conduct", data=faults, headers=HX)
            assert several.status_code == 400 and "correggi i 4 campi indicati" in several.text
            for field in ("to_0", "weekly_cap", "patron_day", "weight_amount"):
                assert f'id="{field}-error"' in several.text and f'href="#{field}"' in several.text
            assert 'value="31/02"' in several.text  # what was typed stays in the form
            unchanged = await client.get(f"{base(supervisor)}/conduct")
            assert "lun–ven 8:30–21:00, sab 8:30–15:00" in unchanged.text  # nothing was written
            saved = await client.post(f"{base(supervisor)}/conduct", data=form, headers=HX)
            assert saved.status_code == 200 and "Regole salvate: lun–ven 9:00–18:00" in saved.text
    op = as_user(tenant, "op-rules")
    with contact_clock(platform, MONDAY.replace(hour=18, minute=30)):
        assert "fuori dalle fasce orarie consentite (lun–ven 9:00–18:00)" in await take(platform, op)
    with contact_clock(platform, datetime(2026, 12, 7, 10, 0, tzinfo=ROME)):
        assert "santo patrono del Comune (Sant&#39;Ambrogio)" in await take(platform, op)
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{d}" in await take(platform, op)
    operator_page = await take_page(platform, op)
    assert operator_page == 403


async def take_page(platform: Platform, who: Identity) -> int:
    async with service_client(platform, "contact", who) as client:
        return (await client.get(f"{base(who)}/conduct")).status_code


@pytest.mark.asyncio
async def test_a_comunes_softphone_template_puts_a_sip_link_beside_each_phone(
    platform: Platform, tenant: Identity
) -> None:
    from tests.contact.helpers import contact_fact, contacts_registered, deliver

    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    await deliver(platform, contacts_registered(tenant.tenant_id, contact_fact(d, "+393471234567")))
    supervisor = as_user(tenant, "sup-sip", ("supervisor",))
    form = {"from_0": "08:30", "to_0": "21:00", "daily_cap": "1", "weekly_cap": "3", "promise_days": "30"}
    async with service_client(platform, "contact", supervisor) as client:
        saved = await client.post(
            f"{base(supervisor)}/conduct",
            data={**form, "sip_template": "sip:{numero}@centralino.example.it"},
            headers=HX,
        )
        assert saved.status_code == 200, saved.text
        card = (await client.get(f"{base(supervisor)}/debtors/{d}")).text
    assert 'href="tel:+393471234567"' in card
    assert 'href="sip:+393471234567@centralino.example.it"' in card


@pytest.mark.asyncio
async def test_a_callback_kept_for_me_comes_to_me_first_and_to_anyone_once_late(
    platform: Platform, tenant: Identity
) -> None:
    d, other = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 10_000), fact(other, 90_000))
    me, colleague = as_user(tenant, "op-me"), as_user(tenant, "op-colleague")
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{other}" in await take(platform, me)  # the bigger debt first
        await record(platform, me, other, outcome="rifiuto")
        assert f"/debtors/{d}" in await take(platform, me)
        status, _ = await record(
            platform, me, d, outcome="richiamare", callback_at="2026-12-01T10:00", callback_mine="1"
        )
        assert status == 303
    with contact_clock(platform, datetime(2026, 12, 1, 10, 10, tzinfo=ROME)):
        assert "Nessun debitore da lavorare" in await take(platform, colleague)
        assert f"/debtors/{d}" in await take(platform, me)
        status, _ = await record(platform, me, d, outcome="non_risponde", callback_at="2026-12-02T10:00")
        assert status == 303
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.callback_for is None  # the next callback was not kept
    # Kept again for me (no answer: tomorrow, a day after this call at the earliest, 10:15), and I
    # do not come: half an hour late, it goes to anyone.
    with contact_clock(platform, datetime(2026, 12, 2, 10, 15, tzinfo=ROME)):
        assert f"/debtors/{d}" in await take(platform, me)
        await record(
            platform, me, d, outcome="non_risponde", callback_at="2026-12-03T10:00", callback_mine="1"
        )
    with contact_clock(platform, datetime(2026, 12, 3, 10, 40, tzinfo=ROME)):
        assert "Nessun debitore da lavorare" in await take(platform, colleague)
    with contact_clock(platform, datetime(2026, 12, 3, 10, 46, tzinfo=ROME)):
        assert f"/debtors/{d}" in await take(platform, colleague)
