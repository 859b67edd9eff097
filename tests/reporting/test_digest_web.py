"""The digests' page and settings: the schedule and the office's addresses checked at their field
(a refusal changes nothing), «Invia ora», the list and the audited download, and another Comune that
sees and writes nothing of them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import DBAPIError

from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import domain_digest
from services.reporting import repository_digests as repo
from tests.conftest import service_client
from tests.reporting.test_digest import addresses, as_, pdf_of, save_settings, sql
from tests.smtp_server import Inbox


@pytest.mark.asyncio
async def test_settings_are_checked_at_their_field_and_a_refusal_changes_nothing(
    platform: Platform, tenant: Identity
) -> None:
    to = addresses()
    assert (await save_settings(platform, tenant, to, periodo="biweekly", giorno="4")).status_code == 200
    for form, field in (
        ({"indirizzi": "tributi@comune.test\nnon-un-indirizzo"}, "indirizzi"),
        ({"periodo": "days", "ogni_giorni": "0"}, "ogni_giorni"),
        ({"periodo": "weekly", "giorno": "9"}, "giorno"),
        ({"periodo": "annuale"}, "periodo"),
    ):
        refused = await save_settings(platform, tenant, ("altro@comune.test",), **form)
        # Said at its field, the form still there with what was typed (it used to be replaced by
        # the message alone).
        assert refused.status_code == 400 and f'id="{field}-errore"' in refused.text, form
        assert 'aria-invalid="true"' in refused.text and "Salva impostazioni" in refused.text
        typed = form.get("indirizzi", "altro@comune.test")
        assert f">{typed}</textarea>" in refused.text, form
    [row] = await sql(
        platform,
        tenant.tenant_id,
        "SELECT s.kind, s.weekday, o.emails FROM reporting.digest_settings s"
        " JOIN reporting.office_contacts o USING (tenant_id) WHERE s.tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert (row.kind, row.weekday, sorted(row.emails)) == ("biweekly", 4, sorted(to))
    async with service_client(platform, "reporting", as_(tenant, "comune_viewer")) as client:
        page = await client.get(f"/t/{tenant.tenant_slug}/reporting/riepiloghi")
        assert page.status_code == 200 and "Ogni due settimane, il venerdì" in page.text
        today = platform.context("reporting").clock().astimezone(domain_digest.ROME).date()
        biweekly = domain_digest.Schedule("biweekly", 4)
        _, sent_on = domain_digest.next_send(biweekly, today)
        # What that day's run sends: from the day after what counts as sent (the weekly digest's
        # pending days were kept on the change of schedule).
        [mark] = await sql(
            platform,
            tenant.tenant_id,
            "SELECT last_period_end FROM reporting.digest_settings WHERE tenant_id = :t",
            t=tenant.tenant_id,
        )
        coming = domain_digest.due(biweekly, sent_on, mark.last_period_end)
        assert coming is not None
        assert f"Prossimo riepilogo: {coming.label()}, da inviare il {sent_on:%d/%m/%Y}." in page.text
        assert "Salva impostazioni" not in page.text and "Invia ora" not in page.text
        for path in ("impostazioni", "invia"):
            forbidden = await client.post(f"/t/{tenant.tenant_slug}/reporting/riepiloghi/{path}", data={})
            assert forbidden.status_code == 403


@pytest.mark.asyncio
async def test_send_now_lists_and_downloads_with_the_access_recorded(
    platform: Platform, tenant: Identity, other_tenant: Identity, smtp: Inbox
) -> None:
    base = f"/t/{tenant.tenant_slug}/reporting/riepiloghi"
    async with service_client(platform, "reporting", as_(tenant, "comune_admin")) as client:
        refused = await client.post(f"{base}/invia", headers={"HX-Request": "true"})
        assert refused.status_code == 400 and 'data-field="indirizzi"' in refused.text  # no address yet
        # Said in the list the button replaces, which stays the target of the next press.
        assert '<section id="digests"' in refused.text and 'data-testid="send-refused"' in refused.text
    to = addresses()
    await save_settings(platform, tenant, to[:1])
    async with service_client(platform, "reporting", as_(tenant, "comune_admin")) as client:
        sent = await client.post(f"{base}/invia", headers={"HX-Request": "true"})
        assert sent.status_code == 200 and "Riepilogo dal" in sent.text and to[0] in sent.text
    [message] = await smtp.wait_for(to[0])
    today = platform.context("reporting").clock().astimezone(domain_digest.ROME).date()
    expected = domain_digest.on_demand(domain_digest.Schedule(), today, None)
    assert pdf_of(message)[0] == f"riepilogo-{expected.start:%Y%m%d}-{expected.end:%Y%m%d}.pdf"
    # The schedule's line comes with the list (it stayed as before until a reload), and the days
    # sent count as sent: the daily run goes on from tomorrow (it sent them again).
    assert 'id="digest-schedule" data-testid="schedule" hx-swap-oob="true"' in sent.text
    assert f"Ultimo riepilogo: {expected.label()}, inviato il {today:%d/%m/%Y}" in sent.text
    assert "Periodo ancora da inviare" not in sent.text
    # The next one announced starts after today (it was the whole week under way, sent days too).
    announced = re.search(r"Prossimo riepilogo: dal (\d\d/\d\d/\d{4})", sent.text)
    assert announced is None or datetime.strptime(announced[1], "%d/%m/%Y").date() > today
    assert announced is not None or today.weekday() == 6  # a Sunday ends the week: nothing left
    [mark] = await sql(
        platform,
        tenant.tenant_id,
        "SELECT last_period_end FROM reporting.digest_settings WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert mark.last_period_end == today
    [row] = await sql(
        platform, tenant.tenant_id, "SELECT * FROM reporting.digests WHERE tenant_id = :t", t=tenant.tenant_id
    )
    assert (row.trigger, row.status, row.requested_by) == ("manual", "sent", "Utente di prova")

    async with service_client(platform, "reporting", as_(tenant, "comune_admin")) as client:
        # The same days again today: asked first, nothing made nor mailed until confirmed.
        asked = await client.post(f"{base}/invia", headers={"HX-Request": "true"})
        assert asked.status_code == 200 and 'data-testid="digest-again"' in asked.text
        assert f"Il riepilogo {expected.label()} è già stato inviato oggi alle" in asked.text
        assert f"«Invia ora» di Utente di prova a {to[0]}. Nulla è stato inviato ora." in asked.text
        assert 'name="conferma" value="1"' in asked.text
        count = "SELECT count(*) AS n FROM reporting.digests WHERE tenant_id = :t"
        assert (await sql(platform, tenant.tenant_id, count, t=tenant.tenant_id))[0].n == 1
        again = await client.post(f"{base}/invia", data={"conferma": "1"}, headers={"HX-Request": "true"})
        assert again.status_code == 200 and 'data-testid="digest-sent"' in again.text
        assert "digest-again" not in again.text
    first, second = await smtp.wait_for(to[0], count=2)
    assert pdf_of(second)[0] == pdf_of(first)[0]  # the same days again
    assert (await sql(platform, tenant.tenant_id, count, t=tenant.tenant_id))[0].n == 2

    reader = as_(tenant, "comune_viewer")
    async with service_client(platform, "reporting", reader) as client:
        listed = await client.get(base)
        assert (
            listed.status_code == 200
            and f"{base}/{row.id}/pdf" in listed.text
            and "«Invia ora» di" in listed.text
        )
        download = await client.get(f"{base}/{row.id}/pdf")
        assert download.status_code == 200 and download.content == pdf_of(message)[1]
        assert download.headers["content-type"] == "application/pdf"
        assert (await client.get(f"{base}/{uuid.uuid4()}/pdf")).status_code == 404
    [seen] = await sql(
        platform,
        tenant.tenant_id,
        "SELECT user_id FROM reporting.access_log WHERE tenant_id = :t AND action = 'download_digest' AND subject_id = :d",
        t=tenant.tenant_id,
        d=row.id,
    )
    assert seen.user_id == reader.user_id
    async with service_client(platform, "reporting", as_(other_tenant, "comune_viewer")) as client:
        other = f"/t/{other_tenant.tenant_slug}/reporting/riepiloghi"
        assert (await client.get(f"{other}/{row.id}/pdf")).status_code == 404
        assert str(row.id) not in (await client.get(other)).text


@pytest.mark.asyncio
async def test_another_comune_sees_nothing_of_the_digests_and_cannot_write_them(platform: Platform) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    db = platform.databases["reporting"]
    week = domain_digest.Period(date(2026, 11, 23), date(2026, 11, 29))
    now = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    async with db.unit_of_work(tenant_a) as uow:
        await repo.save_schedule(uow, tenant_a, domain_digest.Schedule(domain_digest.MONTHLY), "ut")
        await repo.save_office_emails(uow, tenant_a, ("a@comune.test",), "ut")
        digest_id = await repo.claim_scheduled(uow, tenant_a, week, ("a@comune.test",), now)
        assert digest_id is not None
        await repo.mark_period_sent(uow, tenant_a, week.end)
        await uow.commit()

    async with db.unit_of_work(tenant_b) as uow:
        # Even asking with A's id, row-level security hides A's rows from B's transaction.
        for tenant in (tenant_a, tenant_b):
            assert (await repo.settings(uow, tenant)).schedule == domain_digest.Schedule()
            assert await repo.office_emails(uow, tenant) == ()
            assert await repo.list_digests(uow, tenant) == []
            assert await repo.get_digest(uow, tenant, digest_id) is None
        assert await repo.claim_scheduled(uow, tenant_b, week, ("b@comune.test",), now) is not None
        # Claimed again and again on one connection: past PostgreSQL's five custom plans, the generic
        # plan still finds the partial unique index the claim relies on.
        for _ in range(7):
            assert await repo.claim_scheduled(uow, tenant_b, week, ("b@comune.test",), now) is None
        await uow.commit()
    for write in (
        lambda uow: repo.mark_period_sent(uow, tenant_a, date(2026, 12, 6)),
        lambda uow: repo.save_office_emails(uow, tenant_a, ("b@comune.test",), "ut"),
        lambda uow: repo.insert_manual(uow, tenant_a, uuid.uuid4(), week, ("b@comune.test",), "ut"),
    ):
        async with db.unit_of_work(tenant_b) as uow:
            with pytest.raises(DBAPIError):
                await write(uow)

    async with db.unit_of_work(tenant_a) as uow:
        settings = await repo.settings(uow, tenant_a)
        assert (settings.schedule.kind, settings.last_period_end) == ("monthly", week.end)
        assert await repo.office_emails(uow, tenant_a) == ("a@comune.test",)
        assert [d.id for d in await repo.list_digests(uow, tenant_a)] == [digest_id]


@pytest.mark.asyncio
async def test_a_manual_digest_left_sending_by_a_dead_request_says_it_was_interrupted(
    platform: Platform, tenant: Identity
) -> None:
    period = domain_digest.Period(date(2026, 11, 16), date(2026, 11, 22))
    fresh, stuck = uuid.uuid4(), uuid.uuid4()
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        for digest_id in (fresh, stuck):
            await repo.insert_manual(uow, tenant.tenant_id, digest_id, period, ("ut@comune.test",), "Anna")
        await uow.commit()
    await sql(
        platform,
        tenant.tenant_id,
        "UPDATE reporting.digests SET claimed_at = now() - interval '1 hour' WHERE id = :d RETURNING id",
        d=stuck,
    )
    async with service_client(platform, "reporting", as_(tenant, "comune_viewer")) as client:
        page = await client.get(f"/t/{tenant.tenant_slug}/reporting/riepiloghi")
    assert page.status_code == 200
    assert page.text.count("Invio interrotto: usa «Invia ora» per rimandarlo") == 1
    assert page.text.count("<td>In invio</td>") == 1


@pytest.mark.asyncio
async def test_a_digest_kept_unsent_is_not_listed_as_sent_at_a_time(
    platform: Platform, tenant: Identity
) -> None:
    """Without a mail server a digest is made and kept: its day is when it was made, not «Inviato il»."""
    period = domain_digest.Period(date(2026, 11, 16), date(2026, 11, 22))
    kept = uuid.uuid4()
    made = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        await repo.insert_manual(uow, tenant.tenant_id, kept, period, ("ut@comune.test",), "Anna")
        await repo.finish(uow, tenant.tenant_id, kept, "kept", sent_at=made)
        await uow.commit()
    async with service_client(platform, "reporting", as_(tenant, "comune_viewer")) as client:
        page = (await client.get(f"/t/{tenant.tenant_slug}/reporting/riepiloghi")).text
    listed = page.split('id="digests"', 1)[1]
    row = listed.split(period.label(), 1)[1].split("</tr>", 1)[0]
    assert "Non inviato: nessun server di posta configurato" in row
    assert '<td>— <span class="small">(preparato il 23/11/2026 07:30)</span></td>' in row


@pytest.mark.asyncio
async def test_a_new_schedule_keeps_the_period_the_old_one_had_still_to_send(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    """Nothing sent yet under the weekly default, then «every 7 days» (which starts today): the
    days the weekly digest would have covered are still sent, not dropped."""
    to = addresses()
    assert (await save_settings(platform, tenant, to[:1])).status_code == 200  # weekly, nothing sent
    today = platform.context("reporting").clock().astimezone(domain_digest.ROME).date()
    pending = domain_digest.on_demand(domain_digest.Schedule(), today, None)
    changed = await save_settings(platform, tenant, to[:1], periodo="days", ogni_giorni="7")
    assert changed.status_code == 200
    base = f"/t/{tenant.tenant_slug}/reporting/riepiloghi"
    async with service_client(platform, "reporting", as_(tenant, "comune_admin")) as client:
        sent = await client.post(f"{base}/invia", headers={"HX-Request": "true"})
    assert sent.status_code == 200
    [message] = await smtp.wait_for(to[0])
    assert pdf_of(message)[0] == f"riepilogo-{pending.start:%Y%m%d}-{today:%Y%m%d}.pdf"
    # The daily run's first period of 7 days goes on from there too.
    schedule = domain_digest.Schedule(domain_digest.DAYS, every_days=7, starts_on=today)
    later = today + timedelta(days=8)
    due = domain_digest.due(schedule, later, pending.start - timedelta(days=1))
    assert due is not None and due.start == pending.start


def test_a_change_of_schedule_counts_as_sent_only_what_was_sent() -> None:
    weekly, today = domain_digest.Schedule(), date(2026, 12, 3)
    assert domain_digest.covered_on_change(weekly, today, None) == date(2026, 11, 22)
    assert domain_digest.covered_on_change(weekly, today, date(2026, 11, 29)) == date(2026, 11, 29)
    monthly = domain_digest.Schedule(domain_digest.MONTHLY)
    assert domain_digest.covered_on_change(monthly, today, None) == date(2026, 10, 31)


@pytest.mark.asyncio
async def test_without_an_address_the_page_does_not_promise_a_send(
    platform: Platform, tenant: Identity
) -> None:
    """A period ended and no address: the daily run sends nothing, and the page says what it needs."""
    platform.clocks["reporting"] = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # a Thursday
    try:
        async with service_client(platform, "reporting", as_(tenant, "comune_admin")) as client:
            admin = (await client.get(f"/t/{tenant.tenant_slug}/reporting/riepiloghi")).text
        async with service_client(platform, "reporting", as_(tenant, "comune_viewer")) as client:
            reader = (await client.get(f"/t/{tenant.tenant_slug}/reporting/riepiloghi")).text
    finally:
        platform.clocks.pop("reporting", None)
    line = admin.split('id="digest-schedule"', 1)[1].split("</p>", 1)[0]
    assert "Periodo ancora da inviare" in line and "parte con l'invio automatico" not in line
    assert "non parte finché non è indicato almeno un indirizzo e-mail nelle impostazioni qui sotto" in line
    assert "se ci sarà un indirizzo" in line
    assert "almeno un indirizzo e-mail</span>)" in reader  # a reader has no settings to be pointed to
