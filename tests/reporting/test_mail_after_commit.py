"""The digests and the aggio rendiconto are e-mailed only after the transaction that records them
committed (issue #13): a daily run rolled back by a later step sends nothing; while the mail server
talks, the record is already committed as `sending`; a refused e-mail is recorded as failed with its
attempts, the next run (or «Invia ora») sends it once, and one that went out is never sent again."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from services.kernel import daily as kernel_daily
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.mail import Mail, SmtpMailer
from services.kernel.storage import read_all
from services.kernel.web import ServiceContext, service_app
from services.platform import Platform, service_specs
from services.reporting import daily, handlers_digests
from tests.reporting.test_aggio import as_role, october, save_contract
from tests.reporting.test_digest import TODAY, addresses, as_, pdf_of, save_settings, sql
from tests.smtp_server import Inbox, free_port
from tests.support import identity_headers

RENDICONTO_DAY = date(2026, 11, 2)  # the first working day of November: October's rendiconto is due


@dataclass
class Probe:
    """A mailer that, when asked to send, looks at the Comune's digests and rendiconti from another
    transaction (what is committed), then hands the message to `inner`."""

    platform: Platform
    tenant_id: uuid.UUID
    inner: SmtpMailer
    rendiconti: bool = False
    seen: list[tuple[str, ...]] = field(default_factory=list)
    delivers: bool = True

    async def send(self, mail: Mail) -> str:
        query = "SELECT status || ':' || attempts AS s FROM reporting.digests WHERE tenant_id = :t"
        if self.rendiconti:
            query += (
                " UNION ALL SELECT 'rendiconto ' || email_status || ':' || email_attempts"
                " FROM reporting.rendiconti WHERE tenant_id = :t"
            )
        rows = await sql(self.platform, self.tenant_id, query, t=self.tenant_id)
        self.seen.append(tuple(sorted(r.s for r in rows)))
        return await self.inner.send(mail)


def refusing() -> SmtpMailer:
    return SmtpMailer("127.0.0.1", free_port(), "noreply@riscossa.test", timeout=2)


def working(smtp: Inbox) -> SmtpMailer:
    port = int(smtp.url.rsplit(":", 1)[1])
    return SmtpMailer("127.0.0.1", port, "noreply@riscossa.test", timeout=5)


def with_mailer(platform: Platform, mailer: Any) -> ServiceContext:
    return dataclasses.replace(platform.context("reporting"), mailer=mailer)


async def broken_step(uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, today: date) -> object:
    raise RuntimeError("a later step of the same daily run fails")


async def office(platform: Platform, tenant: Identity) -> str:
    """October's payments, the aggio contract and one office address (digests and rendiconti)."""
    await october(platform, tenant)
    assert (await save_contract(platform, tenant))[0] == 200
    to = addresses()[0]
    assert (await save_settings(platform, tenant, (to,))).status_code == 200
    return to


