"""Accessibility in a real browser: every page each role can open passes axe-core's WCAG 2.0/2.1
A and AA rules with no serious or critical violation.

One Comune is seeded so that pages have content (pagoPA data, a debtor with three positions, contacts
and a plan, two cases for the office, a processed file with a refused row, a file waiting for its
columns, a report). Its viewer, admin, operator, supervisor and platform admin log in through the
test OpenID provider, one browser context each, and walk: their starting pages, the states reached
by acting (a call recorded on the card, a plan built, created and e-mailed there, a ZIP of notices
refused then prepared, a column mapping previewed, a tracing file imported, forms refused at their
field), every same-site link found on the way (one page per route), and a few pages again at a
phone's width, where the header is laid out anew (tests/browser/axe.py). Anonymous pages follow:
login, a taxpayer's notice pages from signed links, a refused link, a page that does not exist.

Each role's audited routes must include every GET page the authorization matrix lets it open in its
own Comune, so a new page joins the check or fails it by name.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from gateway.app import Gateway
from gateway.seed import issue_dev_api_key
from services.contracts import AlreadyPaidClaimed, DisputeOpened
from services.payments.domain_links import LinkGrant, sign
from services.platform import Platform
from tests.browser.axe import AXE, NOT_PAGES, Walk, axe_catches_an_unlabelled_field, axe_context
from tests.browser.serving import invite
from tests.browser.test_call_to_pay import relay_payments_to_contact
from tests.browser.test_login import login_at_provider
from tests.contact.helpers import contact_fact, contacts_registered, deliver
from tests.contact.helpers import seed as seed_contact
from tests.gateway.helpers import make_tenant
from tests.gateway.test_authorization_matrix import MATRIX
from tests.ingest.helpers import process, store_batch
from tests.oidc_provider import Account, OpenIdProvider
from tests.payments.delivery_helpers import comune, plan_with_notices
from tests.payments.helpers import seed as seed_payments
from tests.reporting.helpers import deliver as to_reporting
from tests.reporting.helpers import registered
from tests.reporting.test_cases import to_cases
from tests.support import CONTACT_WORKDAY, contact_clock, make_identity, position_fact, until_today

ROLES = ("comune_viewer", "comune_admin", "operator", "supervisor", "platform_admin")
CREDITS = (
    "codice_fiscale;nominativo;tributo;anno;numero_atto;importo\n"
    "RSSMRA80A01H501U;ROSSI MARIO;TARI;2022;A-1;120,50\n"
    "VRDLGU80A01H501Y;VERDI LUIGI;IMU;2021;A-2;980,00\n"
    "NONVALIDO;BIANCHI ANNA;TARI;2022;A-3;abc\n"
)
UNRECOGNISED = "Contribuente CF;Entrata;Anno;Protocollo;Da pagare\nRSSMRA80A01H501U;IMU;2024;P-1;10,00\n"
TRACING = (
    "Codice fiscale;Telefono;Indirizzo;PEC;Fonte;Data reperimento;Affidabilità\n"
    "RSSMRA80A01H501U;+39 333 1112222;VIA NUOVA 3 20100 MILANO;;InfoTrace;10/11/2026;85\n"
    "RSSMRA80A01H501U;12;;;InfoTrace;10/11/2026;\n"
)
RECEIPT = FilePayload(name="ricevuta.pdf", mimeType="application/pdf", buffer=b"%PDF-1.4 prova")
POSTAL = "VRDLGU80A01H501Q"  # a taxpayer reached by post, outside any plan: his notices go in the ZIP
ROME = ZoneInfo("Europe/Rome")
ID_PARAMS = re.compile(r"\{(\w+_id|operator)\}")


@dataclass(frozen=True)
class Seeded:
    tenant_id: uuid.UUID
    slug: str
    debtor: str
    positions: list[str]
    batches: tuple[str, str]
    links: tuple[str, ...]


async def seed_comune(platform: Platform, base: str) -> Seeded:
    tenant = await make_tenant(platform, "accessibile")
    who = make_identity(tenant.id, tenant.slug)
    await comune(platform, who)
    debtor = str(uuid.uuid4())
    facts = [
        position_fact(cents, debtor_id=debtor, name="FERRARI ELENA", credit=("TARI", year, "D"))
        for cents, year in ((84_000, 2023), (31_250, 2024), (12_000, 2022))
    ]
    await seed_payments(
        platform, tenant.id, *facts, position_fact(27_350, fiscal_code=POSTAL, name="VERDI LUIGI")
    )
    await seed_contact(platform, tenant.id, *facts)
    phone, mail = contact_fact(debtor), contact_fact(debtor, "elena@example.it", kind="email")
    await deliver(platform, contacts_registered(tenant.id, phone, mail))
    positions = [f.position_id for f in facts]
    plan = await plan_with_notices(platform, who, positions[2:], 3)
    await relay_payments_to_contact(platform, tenant.id)  # the card knows the position is in a plan
    await to_reporting(platform, tenant.id, registered(*facts))
    opened = CONTACT_WORKDAY.isoformat()
    dispute = DisputeOpened(str(uuid.uuid4()), debtor, "L'immobile è stato venduto nel 2019", "op-1", opened)
    claim = AlreadyPaidClaimed(str(uuid.uuid4()), debtor, "Pagato con bollettino", "op-1", opened)
    await to_cases(platform, tenant.id, dispute, claim)
    batches = []
    for name, data in (("crediti.csv", CREDITS), ("strano.csv", UNRECOGNISED)):
        received = await store_batch(platform, tenant.id, data.encode(), name)
        await process(platform, received)
        batches.append(str(received.payload["batch_id"]))
    key = await issue_dev_api_key(platform.databases["gateway"], tenant.id)
    async with httpx.AsyncClient(base_url=base, headers={"x-api-key": key}) as c:
        period = {"kind": "final", "period_from": "2026-01-01", "period_to": until_today("2026-12-31")}
        assert (await c.post("/api/v1/reporting/reports", json=period)).status_code == 202
    expires = datetime.now(UTC) + timedelta(days=1)
    grants = (  # a plan's notices; a position without any
        LinkGrant(tenant.id, uuid.UUID(debtor), (), uuid.UUID(plan), expires),
        LinkGrant(tenant.id, uuid.UUID(debtor), (uuid.UUID(positions[0]),), None, expires),
    )
    links = tuple(f"/avvisi/{sign(g, platform.settings.secret_key)}" for g in grants)
    return Seeded(tenant.id, tenant.slug, debtor, positions, (batches[0], batches[1]), links)


def starts(role: str, s: Seeded) -> list[str]:
    """The pages each role starts from (the walk follows their links), a refusal among them."""
    t, nobody = f"/t/{s.slug}", uuid.UUID(int=0x5EED)
    # The dashboard's two fragments, whole when asked without HTMX.
    common = [
        "/",
        f"{t}/reporting/",
        f"{t}/reporting/summary",
        f"{t}/reporting/reports",
        f"{t}/reporting/portale",
        f"{t}/reporting/portale/debitori/{s.debtor}",  # the operator's is a refusal
        f"{t}/reporting/portale/debitori?cerca=x",  # the portal's search refused at its field
        f"{t}/reporting/aggio",  # the aggio and rendiconti (the operator's is a refusal)
        f"{t}/reporting/riepiloghi",  # the digests (the operator's is a refusal)
        f"{t}/ingest/",
        *(f"{t}/ingest/batches/{b}" for b in s.batches),
    ]
    firm = [
        f"{t}/contact/",
        f"{t}/contact/summary",
        f"{t}/contact/debtors/{s.debtor}",
        f"{t}/payments/",
        f"{t}/payments/positions/{s.positions[0]}",
        f"{t}/payments/positions/{s.positions[2]}",
        f"{t}/payments/plans/builder?position_id={s.positions[0]}",
        f"{t}/contact/debtors/{nobody}",
        f"{t}/contact/cerca?q=ro",  # the search refused at its field
        f"{t}/contact/cerca?q=rossi",  # and its results
    ]
    admin = [
        f"{t}/payments/settings",
        f"{t}/payments/rules",
        f"{t}/payments/legal-rates",
        f"{t}/payments/positions/{s.positions[0]}/rimborsi",
        f"/admin/comuni/{s.slug}/registro",
        f"/admin/comuni/{s.slug}/chiavi",
        f"{t}/reporting/accessi",  # the register of accesses (the walk follows its tabs)
        # The plans an answer of the office would change (the block «Conferma la risposta» embeds).
        f"{t}/payments/plans/after-answer?esito=corrected&importo=1000&posizione={s.positions[0]}",
    ]
    boss = [f"{t}/contact/board", f"{t}/contact/scripts", f"{t}/contact/liste"]
    return {
        "comune_viewer": [*common, f"{t}/contact/"],  # a 403 page
        "comune_admin": common + admin,
        "operator": common + firm,
        "supervisor": common + firm + boss,
        "platform_admin": common + firm + admin + boss + ["/admin/comuni", "/admin/registro"],
    }[role]


def phone_pages(role: str, s: Seeded) -> list[str]:
    t = f"/t/{s.slug}"
    if role in ("operator", "supervisor", "platform_admin"):
        return [
            "/",
            f"{t}/reporting/",
            f"{t}/contact/debtors/{s.debtor}",
            f"{t}/payments/positions/{s.positions[0]}",
        ]
    return ["/", f"{t}/reporting/", f"{t}/ingest/batches/{s.batches[0]}"]


async def on_the_card(walk: Walk, s: Seeded) -> None:
    """The operator's call: a plan simulated, created and e-mailed in the card, an outcome recorded."""
    page = walk.page
    await page.goto(f"{walk.base}/t/{s.slug}/contact/")
    await page.get_by_role("button", name="Prossimo debitore").click()
    await expect(page.get_by_test_id("debtor-name")).to_have_text("FERRARI ELENA")
    installments = page.get_by_label(re.compile("^Numero di rate"))
    await installments.fill("6")
    await installments.dispatch_event("change")
    await expect(page.get_by_test_id("plan-schedule").locator("tbody tr")).to_have_count(6)
    await walk.audit("piano simulato nella scheda")
    await page.get_by_role("button", name="Crea il piano").click()
    await expect(page.get_by_test_id("plan-created")).to_be_visible()
    # The plan just created (the card may also offer an earlier plan's notices: another form).
    created = page.get_by_role("region", name="Piano di rate creato")
    await created.get_by_label("E-mail del contribuente").fill("elena@example.it")
    await created.get_by_role("button", name="Invia per e-mail").click()
    await expect(page.locator("#delivery-result")).to_contain_text("elena@example.it")
    await walk.audit("piano creato e inviato")
    await page.get_by_label("Esito").select_option("gia_pagato")
    await page.get_by_label("Nota").fill("Dice di aver pagato in posta")
    await page.locator("#outcome-evidence").set_input_files(files=[RECEIPT])
    await page.get_by_role("button", name="Registra esito").click()
    await expect(page.get_by_text("Esito registrato").first).to_be_visible()
    # The card opens on its message, so a screen reader reads it and the keyboard goes on from it.
    await expect(page.get_by_text("Esito registrato").first).to_be_focused()
    await walk.audit("esito registrato")


