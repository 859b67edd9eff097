"""In a real browser: a credit file sent with a double click on «Carica» is one batch, not two."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser

from gateway.app import Gateway
from services.platform import Platform
from tests.browser.signed_in import signed_in
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider

FILE = (
    "codice_fiscale;nominativo;tipo_entrata;anno;numero_atto;importo_residuo\n"
    "RSSMRA80A01H501U;ROSSI MARIO;TARI;2023;TARI-2023-1;120,50\n"
)


@pytest.mark.asyncio
async def test_a_double_click_on_carica_sends_the_file_once(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    comune = await make_tenant(platform, "doppio-clic")
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "comune_admin")
    await page.goto(f"{oidc_provider.gateway_base}/t/{comune.slug}/ingest/")
    await page.get_by_label("File da caricare (oppure trascinalo qui)").set_input_files(
        files=[{"name": "crediti.csv", "mimeType": "text/csv", "buffer": FILE.encode()}]
    )
    await page.get_by_role("button", name="Carica", exact=True).dblclick()
    await page.wait_for_url("**/ingest/batches/**", timeout=20_000)  # the batch's own page
    await page.wait_for_load_state("networkidle")
    await context.close()
    sql = "SELECT count(*) FROM ingest.batches WHERE tenant_id = :t"
    async with platform.databases["ingest"].unit_of_work(comune.id) as uow:
        assert (await uow.execute(sa.text(sql), {"t": comune.id})).scalar_one() == 1
