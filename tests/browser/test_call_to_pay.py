"""In a real browser, the operator's day: login lands on the home with two Comuni and their queues;
the next debtor's card; a plan built, created and sent through the payments service's builder
embedded in the card; the promise recorded with a callback; the callback back in the queue at its
time; a receipt imported in payments marks the promise kept on the card. The contact service's
clock is frozen and moved (`contact_clock`); events go from the payments outbox to the contact
consumer through its inbox, as the relay and the worker do."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, expect

from gateway.app import Gateway
from services.contact.consumers import queue_builder
from services.contact.domain import ROME
from services.kernel.bus import IncomingMessage
from services.kernel.messaging import inbox_handler
from services.payments import handlers_reconciliation
from services.payments.seed import seed_creditors
from services.platform import Platform
from tests.browser.serving import invite
from tests.browser.test_login import login_at_provider
from tests.contact.helpers import fact
from tests.contact.helpers import seed as seed_contact
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider
from tests.payments.helpers import seed as seed_payments
from tests.payments.test_notices import api
from tests.support import contact_clock, make_identity

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)


async def relay_payments_to_contact(platform: Platform, tenant_id: uuid.UUID) -> int:
    """The payments outbox's events of this Comune handed to the contact consumer (as the relay and
    the worker would), each through the inbox: a repeated one changes nothing."""
    sql = "SELECT body, routing_key, message_id FROM payments.outbox WHERE tenant_id = :t ORDER BY id"
    async with platform.databases["payments"].unit_of_work(tenant_id) as uow:
        rows = (await uow.execute(sa.text(sql), {"t": tenant_id})).all()
    handle = inbox_handler(platform.databases["contact"], queue_builder)
    wanted = set(queue_builder.handlers)
    for body, key, message_id in rows:
        if key in wanted:
            await handle(IncomingMessage(key, bytes(body), str(message_id)))
    return len(rows)


@pytest.mark.asyncio
async def test_an_operators_call_to_pay_loop(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("staff")
    a, b = await make_tenant(platform, "prima"), await make_tenant(platform, "seconda")
    await invite(platform, (a.id, b.id), account.email)
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": a.id})
    debtor = str(uuid.uuid4())
    owed = fact(debtor, 120_000, name="FERRARI ELENA")
    await seed_contact(platform, a.id, owed)
    await seed_payments(platform, a.id, owed)
    await seed_contact(platform, b.id, fact(str(uuid.uuid4()), 30_000))
    base = oidc_provider.gateway_base
    context = await chromium.new_context()
    page = await context.new_page()
    with contact_clock(platform, MONDAY):
        await page.goto(f"{base}/login")
        await page.get_by_role("link", name="Accesso personale").click()
        await login_at_provider(page, account)
        # The home: both Comuni, each with its queue.
        await expect(page.get_by_role("link", name=f"Apri la coda di {a.name}")).to_be_visible()
        await expect(page.get_by_role("link", name=f"Apri la coda di {b.name}")).to_be_visible()
        await page.get_by_role("link", name=f"Apri la coda di {a.name}").click()
        await page.get_by_role("button", name="Prossimo debitore").click()
        await expect(page.get_by_test_id("debtor-name")).to_have_text("FERRARI ELENA")
        # The plan, in the card: built, created and sent while the taxpayer is on the line.
        installments = page.get_by_label("Numero di rate (5–12)")
        # Too many: the service's Italian reason where the plan's result goes, not the browser's own
        # bubble (the form does not let the browser refuse it first).
        await installments.fill("13")
        await installments.dispatch_event("change")
        await expect(page.get_by_label("Numero di rate (5–12)")).to_have_value("13")
        await page.get_by_role("button", name="Crea il piano").click()
        await expect(page.locator("#plan-result")).to_contain_text("Il numero di rate deve essere tra 5 e 12")
        await installments.fill("6")
        await installments.dispatch_event("change")
        await expect(page.get_by_test_id("plan-schedule").locator("tbody tr")).to_have_count(6)
        await page.get_by_role("button", name="Crea il piano").click()
        await expect(page.get_by_test_id("plan-created")).to_contain_text("Piano di 6 rate per € 1.200,00")
        # And what the debtor pays in all, the installments' legal interest included.
        await expect(page.get_by_test_id("plan-created")).to_contain_text("(con gli interessi di legge € 1.2")
        # The installments stay on the card, to be read out to the debtor.
        await expect(page.get_by_test_id("plan-created-schedule").locator("tbody tr")).to_have_count(6)
        await expect(page.get_by_role("heading", name="Piano di rate creato")).to_be_focused()
        await page.get_by_label("E-mail del contribuente").fill("elena@example.it")
        await page.get_by_role("button", name="Invia per e-mail").click()
        await expect(page.locator("#delivery-result")).to_contain_text("elena@example.it")
        # The promise, with a callback the day after tomorrow.
        await page.get_by_label("Esito").select_option("promessa_pagamento")
        await page.get_by_label("Importo promesso (€)").fill("200,00")
        await page.get_by_label("Pagherà entro il").fill("2026-12-10")
        await page.get_by_label("Richiamo (obbligatorio per «Da richiamare»)").fill("2026-12-02T10:00")
        await page.get_by_role("button", name="Registra esito").click()
        await expect(page.get_by_text("Esito registrato.")).to_be_visible()
        await expect(page.get_by_test_id("promises")).to_contain_text("In attesa")
    queue = f"{base}/t/{a.slug}/contact/"
    with contact_clock(platform, datetime(2026, 12, 1, 10, 0, tzinfo=ROME)):
        await page.goto(queue)
        await page.get_by_role("button", name="Prossimo debitore").click()
        await expect(page.get_by_text("Nessun debitore da lavorare in questo momento.")).to_be_visible()
    with contact_clock(platform, datetime(2026, 12, 2, 10, 0, tzinfo=ROME)):
        await page.goto(queue)
        await page.get_by_role("button", name="Prossimo debitore").click()
        await expect(page.get_by_test_id("debtor-name")).to_have_text("FERRARI ELENA")
        # The first installment is paid through pagoPA: its receipt is imported in payments.
        sql = (
            "SELECT iuv, amount_cents FROM payments.payment_options WHERE tenant_id = :t"
            " AND installment = 1 AND status = 'payable'"
        )
        async with platform.databases["payments"].unit_of_work(a.id) as uow:
            iuv, cents = (await uow.execute(sa.text(sql), {"t": a.id})).one()
        receipt = (
            "iuv;importo;data_pagamento;psp;id_ricevuta\n"
            f"{iuv};{cents // 100},{cents % 100:02d};2026-12-02T09:30:00+01:00;Poste;RCPT-ELENA-1\n"
        ).encode()
        importer = api(make_identity(a.id, a.slug))
        async with platform.databases["payments"].unit_of_work(a.id) as uow:
            counts = await handlers_reconciliation.import_receipts(uow, importer, receipt)
            await uow.commit()
        assert counts["matched"] == 1
        await relay_payments_to_contact(platform, a.id)
        await page.reload()
        await expect(page.get_by_test_id("promises")).to_contain_text("Mantenuta")
    await context.close()