@pytest.mark.asyncio
async def test_a_daily_run_rolled_back_by_a_later_step_sends_no_email(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    to = await office(platform, tenant)
    ctx = platform.context("reporting")
    steps = [*daily.STEPS, broken_step]
    done = await kernel_daily.run_daily(steps, ctx, RENDICONTO_DAY, [tenant.tenant_id])
    assert tenant.tenant_id not in done  # the Comune's run failed and was rolled back
    assert await smtp.wait_for(to, within=1.0) == []
    for table in ("digests", "rendiconti"):
        assert not await sql(
            platform,
            tenant.tenant_id,
            f"SELECT 1 FROM reporting.{table} WHERE tenant_id = :t",
            t=tenant.tenant_id,
        )

    # The next run, whole, sends each once; the one after sends nothing more.
    first = await daily.run_daily(ctx, RENDICONTO_DAY, [tenant.tenant_id])
    assert str(first[tenant.tenant_id]["monthly_rendiconto"]).endswith("e-mail sent")
    assert first[tenant.tenant_id]["send_due_digest"].status == "sent"  # type: ignore[attr-defined]
    again = await daily.run_daily(ctx, RENDICONTO_DAY, [tenant.tenant_id])
    assert again[tenant.tenant_id]["monthly_rendiconto"] == "done"
    subjects = sorted(str(m["Subject"]) for m in await smtp.wait_for(to, count=3, within=1.0))
    assert len(subjects) == 2 and "rendiconto" in subjects[0] + subjects[1]


@pytest.mark.asyncio
async def test_a_refused_digest_is_committed_before_the_smtp_talk_and_sent_once_by_the_next_run(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    to = addresses()
    assert (await save_settings(platform, tenant, to[:1])).status_code == 200
    probe = Probe(platform, tenant.tenant_id, refusing())
    done = await daily.run_daily(with_mailer(platform, probe), TODAY, [tenant.tenant_id])
    assert done[tenant.tenant_id]["send_due_digest"].status == "failed"  # type: ignore[attr-defined]
    assert probe.seen == [("sending:1",)]  # recorded and committed before the mail server was called
    [row] = await sql(
        platform, tenant.tenant_id, "SELECT * FROM reporting.digests WHERE tenant_id = :t", t=tenant.tenant_id
    )
    assert (row.status, row.attempts, row.sent_at) == ("failed", 1, None) and row.error

    sending = Probe(platform, tenant.tenant_id, working(smtp))
    retried = await daily.run_daily(with_mailer(platform, sending), date(2026, 12, 1), [tenant.tenant_id])
    assert retried[tenant.tenant_id]["send_due_digest"].status == "sent"  # type: ignore[attr-defined]
    assert sending.seen == [("sending:2",)]
    for day in (date(2026, 12, 1), date(2026, 12, 2)):
        later = await daily.run_daily(with_mailer(platform, sending), day, [tenant.tenant_id])
        assert later[tenant.tenant_id]["send_due_digest"] == handlers_digests.DigestRun("nothing_due")
    [message] = await smtp.wait_for(to[0], count=2, within=1.0)
    [row] = await sql(
        platform, tenant.tenant_id, "SELECT * FROM reporting.digests WHERE tenant_id = :t", t=tenant.tenant_id
    )
    assert (row.status, row.attempts, row.error) == ("sent", 2, "") and row.sent_at is not None
    assert row.sha256 == hashlib.sha256(pdf_of(message)[1]).hexdigest()


@pytest.mark.asyncio
async def test_a_refused_rendiconto_is_recorded_failed_and_the_next_run_sends_the_same_once(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    to = await office(platform, tenant)
    probe = Probe(platform, tenant.tenant_id, refusing(), rendiconti=True)
    done = await daily.run_daily(with_mailer(platform, probe), RENDICONTO_DAY, [tenant.tenant_id])
    assert str(done[tenant.tenant_id]["monthly_rendiconto"]).endswith("e-mail failed")
    assert ("rendiconto sending:1", "sending:1") in probe.seen  # committed before each SMTP talk
    [row] = await sql(
        platform,
        tenant.tenant_id,
        "SELECT * FROM reporting.rendiconti WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert (row.email_status, row.email_attempts, row.emailed_at) == ("failed", 1, None)
    assert row.email_error.startswith("Invio non riuscito")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service_app(platform.context("reporting"), routes())),
        base_url="http://service.test",
        headers=identity_headers(platform.signer, as_role(tenant, "comune_viewer")),
    ) as client:
        shown = await client.get(f"/t/{tenant.tenant_slug}/reporting/aggio")
    assert "Invio non riuscito" in shown.text and "(tentativi: 1)" in shown.text

    ctx = with_mailer(platform, working(smtp))
    retried = await daily.run_daily(ctx, date(2026, 11, 3), [tenant.tenant_id])
    assert retried[tenant.tenant_id]["monthly_rendiconto"] == "retried, e-mail sent"
    for day in (date(2026, 11, 4), date(2026, 11, 5)):
        later = await daily.run_daily(ctx, day, [tenant.tenant_id])
        assert later[tenant.tenant_id]["monthly_rendiconto"] == "done"
    sent = [m for m in await smtp.wait_for(to, count=3, within=1.0) if "rendiconto" in str(m["Subject"])]
    assert len(sent) == 1
    files = {part.get_filename(): part.get_content() for part in sent[0].iter_attachments()}
    [row] = await sql(
        platform,
        tenant.tenant_id,
        "SELECT * FROM reporting.rendiconti WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert (row.email_status, row.email_attempts, row.email_error) == ("sent", 2, "")
    assert row.emailed_at is not None and row.version == 1  # the stored version, not a new one
    assert files["rendiconto-aggio-2026-10-v1.pdf"] == await read_all(
        platform.storage, tenant.tenant_id, row.pdf_key
    )


def routes() -> Any:
    return service_specs()["reporting"].routes()


@pytest.mark.asyncio
async def test_send_now_emails_after_its_commit_and_a_refusal_is_sent_again_by_the_next_click(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    to = addresses()
    assert (await save_settings(platform, tenant, to[:1])).status_code == 200
    base = f"/t/{tenant.tenant_slug}/reporting/riepiloghi"
    admin = identity_headers(platform.signer, as_(tenant, "comune_admin"))

    async def click(mailer: Probe) -> httpx.Response:
        app = service_app(with_mailer(platform, mailer), routes())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s.test", headers=admin) as client:
            return await client.post(f"{base}/invia", headers={"HX-Request": "true"})

    refused = Probe(platform, tenant.tenant_id, refusing())
    answer = await click(refused)
    assert answer.status_code == 200 and "Il server di posta non ha accettato" in answer.text
    assert refused.seen == [("sending:1",)]
    accepted = Probe(platform, tenant.tenant_id, working(smtp))
    answer = await click(accepted)
    assert answer.status_code == 200 and f"inviato a {to[0]}" in answer.text
    assert accepted.seen == [("failed:1", "sending:1")]
    assert len(await smtp.wait_for(to[0], count=2, within=1.0)) == 1
    rows = await sql(
        platform,
        tenant.tenant_id,
        "SELECT status, trigger FROM reporting.digests WHERE tenant_id = :t ORDER BY created_at",
        t=tenant.tenant_id,
    )
    assert [(r.status, r.trigger) for r in rows] == [("failed", "manual"), ("sent", "manual")]
