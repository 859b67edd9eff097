"""The debtor page's contacts section in the browser's shape (HTMX): a refused entry keeps what was
typed and shows the message at its field, the section stays; each «Segnala errato» names its
contact, asks first and says what it did."""

from __future__ import annotations

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.ingest.test_cleaning import ALFA, debtor, ingest, seed

HTMX = {"HX-Request": "true"}


@pytest.mark.asyncio
async def test_a_refused_contact_keeps_the_form_and_says_why_at_the_field(
    platform: Platform, tenant: Identity
) -> None:
    await seed(platform, tenant)
    alfa = await debtor(platform, tenant, ALFA)
    url = f"/t/{tenant.tenant_slug}/ingest/debtors/{alfa.id}/contacts"  # type: ignore[attr-defined]
    typed = {"csrf_token": "t", "kind": "phone", "value": "12ab", "source": "telefonata", "confidence": "70"}
    async with service_client(platform, "ingest", tenant) as client:
        refused = await client.post(url, data=typed | {"found_on": "2026-01-02"}, headers=HTMX)
        future = await client.post(
            url, data=typed | {"value": "011 5551234", "found_on": "2999-01-01"}, headers=HTMX
        )
        added = await client.post(url, data=typed | {"value": "011 5551234", "found_on": ""}, headers=HTMX)
    assert refused.status_code == 400
    html = refused.text
    assert (
        html.lstrip().startswith('<section id="debtor-contacts"') and "alfa@pec.example.it" in html
    )  # the section stays
    assert (
        '<div id="value-errore" class="invalid-feedback d-block" role="alert">Telefono non utilizzabile'
        in html
    )
    assert 'aria-invalid="true" aria-describedby="value-errore" autofocus value="12ab"' in html
    assert 'value="telefonata"' in html and 'value="70"' in html and 'value="2026-01-02"' in html
    assert '<option value="phone" selected>' in html
    assert future.status_code == 400 and 'id="found_on-errore"' in future.text
    assert "non può essere successiva a oggi" in future.text
    assert added.status_code == 201 and "Recapito «+39 011 555 1234» aggiunto." in added.text
    assert "<td>File del Comune</td>" in added.text and "<td>60%</td>" in added.text
    assert 'role="status" tabindex="-1" autofocus' in added.text and "+39 011 555 1234" in added.text


@pytest.mark.asyncio
async def test_marking_a_contact_wrong_names_it_asks_first_and_says_what_it_did(
    platform: Platform, tenant: Identity
) -> None:
    await seed(platform, tenant)
    alfa = await debtor(platform, tenant, ALFA)
    page_url = f"/t/{tenant.tenant_slug}/ingest/debtors/{alfa.id}"  # type: ignore[attr-defined]
    async with service_client(platform, "ingest", tenant) as client:
        page = (await client.get(page_url)).text
        rows = page.split('<tr data-contact="')[1:]
        contact_id = next(r.split('"', 1)[0] for r in rows if "alfa@pec.example.it" in r.split("</tr>", 1)[0])
        done = await client.post(
            f"/t/{tenant.tenant_slug}/ingest/contacts/{contact_id}/wrong",
            data={"csrf_token": "t"},
            headers=HTMX,
        )
    assert 'hx-confirm="Segnalare come errato il recapito «alfa@pec.example.it»?' in page
    assert 'Segnala errato<span class="visually-hidden">: PEC alfa@pec.example.it</span>' in page
    assert done.status_code == 200 and "Recapito «alfa@pec.example.it» segnalato errato." in done.text


@pytest.mark.asyncio
async def test_a_debtor_without_a_name_says_so_in_the_tracing_queue(
    platform: Platform, tenant: Identity
) -> None:
    await ingest(platform, tenant, "RSSMRA80A01H501U;;IMU;2023;1;10,00;;;VIA ROMA 1;00100;ROMA\n")
    async with service_client(platform, "ingest", tenant) as client:
        queue = (await client.get(f"/t/{tenant.tenant_slug}/ingest/tracing")).text
    row = queue.split("RSSMRA80A01H501U</a></td>", 1)[1].split("</tr>", 1)[0]
    assert row.startswith("<td>Nominativo mancante</td>")
