"""The daily reminder step: an e-mail the Comune's `reminder_days` before an installment falls due,
with its notice and the plan's link, once per installment however often the step runs."""

from __future__ import annotations

import functools
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.contracts import NoticeSent
from services.kernel.identity import Identity
from services.kernel.mail import SmtpMailer
from services.payments.handlers_reminders import remind_installments
from services.platform import Platform
from tests.payments.delivery_helpers import (
    comune,
    debtor_with_positions,
    link_in,
    pdfs_in,
    plan_with_notices,
    run,
    scalar,
)
from tests.smtp_server import Inbox, free_port


async def first_due(platform: Platform, who: Identity, plan_id: str) -> date:
    sql = (
        "SELECT due_date FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p AND number = 1"
    )
    found = await scalar(platform, who.tenant_id, sql, t=who.tenant_id, p=uuid.UUID(plan_id))
    assert isinstance(found, date)
    return found


async def remind(platform: Platform, who: Identity, today: date) -> int:
    ctx = platform.context("payments")
    work = functools.partial(remind_installments, ctx=ctx, tenant_id=who.tenant_id, today=today)
    return int(await run(platform, who.tenant_id, work))


@pytest.mark.asyncio
async def test_the_reminder_goes_once_reminder_days_before_the_due_date(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await comune(platform, tenant)
    to = f"rate-{uuid.uuid4().hex[:10]}@example.it"
    debtor, positions = await debtor_with_positions(platform, tenant, 80_000, email=to)
    plan_id = await plan_with_notices(platform, tenant, positions, 6)
    due = await first_due(platform, tenant, plan_id)
    assert await remind(platform, tenant, due - timedelta(days=8)) == 0  # 7 days by default: too early
    assert await remind(platform, tenant, due - timedelta(days=7)) == 1
    assert await remind(platform, tenant, due - timedelta(days=6)) == 0  # never twice
    assert await remind(platform, tenant, due) == 0
    [message] = await smtp.wait_for(to)
    assert message["Subject"] == "Comune di Consegna: promemoria rata n. 1 in scadenza"
    body = message.get_body(("plain",))
    assert body is not None and f"scade il {due:%d/%m/%Y}" in body.get_content()
    assert "/avvisi/" in link_in(message)
    [(name, pdf)] = pdfs_in(message).items()
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF")
    sql = (
        "SELECT count(*) FROM payments.messages WHERE tenant_id = :t AND debtor_id = :d"
        " AND kind = 'installment_reminder' AND installment = 1 AND plan_id = :p"
    )
    assert (
        await scalar(
            platform, tenant.tenant_id, sql, t=tenant.tenant_id, d=uuid.UUID(debtor), p=uuid.UUID(plan_id)
        )
        == 1
    )
    events = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k",
        t=tenant.tenant_id,
        k=NoticeSent.routing_key(),
    )
    assert events == 1
    # The next installment's turn comes a month later.
    second = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT due_date FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p AND number = 2",
        t=tenant.tenant_id,
        p=uuid.UUID(plan_id),
    )
    assert await remind(platform, tenant, second - timedelta(days=3)) == 1
    assert len(await smtp.wait_for(to, count=2)) == 2


@pytest.mark.asyncio
async def test_a_debtor_without_an_address_gets_no_reminder_and_stays_due(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await comune(platform, tenant)
    _, positions = await debtor_with_positions(platform, tenant, 80_000)
    plan_id = await plan_with_notices(platform, tenant, positions, 6)
    due = await first_due(platform, tenant, plan_id)
    assert await remind(platform, tenant, due - timedelta(days=2)) == 0
    sql = "SELECT reminded_at IS NULL FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p AND number = 1"
    assert await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id, p=uuid.UUID(plan_id)) is True


@pytest.mark.asyncio
async def test_a_reminder_the_mail_server_refuses_is_tried_again_next_time(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await comune(platform, tenant)
    to = f"rate-{uuid.uuid4().hex[:10]}@example.it"
    _, positions = await debtor_with_positions(platform, tenant, 80_000, email=to)
    plan_id = await plan_with_notices(platform, tenant, positions, 6)
    due = await first_due(platform, tenant, plan_id)
    broken = replace(
        platform.context("payments"), mailer=SmtpMailer("127.0.0.1", free_port(), "a@b.it", timeout=2.0)
    )
    work = functools.partial(remind_installments, ctx=broken, tenant_id=tenant.tenant_id, today=due)
    assert await run(platform, tenant.tenant_id, work) == 0
    assert await remind(platform, tenant, due) == 1
    assert len(await smtp.wait_for(to)) == 1