async def in_payments(walk: Walk, s: Seeded) -> None:
    """A ZIP of notices refused then asked for, its job page, and a manual payment refused."""
    page, t = walk.page, f"{walk.base}/t/{s.slug}/payments"
    await page.goto(f"{t}/notices/bulk")
    codes = page.get_by_label(re.compile("^Codici fiscali"))
    await codes.fill("RSSMRA80A01H501U")  # everything in a plan by now: refused at the field
    await page.get_by_role("button", name="Prepara lo ZIP").click()
    await expect(codes).to_have_attribute("aria-invalid", "true")
    await walk.audit("ZIP rifiutato")
    await codes.fill(POSTAL)
    await page.get_by_role("button", name="Prepara lo ZIP").click()
    job = page.get_by_test_id("job")
    await expect(job).to_be_visible()
    await walk.audit("ZIP richiesto")
    job_id = (await job.get_attribute("id") or "").removeprefix("job-")
    await walk.visit(f"{t}/jobs/{job_id}")
    await page.goto(f"{t}/positions/{s.positions[1]}")
    await page.get_by_label("Data pagamento (gg/mm/aaaa)").fill("02/05/2024")
    await page.get_by_label("Importo (€)").fill("99999,00")
    await page.get_by_label("Motivo").fill("Bonifico")
    await page.get_by_label("Ricevuta o quietanza").set_input_files(files=[RECEIPT])
    await page.get_by_role("button", name="Registra").click()
    await expect(page.get_by_label("Importo (€)")).to_have_attribute("aria-invalid", "true")
    await walk.audit("pagamento rifiutato al campo")


