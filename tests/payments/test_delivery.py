"""Sending notices to the taxpayer: by e-mail to the real test SMTP server (PDFs attached, the signed
link), by SMS through the development provider; each message recorded and published as NoticeSent."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from services.contracts import NoticeSent
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.mail import FolderMailer, SmtpMailer
from services.payments import repository_emails, web_delivery
from services.payments.domain_links import verify
from services.payments.handlers_delivery import Channels, DeliveryFailed, send_by_email
from services.payments.repository_emails import EmailRecord
from services.payments.sms import LogSmsProvider
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.delivery_helpers import (
    comune,
    debtor_with_positions,
    link_in,
    pdfs_in,
    plan_with_notices,
    post,
    run,
    scalar,
)
from tests.smtp_server import Inbox, free_port
from tests.support import make_identity

SEND = "/api/v1/payments/notices/send"
DUE = "SELECT max(due_date)::text FROM payments.payment_options WHERE position_id = :p"


def address() -> str:
    return f"contribuente-{uuid.uuid4().hex[:10]}@example.it"


async def sent_events(platform: Platform, who: Identity) -> list[NoticeSent]:
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        rows = await uow.execute(
            sa.text("SELECT body FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k ORDER BY id"),
            {"t": who.tenant_id, "k": NoticeSent.routing_key()},
        )
        return [NoticeSent.from_envelope(Envelope.decode(r.body)) for r in rows]


@pytest.mark.asyncio
async def test_the_email_reaches_the_smtp_server_with_the_pdf_and_a_signed_link(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await comune(platform, tenant)
    to = address()
    debtor, [position] = await debtor_with_positions(platform, tenant, 45_678, email=to)
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position]})
    assert status == 201, answer
    assert answer["channel"] == "email" and answer["recipient"] == to and answer["delivered"] is True
    [message] = await smtp.wait_for(to)
    assert message["Subject"] == "Comune di Consegna: avviso di pagamento pagoPA"
    [(name, pdf)] = pdfs_in(message).items()
    assert name.startswith("avviso-3") and name.endswith(".pdf") and pdf.startswith(b"%PDF")
    link = link_in(message)
    assert link == answer["link"]
    grant = verify(link.rsplit("/", 1)[1], platform.settings.secret_key, datetime.now(UTC))
    assert (grant.tenant_id, str(grant.debtor_id)) == (tenant.tenant_id, debtor)
    assert [str(p) for p in grant.position_ids] == [position] and grant.plan_id is None
    # Until the notice is past due (end of next month), the day after included: 30 days at least.
    due = date.fromisoformat(str(await scalar(platform, tenant.tenant_id, DUE, p=uuid.UUID(position))))
    assert grant.expires_at == datetime.combine(due + timedelta(days=2), time(0), ZoneInfo("Europe/Rome"))
    body = message.get_body(("plain",))
    assert body is not None and "€ 456,78" in body.get_content()
    # One notice, said in the singular and without installments (it read «gli avvisi … le rate»).
    text = body.get_content()
    assert "l'avviso di pagamento pagoPA allegato:" in text and "Può pagarlo con" in text
    assert "L'avviso e quanto già pagato sono consultabili" in text and "rate" not in text
    assert (
        await scalar(
            platform,
            tenant.tenant_id,
            "SELECT count(*) FROM payments.messages WHERE tenant_id = :t AND debtor_id = :d"
            " AND channel = 'email' AND kind = 'notice' AND recipient = :r AND position_id = :p",
            t=tenant.tenant_id,
            d=uuid.UUID(debtor),
            r=to,
            p=uuid.UUID(position),
        )
        == 1
    )
    [event] = await sent_events(platform, tenant)
    assert (event.debtor_id, event.channel, event.kind, event.position_ids) == (
        debtor,
        "email",
        "notice",
        (position,),
    )
    assert event.delivered and event.plan_id == "" and datetime.fromisoformat(event.sent_at).tzinfo
    assert event.recipient == to  # where it went, for the debtor's history


@pytest.mark.asyncio
async def test_a_given_address_wins_and_without_any_address_nothing_is_sent(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await comune(platform, tenant)
    _, [position] = await debtor_with_positions(platform, tenant, 20_000)
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position]})
    assert status == 400 and answer["field"] == "email"
    assert "indirizzo e-mail attivo" in answer["error"]
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position], "email": "non-valido"})
    assert status == 400 and answer["error"] == "Indirizzo e-mail non valido."
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position], "email": "a" * 300})
    assert (status, answer["field"]) == (400, "email")
    assert answer["error"] == "L'indirizzo e-mail è lungo al massimo 254 caratteri."
    assert await sent_events(platform, tenant) == []
    given = address()
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position], "email": given})
    assert status == 201 and answer["recipient"] == given
    assert len(await smtp.wait_for(given)) == 1


@pytest.mark.asyncio
async def test_a_plan_is_sent_with_its_notices(platform: Platform, tenant: Identity, smtp: Inbox) -> None:
    await comune(platform, tenant)
    to = address()
    debtor, positions = await debtor_with_positions(platform, tenant, 60_000, email=to)
    plan_id = await plan_with_notices(platform, tenant, positions, 5)
    status, answer = await post(platform, tenant, SEND, {"plan_id": plan_id})
    assert status == 201, answer
    [message] = await smtp.wait_for(to)
    assert len(pdfs_in(message)) == 6  # the single payment and five installments
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "UNA sola delle due possibilità" in text and "(rata 5)" in text
    [event] = await sent_events(platform, tenant)
    assert (event.plan_id, event.position_ids, event.debtor_id) == (plan_id, (), debtor)
    status, answer = await post(platform, tenant, SEND, {"plan_id": str(uuid.uuid4())})
    assert status == 404 and answer["error"] == "Piano non trovato."


@pytest.mark.asyncio
async def test_sms_goes_to_the_development_provider_and_says_it_was_not_sent(
    platform: Platform, tenant: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    await comune(platform, tenant)
    debtor, [position] = await debtor_with_positions(platform, tenant, 30_000)
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position], "phone": "333 123 4567"})
    assert status == 201, answer
    assert (answer["channel"], answer["recipient"], answer["delivered"]) == ("sms", "+393331234567", False)
    assert any("SMS to +393331234567 NOT sent" in r.getMessage() for r in caplog.records)
    assert answer["link"] in caplog.text
    [event] = await sent_events(platform, tenant)
    assert (event.channel, event.debtor_id, event.delivered) == ("sms", debtor, False)
    assert event.recipient == "+393331234567"
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position], "phone": "12"})
    assert (
        status == 400
        and answer["field"] == "phone"
        and "Numero di telefono non valido: «12»" in answer["error"]
    )
    # A landline cannot take an SMS; an empty number is asked for.
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position], "phone": "06 6710 1234"})
    assert status == 400 and answer["field"] == "phone"
    assert (
        answer["error"]
        == "«06 6710 1234» è un numero fisso: l'SMS arriva solo a un cellulare (es. +39 333 123 4567)."
    )
    status, answer = await post(
        platform, tenant, SEND, {"position_ids": [position], "channel": "sms", "phone": ""}
    )
    assert status == 400 and answer["error"] == "Indica il numero di cellulare a cui inviare l'SMS."
    assert len(await sent_events(platform, tenant)) == 1


@pytest.mark.asyncio
async def test_the_position_page_button_sends_through_htmx(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await comune(platform, tenant)
    to = address()
    _, [position] = await debtor_with_positions(platform, tenant, 12_300, email=to)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",))
    async with service_client(platform, "payments", operator) as http:
        page = await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position}")
        assert "Invia per e-mail" in page.text and 'name="csrf_token"' in page.text
        response = await http.post(
            f"/t/{tenant.tenant_slug}/payments/notices/send",
            data={"position_id": position, "channel": "email", "email": ""},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200, response.text
    assert f"E-mail inviata a {to}" in response.text and "<html" not in response.text
    [message] = await smtp.wait_for(to)
    # What the taxpayer received, on the screen too (the operator reads it out): its code, amount
    # and day, as the e-mail says them.
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    code = re.search(r"codice avviso (\d{4} \d{4} \d{4} \d{4} \d{2}): € 123,00 entro il (\S+)", text)
    assert code is not None, text
    assert "Avviso allegato all'e-mail:" in response.text
    assert (
        f'Pagamento unico: codice avviso <span class="font-monospace">{code[1]}</span>, € 123,00 entro il {code[2]}'
        in response.text
    )


@pytest.mark.asyncio
async def test_with_the_development_mailer_the_screen_says_saved_not_sent(
    platform: Platform, tenant: Identity, tmp_path: Path
) -> None:
    await comune(platform, tenant)
    to = address()
    _, [position] = await debtor_with_positions(platform, tenant, 9_900, email=to)
    channels = Channels(FolderMailer(tmp_path, "a@b.it"), LogSmsProvider(), "k" * 32, "http://x.test", 30)
    work = functools.partial(
        send_by_email,
        ident=make_identity(tenant.tenant_id, tenant.tenant_slug),
        channels=channels,
        ask=((uuid.UUID(position),), None, None),
        now=datetime.now(UTC),
    )
    sent = await run(platform, tenant.tenant_id, work)
    assert sent.delivered is False and len(list(tmp_path.glob("*.eml"))) == 1
    html = web_delivery.templates.get_template("delivery_result.html").render(sent=sent, identity=None)
    assert f"Nessuna e-mail è partita per {to}: su questa installazione non è configurato" in html


@pytest.mark.asyncio
async def test_a_mail_server_that_refuses_leaves_nothing_recorded(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    _, [position] = await debtor_with_positions(platform, tenant, 9_900, email=address())
    unreachable = SmtpMailer("127.0.0.1", free_port(), "a@b.it", timeout=2.0)
    channels = Channels(unreachable, LogSmsProvider(), "k" * 32, "http://x.test", 30)
    work = functools.partial(
        send_by_email,
        ident=make_identity(tenant.tenant_id, tenant.tenant_slug),
        channels=channels,
        ask=((uuid.UUID(position),), None, None),
        now=datetime.now(UTC),
    )
    with pytest.raises(DeliveryFailed) as failed:
        await run(platform, tenant.tenant_id, work)
    assert failed.value.status == 502 and "non ha accettato il messaggio" in failed.value.message
    assert await sent_events(platform, tenant) == []
    sql = "SELECT count(*) FROM payments.messages WHERE tenant_id = :t"
    assert await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id) == 0


@pytest.mark.asyncio
async def test_the_position_page_sms_form_says_the_development_provider_did_not_send(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    _, [position] = await debtor_with_positions(platform, tenant, 15_000)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",))
    async with service_client(platform, "payments", operator) as http:
        response = await http.post(
            f"/t/{tenant.tenant_slug}/payments/notices/send",
            data={"position_id": position, "channel": "sms", "phone": "+39 347 765 4321"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200, response.text
        assert "Nessun SMS è partito per +39 347 765 4321" in response.text and "registro" in response.text
        refused = await http.post(
            f"/t/{tenant.tenant_slug}/payments/notices/send",
            data={"position_id": position, "channel": "sms", "phone": "abc"},
            headers={"HX-Request": "true"},
        )
    assert refused.status_code == 400 and "Numero di telefono non valido" in refused.text


@pytest.mark.asyncio
async def test_the_sending_form_says_which_address_a_blank_email_goes_to(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    to = address()
    _, [with_email] = await debtor_with_positions(platform, tenant, 12_000, email=to)
    _, [without] = await debtor_with_positions(platform, tenant, 13_000)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",))
    async with service_client(platform, "payments", operator) as client:
        known = await client.get(f"/t/{tenant.tenant_slug}/payments/positions/{with_email}")
        unknown = await client.get(f"/t/{tenant.tenant_slug}/payments/positions/{without}")
        builder = await client.get(
            f"/t/{tenant.tenant_slug}/payments/plans/builder",
            params={"position_id": with_email, "embedded": "1"},
            headers={"HX-Request": "true"},
        )
    assert (
        "L'indirizzo attivo in archivio" in known.text
        and f'required aria-describedby="delivery-email-hint" value="{to}"' in known.text
    )
    assert "Nessun indirizzo e-mail attivo: scrivi quello che il contribuente indica." in unknown.text
    assert re.search(r'name="email" type="email"[^>]*required', unknown.text)
    assert to in builder.text  # the plan builder in the operator's card says it too
    # There it sits in the card's «Pagamento» section (h2): its headings nest under it.
    assert (
        '<h3 id="plan-builder-title"' in builder.text
        and '<h4 class="h4" id="delivery-title">' in builder.text
    )
    assert '<h2 class="h4" id="delivery-title">' in known.text  # the position page: under its h1


@pytest.mark.asyncio
async def test_the_sms_form_starts_from_the_mobile_on_file(platform: Platform, tenant: Identity) -> None:
    """The first phone on file not marked wrong that can take an SMS (not a landline)."""
    await comune(platform, tenant)
    debtor, [position] = await debtor_with_positions(platform, tenant, 12_000)
    _, [nobody] = await debtor_with_positions(platform, tenant, 13_000)
    landline, wrong, mobile = (uuid.uuid4() for _ in range(3))
    records = [
        EmailRecord(landline, uuid.UUID(debtor), "phone", "+390667101234", True),
        EmailRecord(wrong, uuid.UUID(debtor), "phone", "+393331112222", False),
        EmailRecord(mobile, uuid.UUID(debtor), "phone", "+393479876543", True),
    ]
    work = functools.partial(repository_emails.keep_emails, tenant_id=tenant.tenant_id, records=records)
    await run(platform, tenant.tenant_id, work)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",))
    async with service_client(platform, "payments", operator) as client:
        page = (await client.get(f"/t/{tenant.tenant_slug}/payments/positions/{position}")).text
        builder = await client.get(
            f"/t/{tenant.tenant_slug}/payments/plans/builder",
            params={"position_id": position, "embedded": "1"},
            headers={"HX-Request": "true"},
        )
        none = (await client.get(f"/t/{tenant.tenant_slug}/payments/positions/{nobody}")).text
    for text in (page, builder.text):
        assert re.search(r'name="phone" type="tel"[^>]*value="\+39 347 987 6543"', text)
        assert "Il cellulare in archivio: correggilo se il contribuente ne indica un altro." in text
    assert "Nessun cellulare in archivio" in none and not re.search(r'name="phone"[^>]*value=', none)
