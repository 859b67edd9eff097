"""Issue #13's Must show, in a real browser through the gateway: an operator records a dispute
(«contestazione») on a debtor; the Ufficio tributi (the Comune's administrator) finds it in its
worklist and answers «Annullata (sgravio)» for the debtor's position; the assigned total on the
reporting dashboard drops by that amount, and the debtor, owing nothing any more, leaves the
operator's queue. Events go from one service's outbox to the other's consumer through its inbox,
as the relays and the workers do."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, BrowserContext, Page, expect

from gateway.app import Gateway
from services.contact.consumers import queue_builder
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.messaging import Consumer, inbox_handler
from services.payments.consumers import balances
from services.platform import Platform
from services.reporting.consumers import CASES, PROJECTIONS
from tests.browser.axe import Walk, axe_context
from tests.browser.serving import invite
from tests.browser.test_login import login_at_provider
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import Account, OpenIdProvider
from tests.support import position_fact, registered


async def relay(
    platform: Platform, source: str, tenant_id: uuid.UUID, target: str, consumer: Consumer
) -> None:
    """`source`'s outbox events of this Comune that `consumer` listens to, handed to it through its
    inbox (as the relay and the worker would): a repeated one changes nothing."""
    sql = f"SELECT body, routing_key, message_id FROM {source}.outbox WHERE tenant_id = :t ORDER BY id"
    async with platform.databases[source].unit_of_work(tenant_id) as uow:
        rows = (await uow.execute(sa.text(sql), {"t": tenant_id})).all()
    handle = inbox_handler(platform.databases[target], consumer)
    for row in rows:
        if row.routing_key in consumer.handlers:
            await handle(IncomingMessage(row.routing_key, bytes(row.body), str(row.message_id)))


async def signed_in(
    chromium: Browser, provider: OpenIdProvider, account: Account, audited: bool = False
) -> tuple[BrowserContext, Page]:
    """A new browser context signed in as `account` (`audited`: with axe-core loaded)."""
    context = await (axe_context(chromium) if audited else chromium.new_context())
    page = await context.new_page()
    await page.goto(f"{provider.gateway_base}/login")
    await page.get_by_role("link", name="Accesso personale").click()
    await login_at_provider(page, account)
    return context, page


@pytest.mark.asyncio
async def test_a_dispute_answered_with_a_sgravio_leaves_the_queue_and_the_assigned_total(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    operator, office = oidc_provider.take("staff"), oidc_provider.take("staff")
    comune = await make_tenant(platform, "sgravi")
    await invite(platform, (comune.id,), operator.email)
    await invite(platform, (comune.id,), office.email, role="comune_admin")
    disputed = position_fact(84_000, name="BIANCHI LUCIA", credit=("IMU", 2022, "IMU"))
    other = position_fact(12_000, name="ROSSI MARIO", credit=("IMU", 2022, "IMU"))
    batch = registered(comune.id, disputed, other)
    # Ingest's registration reaches every service.
    await relay_envelope(
        platform, batch, ("contact", queue_builder), ("payments", balances), ("reporting", PROJECTIONS)
    )
    base = f"{oidc_provider.gateway_base}/t/{comune.slug}"

    # The operator: the dispute on the first debtor of the queue.
    desk, card = await signed_in(chromium, oidc_provider, operator)
    await card.goto(f"{base}/contact/")
    await card.get_by_role("button", name="Prossimo debitore").click()
    await expect(card.get_by_test_id("debtor-name")).to_have_text("BIANCHI LUCIA")
    await expect(card.get_by_test_id("total-due")).to_have_text("€ 840,00")
    await card.get_by_label("Esito").select_option("contestazione")
    await card.get_by_label("Nota").fill("Dice che l'immobile è stato venduto nel 2018, con atto notarile")
    await card.get_by_role("button", name="Registra esito").click()
    await expect(card.get_by_text("Esito registrato.")).to_be_visible()
    await relay(platform, "contact", comune.id, "reporting", CASES)

    # The office: its worklist, the case, the sgravio of the position.
    room, page = await signed_in(chromium, oidc_provider, office, audited=True)
    walk = Walk("comune_admin", oidc_provider.gateway_base, page)
    await page.goto(f"{base}/reporting/")
    await expect(page.get_by_test_id("assigned")).to_have_text("€ 960,00")
    await page.goto(f"{base}/reporting/pratiche")
    waiting = page.get_by_test_id("waiting")
    await expect(waiting).to_contain_text("BIANCHI LUCIA")
    await expect(waiting).to_contain_text("immobile è stato venduto")
    await waiting.get_by_role("link", name="Esamina la pratica di BIANCHI LUCIA").click()
    await walk.audit("pratica con le posizioni da scegliere")
    assert walk.violations == []
    await page.get_by_label(disputed.act_number).check()
    # The theme draws the radio on its label (the input itself is hidden under it): click the label.
    await page.locator("label", has_text="Annullata (sgravio)").click()
    await expect(page.get_by_label("Annullata (sgravio)")).to_be_checked()
    await page.get_by_label("Motivazione").fill("Immobile ceduto nel 2018: IMU non dovuta dal nuovo anno")
    await page.get_by_role("button", name="Registra la risposta").click()
    # What it changes, to confirm (focused on its heading); nothing is written before.
    preview = page.get_by_test_id("answer-preview")
    await expect(preview).to_contain_text(disputed.act_number)
    await expect(
        page.get_by_role("heading", name="Conferma la risposta: Annullata (sgravio)")
    ).to_be_focused()
    await walk.audit("conferma della risposta")
    assert walk.violations == []
    # A field changed after the preview takes it away: what is confirmed is what the form says.
    await page.get_by_label("Motivazione").fill("Immobile ceduto nel 2018: IMU non dovuta, atto di vendita")
    await expect(preview).to_have_count(0)
    await page.get_by_role("button", name="Registra la risposta").click()
    await expect(preview).to_contain_text("atto di vendita")
    await preview.get_by_role("button", name="Conferma la risposta").click()
    await expect(page.get_by_test_id("waiting-count")).to_have_text("0")
    await expect(page.get_by_text("Risposta registrata e inviata agli operatori.")).to_be_focused()
    await expect(page.get_by_test_id("answered")).to_contain_text("Annullata (sgravio)")
    await page.goto(f"{base}/reporting/")
    await expect(page.get_by_test_id("assigned")).to_have_text("€ 120,00")
    await room.close()

    # The answer reaches the contact and payments services: the debtor owes nothing, leaves the queue.
    await relay(platform, "reporting", comune.id, "contact", queue_builder)
    await relay(platform, "reporting", comune.id, "payments", balances)
    await card.goto(f"{base}/contact/debtors/{disputed.debtor_id}")
    await expect(card.get_by_test_id("positions")).to_contain_text("Annullata dall'Ufficio tributi (sgravio)")
    await expect(card.get_by_test_id("total-due")).to_have_text("€ 0,00")
    await expect(card.get_by_test_id("debtor-status")).to_have_text("Chiamate cessate")
    await card.goto(f"{base}/contact/")
    await card.get_by_role("button", name="Prossimo debitore").click()
    await expect(card.get_by_test_id("debtor-name")).to_have_text("ROSSI MARIO")
    async with platform.databases["payments"].unit_of_work(comune.id) as uow:
        sql = "SELECT state FROM payments.positions WHERE id = :p"
        state = (await uow.execute(sa.text(sql), {"p": uuid.UUID(disputed.position_id)})).scalar_one()
    assert state == "cancelled"
    await desk.close()


async def relay_envelope(platform: Platform, env: Envelope, *targets: tuple[str, Consumer]) -> None:
    """One event handed to each of `targets` (service, consumer) through its inbox."""
    for service, consumer in targets:
        handle = inbox_handler(platform.databases[service], consumer)
        await handle(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))