async def a_refund_confirmed(walk: Walk, s: Seeded) -> None:
    """A manual payment recorded, then part of it refunded: checked on its own page, confirmed."""
    page, t = walk.page, f"{walk.base}/t/{s.slug}/payments"
    await page.goto(f"{t}/positions/{s.positions[1]}")
    today = datetime.now(ROME).strftime("%d/%m/%Y")  # not before the positions were assigned
    await page.get_by_label("Data pagamento (gg/mm/aaaa)").fill(today)
    await page.get_by_label("Importo (€)").fill("10,00")
    await page.get_by_label("Motivo").fill("Bonifico sul conto di tesoreria")
    await page.get_by_label("Ricevuta o quietanza").set_input_files(files=[RECEIPT])
    await page.get_by_role("button", name="Registra").click()
    await expect(page.get_by_text("Pagamento registrato.", exact=True)).to_be_visible()
    await page.goto(f"{t}/positions/{s.positions[1]}/rimborsi")
    await page.get_by_label("Importo rimborsato (€)").fill("4,00")
    await page.get_by_label("Data del rimborso (gg/mm/aaaa)").fill(today)
    await page.get_by_label("Motivo").fill("Versato due volte")
    await page.get_by_role("button", name="Controlla il rimborso").click()
    await expect(page.get_by_test_id("refund-amount")).to_have_text("€ 4,00")
    await walk.audit("rimborso da confermare")
    await page.get_by_role("button", name="Conferma il rimborso").click()
    await expect(page.get_by_text("Rimborso registrato")).to_be_visible()
    await walk.audit("rimborso registrato")


