"""The digest for the Ufficio tributi end to end: events projected by the reporting consumers, the
office's addresses saved on the page, then the daily run e-mails the week's digest to the real test
SMTP server with its PDF (figures checked in the attachment), stores it with its SHA-256, never
twice; a refused e-mail is recorded and sent the next day; the cron command does the same."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import sys
import uuid
from asyncio.subprocess import PIPE
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import sqlalchemy as sa

from services import jobs
from services.contracts import (
    Event,
    OutcomeRecorded,
    PaymentReceived,
    PaymentRefunded,
    PaymentRevoked,
    PlanCreated,
    PlanLapsed,
    PositionFact,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from services.contracts_contact import AlreadyPaidClaimed, DisputeOpened
from services.kernel.bus import IncomingMessage
from services.kernel.identity import Identity
from services.kernel.mail import SmtpMailer
from services.kernel.messaging import inbox_handler
from services.kernel.settings import Settings
from services.kernel.storage import read_all
from services.platform import Platform
from services.reporting import daily, domain_digest, handlers_digests
from services.reporting import repository_digests as repo
from services.reporting.consumers import CASES
from tests.conftest import service_client
from tests.gateway.helpers import make_tenant
from tests.reporting.helpers import deliver_envelope, fact, paid, registered
from tests.smtp_server import Inbox, free_port
from tests.support import make_identity, process_env

TODAY = date(2026, 11, 30)  # a Monday: the week 23-29 November has ended
IN = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
BEFORE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
FIRST_MINUTE = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # 00:30 on Monday 23 in Rome: inside
AFTER_MIDNIGHT = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # 00:30 on Monday 30 in Rome: outside


def as_(who: Identity, role: str) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=(role,), user_id=f"ut-{role}")


async def feed(platform: Platform, tenant_id: uuid.UUID, at: datetime, *events: Event) -> None:
    """Each event through the projections consumer, as its service said it happened at `at`."""
    for event in events:
        env = dataclasses.replace(event.envelope(tenant_id, "test"), occurred_at=at)
        await deliver_envelope(platform, env)


async def open_cases(platform: Platform, tenant_id: uuid.UUID, *events: Event) -> None:
    handle = inbox_handler(platform.databases["reporting"], CASES)
    for event in events:
        env = event.envelope(tenant_id, "test")
        await handle(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))


async def sql(platform: Platform, tenant_id: uuid.UUID, statement: str, **params: Any) -> list[Any]:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        result = await uow.execute(sa.text(statement), params)
        rows = list(result.all()) if result.returns_rows else []
        await uow.commit()
    return rows


def payment(position: PositionFact, cents: int, on: str) -> PaymentReceived:
    return dataclasses.replace(paid(position, cents), paid_on=on)


def outcome(debtor_id: str, code: str, at: datetime) -> OutcomeRecorded:
    return OutcomeRecorded(str(uuid.uuid4()), debtor_id, code, "Olga Russo", at.isoformat())


def dispute(
    debtor_id: str, opened: str, kind: type[DisputeOpened | AlreadyPaidClaimed] = DisputeOpened
) -> Event:
    return kind(str(uuid.uuid4()), debtor_id, "Nota dell'operatore", "Olga Russo", opened)


async def campaign(platform: Platform, tenant_id: uuid.UUID) -> dict[str, PositionFact]:
    """A week of work: what falls inside 23-29 November and what falls just outside."""
    a = fact(100_000, "IMU", debtor_name="ROSSI MARIO", fiscal_code="RSSMRA80A01H501U")
    b = fact(50_000, "TARI", debtor_name="BIANCHI LUCA", fiscal_code="BNCLCU75B02F205X")
    c = fact(30_000, "IMU", debtor_name="VERDI ANNA", fiscal_code="VRDNNA70C43L219Y")
    old = fact(70_000, "IMU", debtor_name="NERI PAOLO", fiscal_code="NREPLA60D04H501Z")
    await feed(platform, tenant_id, BEFORE, registered(old))
    await feed(platform, tenant_id, FIRST_MINUTE, registered(a, b, c))
    pa, pb, pold = (
        payment(a, 40_000, "2026-11-24"),
        payment(b, 10_000, "2026-11-26"),
        payment(old, 5_000, "2026-11-20"),
    )
    plan_b, plan_old = str(uuid.uuid4()), str(uuid.uuid4())
    await feed(
        platform,
        tenant_id,
        BEFORE,
        PromiseBroken(str(uuid.uuid4()), old.debtor_id, 5_000, 0, "2026-11-19"),
        PlanCreated(plan_old, old.debtor_id, (old.position_id,), "IMU", 65_000, 5, "2026-10-01", "Olga"),
    )
    await feed(
        platform,
        tenant_id,
        IN,
        pa,
        pb,
        pold,
        payment(b, 7_000, "2026-11-28"),
        payment(a, 3_000, "2026-11-30"),  # the next week's
        PaymentRevoked(pb.payment_id, b.position_id, b.debtor_id, 10_000, "IUV1", "R1", "FLOW1"),
        PaymentRefunded(
            str(uuid.uuid4()), pa.payment_id, a.position_id, a.debtor_id, 2_000, "2026-11-27", "doppio", "x"
        ),
        PaymentRefunded(
            str(uuid.uuid4()), pold.payment_id, old.position_id, old.debtor_id, 1_000, "2026-11-19", "x", "x"
        ),
        outcome(a.debtor_id, "non_risponde", IN),
        outcome(a.debtor_id, "promessa_pagamento", IN),
        outcome(b.debtor_id, "rifiuto", IN),
        outcome(old.debtor_id, "occupato", IN),
        outcome(c.debtor_id, "contestazione", AFTER_MIDNIGHT),
        PromiseMade(
            str(uuid.uuid4()), a.debtor_id, str(uuid.uuid4()), 40_000, "2026-11-27", "Olga", IN.isoformat()
        ),
        PromiseKept(str(uuid.uuid4()), a.debtor_id, 40_000, 40_000, "2026-11-24"),
        PromiseBroken(str(uuid.uuid4()), b.debtor_id, 9_000, 0, "2026-11-26"),
        PlanCreated(plan_b, b.debtor_id, (b.position_id,), "TARI", 43_000, 6, "2026-12-31", "Olga"),
        PlanLapsed(plan_old, old.debtor_id, (old.position_id,), "IMU", 60_000, "2026-11-28"),
    )
    # The office cancelled c (sgravio): it leaves what was assigned.
    await sql(
        platform,
        tenant_id,
        "UPDATE reporting.positions SET state = 'cancelled' WHERE position_id = :p",
        p=uuid.UUID(c.position_id),
    )
    waiting, suspended, answered = (
        dispute(c.debtor_id, "2026-11-10T10:00:00+01:00"),
        dispute(old.debtor_id, "2026-11-26T09:00:00+01:00", AlreadyPaidClaimed),
        dispute(b.debtor_id, "2026-11-24T09:00:00+01:00"),
    )
    await open_cases(platform, tenant_id, waiting, suspended, answered)
    for case, answer in ((suspended, "suspended"), (answered, "rejected")):
        await sql(
            platform,
            tenant_id,
            "UPDATE reporting.cases SET answer = :a, answered_at = now() WHERE id = :i",
            a=answer,
            i=uuid.UUID(case.contact_id),  # type: ignore[attr-defined]
        )
    return {"a": a, "b": b, "c": c, "old": old}


def addresses() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"tributi-{tag}@comune.test", f"ragioneria-{tag}@comune.test"


async def save_settings(platform: Platform, who: Identity, to: tuple[str, ...], **form: str) -> Any:
    data = {"periodo": "weekly", "giorno": "0", "ogni_giorni": "", "indirizzi": "\n".join(to), **form}
    async with service_client(platform, "reporting", as_(who, "comune_admin")) as client:
        return await client.post(
            f"/t/{who.tenant_slug}/reporting/riepiloghi/impostazioni",
            data=data,
            headers={"HX-Request": "true"},
        )


def pdf_of(message: EmailMessage) -> tuple[str, bytes]:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    return str(attachment.get_filename()), attachment.get_content()


def text_of(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


@pytest.mark.asyncio
async def test_the_daily_run_emails_the_weeks_digest_with_its_pdf_once(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await campaign(platform, tenant.tenant_id)
    to = addresses()
    assert (await save_settings(platform, tenant, to)).status_code == 200
    assert "reporting" in jobs.DAILY_RUNS and handlers_digests.send_due_digest in daily.STEPS

    done = await daily.run_daily(platform.context("reporting"), TODAY, [tenant.tenant_id])
    run = done[tenant.tenant_id]["send_due_digest"]
    assert isinstance(run, handlers_digests.DigestRun)
    assert (run.status, run.period) == ("sent", domain_digest.Period(date(2026, 11, 23), date(2026, 11, 29)))

    [message] = await smtp.wait_for(to[0])
    assert to[1] in str(message["To"])
    assert (
        message["Subject"]
        == f"Comune {tenant.tenant_slug}: riepilogo della riscossione dal 23/11/2026 al 29/11/2026"
    )
    name, pdf = pdf_of(message)
    assert name == "riepilogo-20261123-20261129.pdf" and pdf.startswith(b"%PDF")
    shown = text_of(pdf)
    for line in (
        "Posizioni affidate nel periodo (escluse le annullate) 2",  # a and b; c cancelled, old before
        "Carico affidato nel periodo, al netto di sgravi e rettifiche € 1.500,00",
        "Esiti di contatto registrati 4",
        "Contribuenti raggiunti 2",  # a and b answered; old was busy
        "Promesse di pagamento fatte 1",
        "Promesse mantenute 1",
        "Promesse non mantenute 1",
        "Piani di rateizzazione concessi 1",
        "Piani decaduti 1",
        "Riscosso (pagamenti validi) € 470,00",
        "Pagamenti revocati € 100,00",
        "Rimborsi € 20,00",
        "Riscosso netto € 450,00",
        "IMU 1 € 400,00 € 20,00 € 380,00",
        "TARI 1 € 70,00 € 0,00 € 70,00",
        "Pratiche in attesa di risposta dell'ufficio: 2",
        "10/11/2026 20 Contestazione Da decidere VERDI ANNA VRDNNA70C43L219Y",
        "26/11/2026 4 Dichiara di aver già pagato Sospesa NERI PAOLO",
    ):
        assert line in shown, line
    assert "BIANCHI LUCA" not in shown  # its case was answered
    body = message.get_body(("plain",))
    assert body is not None and "- Riscosso netto: € 450,00" in body.get_content()
    assert "2 pratiche sono in attesa" in body.get_content()
    html = message.get_body(("html",))
    assert html is not None and "<caption>Dati del periodo</caption>" in html.get_content()

    [row] = await sql(
        platform, tenant.tenant_id, "SELECT * FROM reporting.digests WHERE tenant_id = :t", t=tenant.tenant_id
    )
    assert (row.status, row.trigger, row.attempts, sorted(row.recipients)) == (
        "sent",
        "scheduled",
        1,
        sorted(to),
    )
    assert row.sha256 == hashlib.sha256(pdf).hexdigest() and row.size == len(pdf)
    assert row.object_key.startswith(f"tenants/{tenant.tenant_id}/reporting/digests/{row.id}/")
    head = await platform.storage.head(tenant.tenant_id, row.object_key)
    assert (head.sha256, head.size) == (row.sha256, row.size)
    assert await read_all(platform.storage, tenant.tenant_id, row.object_key) == pdf

    # Again the same day, the next day, and a claim of the same period: nothing more is sent.
    for day in (TODAY, date(2026, 12, 1)):
        again = await daily.run_daily(platform.context("reporting"), day, [tenant.tenant_id])
        assert again[tenant.tenant_id]["send_due_digest"] == handlers_digests.DigestRun("nothing_due")
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        assert await repo.claim_scheduled(uow, tenant.tenant_id, run.period, to, datetime.now(UTC)) is None
    assert len(await smtp.wait_for(to[0], count=2, within=0.5)) == 1
    # The next week's digest goes out the Monday after.
    later = await daily.run_daily(platform.context("reporting"), date(2026, 12, 7), [tenant.tenant_id])
    assert later[tenant.tenant_id]["send_due_digest"].status == "sent"  # type: ignore[attr-defined]
    [_, second] = await smtp.wait_for(to[0], count=2)
    assert pdf_of(second)[0] == "riepilogo-20261130-20261206.pdf"
    assert "Riscosso (pagamenti validi) € 30,00" in text_of(pdf_of(second)[1])


@pytest.mark.asyncio
async def test_a_refused_email_is_recorded_and_sent_the_next_day(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    to = addresses()
    assert (await save_settings(platform, tenant, to[:1])).status_code == 200
    nobody = SmtpMailer("127.0.0.1", free_port(), "noreply@riscossa.test", timeout=2)
    broken = dataclasses.replace(platform.context("reporting"), mailer=nobody)
    done = await daily.run_daily(broken, TODAY, [tenant.tenant_id])
    failed = done[tenant.tenant_id]["send_due_digest"]
    assert failed.status == "failed"  # type: ignore[attr-defined]
    [row] = await sql(
        platform, tenant.tenant_id, "SELECT * FROM reporting.digests WHERE tenant_id = :t", t=tenant.tenant_id
    )
    assert row.status == "failed" and row.error and row.sent_at is None and row.sha256
    [settings] = await sql(
        platform,
        tenant.tenant_id,
        "SELECT last_period_end FROM reporting.digest_settings WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert settings.last_period_end is None

    retried = await daily.run_daily(platform.context("reporting"), date(2026, 12, 1), [tenant.tenant_id])
    assert retried[tenant.tenant_id]["send_due_digest"].digest_id == row.id  # type: ignore[attr-defined]
    [message] = await smtp.wait_for(to[0])
    assert pdf_of(message)[0] == "riepilogo-20261123-20261129.pdf"
    [row] = await sql(
        platform, tenant.tenant_id, "SELECT * FROM reporting.digests WHERE tenant_id = :t", t=tenant.tenant_id
    )
    assert (row.status, row.attempts, row.error) == ("sent", 2, "")
    assert row.sha256 == hashlib.sha256(pdf_of(message)[1]).hexdigest()


@pytest.mark.asyncio
async def test_without_addresses_nothing_is_sent(platform: Platform, tenant: Identity, smtp: Inbox) -> None:
    done = await daily.run_daily(platform.context("reporting"), TODAY, [tenant.tenant_id])
    assert done[tenant.tenant_id]["send_due_digest"].status == "no_addresses"  # type: ignore[attr-defined]
    assert not await sql(
        platform, tenant.tenant_id, "SELECT 1 FROM reporting.digests WHERE tenant_id = :t", t=tenant.tenant_id
    )
    # Addresses saved elsewhere (the aggio page), nobody opened the digests' page: the digest names
    # the Comune as its aggio contract does.
    to = addresses()
    await sql(
        platform,
        tenant.tenant_id,
        "INSERT INTO reporting.office_contacts (tenant_id, emails) VALUES (:t, :e)",
        t=tenant.tenant_id,
        e=[to[0]],
    )
    await sql(
        platform,
        tenant.tenant_id,
        "INSERT INTO reporting.aggio_contracts (tenant_id, reference, start_date, ente)"
        " VALUES (:t, 'CIG 1', '2026-01-01', 'Comune di Contratto')",
        t=tenant.tenant_id,
    )
    done = await daily.run_daily(platform.context("reporting"), TODAY, [tenant.tenant_id])
    assert done[tenant.tenant_id]["send_due_digest"].status == "sent"  # type: ignore[attr-defined]
    # (The aggio's daily step may e-mail the same office its monthly rendiconto.)
    digests = [m for m in await smtp.wait_for(to[0]) if "riepilogo" in str(m["Subject"])]
    assert [str(m["Subject"]).strip() for m in digests] == [
        "Comune di Contratto: riepilogo della riscossione dal 23/11/2026 al 29/11/2026"
    ]


@pytest.mark.asyncio
async def test_the_cron_command_sends_the_digest_of_every_comune_of_the_registry(
    platform: Platform, settings: Settings, smtp: Inbox
) -> None:
    registered_comune = await make_tenant(platform)
    to = addresses()
    await sql(
        platform,
        registered_comune.id,
        "INSERT INTO reporting.office_contacts (tenant_id, emails) VALUES (:t, :e)",
        t=registered_comune.id,
        e=[to[0]],
    )
    command = [sys.executable, "-m", "services.cli", "reporting-daily", "--date", "2026-11-30"]
    root = Path(__file__).resolve().parents[2]
    run = await asyncio.create_subprocess_exec(
        *command,
        cwd=root,
        env={**process_env(settings), "RISCOSSA_SMTP_URL": smtp.url},
        stderr=PIPE,
        stdout=PIPE,
    )
    out, err = await asyncio.wait_for(run.communicate(), 120)
    assert run.returncode == 0, err.decode()[-2000:]
    assert f"{registered_comune.id}: " in out.decode() and "status='sent'" in out.decode()
    [message] = [m for m in await smtp.wait_for(to[0]) if "riepilogo" in str(m["Subject"])]
    assert pdf_of(message)[0] == "riepilogo-20261123-20261129.pdf"
