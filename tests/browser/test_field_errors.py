"""In a real browser: a form the server refuses shows the message beside the field it names, marks
the field invalid and puts the focus on it (the manual payment form of a position page)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from gateway.app import Gateway
from services.platform import Platform
from tests.browser.signed_in import signed_in
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider
from tests.payments.helpers import fact, seed
from tests.support import position_fact


@pytest.mark.asyncio
async def test_a_refused_amount_is_shown_at_its_field_which_takes_the_focus(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    comune = await make_tenant(platform, "campo")
    position = fact(10_000)
    await seed(platform, comune.id, position)
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "operator")
    await page.goto(f"{oidc_provider.gateway_base}/t/{comune.slug}/payments/positions/{position.position_id}")
    await page.get_by_label("Data pagamento (gg/mm/aaaa)").fill("02/05/2024")
    await page.get_by_label("Importo (€)").fill("250,00")
    await page.get_by_label("Motivo").fill("Bonifico sul conto di tesoreria")
    await page.get_by_label("Ricevuta o quietanza").set_input_files(
        files=[{"name": "ricevuta.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 prova"}]
    )
    await page.get_by_role("button", name="Registra").click()
    amount = page.get_by_label("Importo (€)")
    await expect(amount).to_have_attribute("aria-invalid", "true")
    await expect(amount).to_be_focused()
    described = await amount.get_attribute("aria-describedby") or ""
    await expect(page.locator(f"#{described.split()[0]}")).to_contain_text("supera il residuo")
    # A field with a help text keeps it read out after the message (the message first).
    phone = page.get_by_label("Cellulare per l'SMS con il collegamento")
    await phone.fill("06 6710 1234")
    await page.get_by_role("button", name="Invia SMS").click()
    await expect(phone).to_have_attribute("aria-invalid", "true")
    message, hint = (await phone.get_attribute("aria-describedby") or "").split()
    await expect(page.locator(f"#{message}")).to_contain_text("è un numero fisso")
    await expect(page.locator(f"#{hint}")).to_contain_text("Nessun cellulare in archivio")
    await context.close()


@pytest.mark.asyncio
async def test_a_refused_settings_form_comes_back_with_the_focus_on_its_wrong_field(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    comune = await make_tenant(platform, "impostazioni")
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "comune_admin")
    await page.goto(f"{oidc_provider.gateway_base}/t/{comune.slug}/payments/settings")
    await page.get_by_label("IBAN di accredito").fill("IT00X0000000000000000000000")
    await page.get_by_role("button", name="Salva le impostazioni").click()
    iban = page.get_by_label("IBAN di accredito")
    await expect(iban).to_have_attribute("aria-invalid", "true")
    # The form came back whole: the focus is on its first wrong field (the empty name, then the IBAN).
    await expect(page.locator("[aria-invalid='true']").first).to_be_focused()
    await expect(page.get_by_label("Denominazione")).to_be_focused()
    # Each label stands above its field, not drawn over what is typed (Bootstrap Italia's
    # .form-group floats a label over its input unless marked active).
    await page.get_by_label("Denominazione").fill("Comune di Prova")
    for name in ("name", "iban"):
        label_box = await page.locator(f"label[for='{name}']").bounding_box()
        field_box = await page.locator(f"#{name}").bounding_box()
        assert label_box and field_box and label_box["y"] + label_box["height"] <= field_box["y"] + 1, name
    await context.close()


@pytest.mark.asyncio
async def test_a_refused_checkbox_keeps_its_box_beside_its_label(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    """A CDS fine's plan asked without the income declaration: the message goes under the
    checkbox's label (Bootstrap Italia draws the box from the label right after the input, so a
    message between them hid the box); the refusal stays by the button too."""
    comune = await make_tenant(platform, "casella")
    fine = position_fact(60_000, credit=("CDS", 2025, "V"))
    await seed(platform, comune.id, fine)
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "operator")
    await page.goto(f"{oidc_provider.gateway_base}/t/{comune.slug}/payments/positions/{fine.position_id}")
    await expect(page.get_by_label("Numero di rate", exact=False)).to_be_visible()
    await page.get_by_role("button", name="Crea il piano").click()
    declared = page.locator("#income_declared")
    await expect(declared).to_have_attribute("aria-invalid", "true")
    await expect(declared).to_be_focused()
    assert await declared.evaluate("box => box.nextElementSibling.tagName") == "LABEL"
    await expect(page.locator("#income_declared-errore")).to_contain_text(
        "deve dichiarare di avere un reddito"
    )
    await expect(page.locator("#income_declared-errore")).to_have_count(1)
    await expect(page.locator("#plan-result")).to_contain_text("deve dichiarare di avere un reddito")
    await context.close()