async def in_ingest(walk: Walk, s: Seeded) -> None:
    """A column mapping previewed, a tracing file imported."""
    page, t = walk.page, f"{walk.base}/t/{s.slug}/ingest"
    await page.goto(f"{t}/batches/{s.batches[1]}")
    for column, meaning in (("#col_0", "taxpayer"), ("#col_3", "act_number"), ("#col_4", "amount")):
        await page.locator(column).select_option(meaning)
    await page.get_by_role("button", name="Anteprima").click()
    await expect(page.locator("#mapping-preview")).to_contain_text("RSSMRA80A01H501U")
    await walk.audit("anteprima delle colonne")
    await page.goto(f"{t}/tracing")
    file = FilePayload(name="rintraccio.csv", mimeType="text/csv", buffer=TRACING.encode("cp1252"))
    await page.get_by_label("File del rintraccio").set_input_files(files=[file])
    await page.get_by_role("button", name="Importa").click()
    await expect(page.locator("#tracing-result")).not_to_be_empty()
    await walk.audit("rintraccio importato")


async def in_settings(walk: Walk, s: Seeded) -> None:
    page = walk.page
    await page.goto(f"{walk.base}/t/{s.slug}/payments/settings")
    await page.get_by_label("IBAN di accredito").fill("IT00X0000000000000000000000")
    await page.get_by_role("button", name="Salva le impostazioni").click()
    await expect(page.get_by_label("IBAN di accredito")).to_have_attribute("aria-invalid", "true")
    await walk.audit("impostazioni rifiutate al campo")


async def on_a_case(walk: Walk, s: Seeded) -> None:
    """The office answers a case without the corrected amount: refused at its field."""
    page = walk.page
    await page.goto(f"{walk.base}/t/{s.slug}/reporting/pratiche")
    await page.get_by_role("link", name=re.compile("^Esamina")).first.click()
    await page.locator("label[for=esito-corrected]").click()  # Bootstrap Italia draws the radio on its label
    await page.get_by_label("Motivazione").fill("Ricalcolata la rendita")
    await page.get_by_role("button", name="Registra la risposta").click()
    await expect(page.locator("[aria-invalid='true']").first).to_be_focused()
    await walk.audit("risposta rifiutata al campo")


SCENES = {
    "comune_admin": (in_ingest, in_settings, on_a_case),
    "operator": (on_the_card, in_payments),
    "supervisor": (in_payments,),
    "platform_admin": (in_payments, a_refund_confirmed),
}


# GET addresses that only send the browser on to a page (a refused form's address, reloaded).
REDIRECT_ONLY = frozenset({"/t/{tenant}/payments/payments/{id}/rimborsi"})


def matrix_pages(role: str) -> set[str]:
    """The GET pages of the authorization matrix `role` opens in its own Comune."""
    wanted = set()
    for (method, path), expected in MATRIX.items():
        session_page = method == "GET" and expected.anonymous == 303
        if not session_page or expected.own[role] in (401, 403, 303):
            continue
        if not NOT_PAGES.search(path):
            wanted.add(ID_PARAMS.sub("{id}", path))
    return wanted - REDIRECT_ONLY


async def signed_in(browser: Browser, base: str, account: Account) -> Page:
    page = await (await axe_context(browser)).new_page()
    await page.goto(f"{base}/login")
    await page.get_by_role("link", name="Accesso personale").click()
    await login_at_provider(page, account)
    await expect(page.get_by_role("button", name="Esci", exact=True).first).to_be_visible()
    return page


@pytest.mark.asyncio
async def test_every_page_of_every_role_has_no_serious_accessibility_violation(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    assert AXE.is_file(), f"{AXE} missing: run `make vendor`"
    base = oidc_provider.gateway_base
    s = await seed_comune(platform, base)
    accounts = {role: oidc_provider.take("staff") for role in ROLES}
    for role, account in accounts.items():
        await invite(platform, (s.tenant_id,), account.email, role)
    # The operator works for a second Comune too: the header offers to switch.
    await invite(platform, ((await make_tenant(platform, "seconda")).id,), accounts["operator"].email)
    walks: list[Walk] = []
    with contact_clock(platform, CONTACT_WORKDAY):
        for role in ROLES:  # the operator's call comes before the supervisor reviews it
            walk = Walk(role, base, await signed_in(chromium, base, accounts[role]))
            walks.append(walk)
            for path in starts(role, s):
                await walk.visit(path)
            for scene in SCENES.get(role, ()):
                await scene(walk, s)
            await walk.crawl()
            await walk.on_a_phone(phone_pages(role, s))
            missing = matrix_pages(role) - walk.routes
            assert not missing, f"{role}: pages of the authorization matrix not audited: {sorted(missing)}"
            await walk.page.context.close()
    anonymous = Walk("anonimo", base, await (await axe_context(chromium)).new_page())
    for path in ("/login", *s.links, "/avvisi/nonvalido", "/nessuna-pagina"):
        await anonymous.visit(path)
    assert await axe_catches_an_unlabelled_field(anonymous.page)
    await anonymous.page.context.close()
    walks.append(anonymous)
    assert not [e for w in walks for e in w.server_errors], [e for w in walks for e in w.server_errors]
    problems = [v for w in walks for v in w.violations]
    assert not problems, "serious or critical accessibility violations:\n" + "\n".join(problems)
