"""In headless Chromium, the payments pages as an operator or a Comune's admin sees them: form
fields with a visible boundary, a refused plan's or rule set's message at the field it concerns,
and the reconciliation's review queue refreshed once when an import finishes in the background."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    FilePayload,
    Page,
    Route,
    expect,
)
from playwright.async_api import Error as PlaywrightError

from gateway.app import SESSION_COOKIE, Gateway
from gateway.repository import Tenant
from services.kernel.web import ROME
from services.payments import domain_schedule, handlers_jobs
from services.platform import Platform
from tests.browser.serving import gateway_for, launched, serving
from tests.gateway.helpers import make_person, make_tenant
from tests.oidc_provider import free_port
from tests.payments.helpers import fact, seed
from tests.payments.test_reconciliation import receipts_csv

# The line Bootstrap Italia draws under a field, and the least contrast WCAG 1.4.11 asks of it.
FIELD_LINE = "rgb(93, 112, 131)"
NON_TEXT_CONTRAST = 3.0


@dataclass(frozen=True)
class Served:
    gateway: Gateway
    base: str


@pytest_asyncio.fixture(scope="module")
async def served(platform: Platform) -> AsyncIterator[Served]:
    """The gateway and the services behind it, on a loopback port (sessions are made directly)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gw = gateway_for(platform, base)
    async with serving(gw, port):
        yield Served(gw, base)


@pytest_asyncio.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with launched() as browser:
        yield browser


async def operator_in(
    platform: Platform, served: Served, chromium: Browser, role: str = "operator"
) -> tuple[Tenant, BrowserContext]:
    """A new Comune and a browser signed in as its operator (or with another role)."""
    comune = await make_tenant(platform, "ui")
    person = await make_person(platform, {comune.id: role})
    session = await served.gateway.sessions_store.create(person.id)
    context = await chromium.new_context()
    await context.add_cookies([{"name": SESSION_COOKIE, "value": session.cookie, "url": served.base}])
    return comune, context


def luminance(css_color: str) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (float(v) for v in re.findall(r"[\d.]+", css_color)[:3])
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def bottom_line(page: Page, selector: str) -> tuple[float, str, str]:
    """The width and colour of a field's bottom border, and the background it is drawn on."""
    width, color, background = await page.eval_on_selector(
        selector,
        """e => {
          const s = getComputedStyle(e);
          let p = e.parentElement, bg = "rgb(255, 255, 255)";
          while (p) {
            const c = getComputedStyle(p).backgroundColor;
            if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") { bg = c; break; }
            p = p.parentElement;
          }
          return [parseFloat(s.borderBottomWidth), s.borderBottomColor, bg];
        }""",
    )
    return width, color, background


@pytest.mark.asyncio
async def test_the_fields_of_the_position_page_have_a_boundary_of_enough_contrast(
    served: Served, chromium: Browser, platform: Platform
) -> None:
    comune, context = await operator_in(platform, served, chromium)
    position = fact(120_000)
    await seed(platform, comune.id, position)
    page = await context.new_page()
    await page.goto(f"{served.base}/t/{comune.slug}/payments/positions/{position.position_id}")
    await expect(page.get_by_label("Numero di rate")).to_be_visible()  # the plan builder came in
    fields = ["#paid_on", "#amount", "#reason", "#evidence", "#installments", "#first_due_date"]
    for selector in fields:
        width, color, background = await bottom_line(page, selector)
        assert width >= 1, f"{selector}: no bottom border"
        assert contrast(color, background) >= NON_TEXT_CONTRAST, f"{selector}: {color} on {background}"
    # Text inputs written without a type get the same line as Bootstrap Italia's typed ones.
    assert (
        (await bottom_line(page, "#amount"))[1] == (await bottom_line(page, "#installments"))[1] == FIELD_LINE
    )
    await context.close()


@pytest.mark.asyncio
async def test_a_refused_number_of_installments_is_shown_under_its_field(
    served: Served, chromium: Browser, platform: Platform
) -> None:
    comune, context = await operator_in(platform, served, chromium)
    position = fact(120_000)
    await seed(platform, comune.id, position)
    page = await context.new_page()
    await page.goto(f"{served.base}/t/{comune.slug}/payments/positions/{position.position_id}")
    installments = page.get_by_label("Numero di rate")
    await installments.fill("13")
    await installments.press("Tab")  # change: the preview asks the server, which refuses 13
    await expect(installments).to_have_attribute("aria-invalid", "true")
    note = page.locator("#installments-errore")
    await expect(installments).to_have_attribute("aria-describedby", "installments-errore")
    await expect(note).to_have_text(
        "Il numero di rate deve essere tra 5 e 12 (debito da € 500,01 a € 3.000,00: L. 160/2019, art. 1 c. 796)."
    )
    await expect(page.locator("#plan-builder > .alert")).to_have_count(0)  # not above the section
    # Measured together, so a scroll in between cannot shift one of them.
    field_bottom, field_left, note_top, note_left = await page.evaluate(
        """() => {
          const f = document.getElementById("installments").getBoundingClientRect();
          const n = document.getElementById("installments-errore").getBoundingClientRect();
          return [f.bottom, f.left, n.top, n.left];
        }"""
    )
    assert 0 <= note_top - field_bottom < 40  # right under the field
    assert abs(note_left - field_left) < 20  # in the field's column, not across the page
    await expect(installments).to_have_value("13")  # what was typed stays
    await context.close()


@pytest.mark.asyncio
async def test_a_plan_refused_on_creation_keeps_one_message_at_its_field_until_the_fix(
    served: Served, chromium: Browser, platform: Platform
) -> None:
    """The preview marks the date, then the server refuses the plan itself: app.js puts its note
    where the preview's was (same id), marks the field and gives it the focus; the refusal is
    also shown by the button, until a preview of the fixed date replaces it."""
    comune, context = await operator_in(platform, served, chromium)
    position = fact(120_000)
    await seed(platform, comune.id, position)
    page = await context.new_page()
    await page.goto(f"{served.base}/t/{comune.slug}/payments/positions/{position.position_id}")
    first_due = page.get_by_label("Prima scadenza (ultimo giorno del mese)")
    # Within the three months a first installment may be set to, mid-month then at the month's end.
    month_end = domain_schedule.month_end(datetime.now(ROME).date(), 2)
    await first_due.fill(month_end.replace(day=15).isoformat())
    await first_due.dispatch_event("change")
    await expect(page.locator("#first_due_date-errore")).to_contain_text("ultimo giorno del mese")
    await page.get_by_role("button", name="Crea il piano").click()
    result = page.locator("#plan-result")
    await expect(result).to_contain_text("ultimo giorno del mese")
    await expect(first_due).to_be_focused()
    await expect(first_due).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#first_due_date-errore")).to_have_count(1)
    described = await first_due.get_attribute("aria-describedby")
    await expect(page.locator(f"#{described}")).to_contain_text("ultimo giorno del mese")

    await first_due.fill(month_end.isoformat())
    await first_due.dispatch_event("change")
    await expect(page.locator("#first_due_date-errore")).to_have_count(0)
    await expect(result).to_be_empty()  # no stale refusal once the date is right
    await expect(first_due).not_to_have_attribute("aria-invalid", "true")

    # Changed and submitted at once, with a slow preview: it gives way to the plan, whose refusal
    # stays (a preview arriving after it would replace the section and the message with it).
    async def slow(route: Route) -> None:
        await asyncio.sleep(1.5)
        with contextlib.suppress(PlaywrightError):  # aborted by the page meanwhile
            await route.continue_()

    await page.route("**/payments/plans/builder?*", slow)
    await first_due.fill((month_end + timedelta(days=1)).replace(day=15).isoformat())
    await first_due.dispatch_event("change")
    await page.get_by_role("button", name="Crea il piano").click()
    await expect(result).to_contain_text("ultimo giorno del mese")
    await page.wait_for_timeout(2500)
    await expect(result).to_contain_text("ultimo giorno del mese")
    await expect(first_due).to_have_attribute("aria-invalid", "true")
    await context.close()


@pytest.mark.asyncio
async def test_a_refused_rule_set_comes_back_with_its_message_at_the_field_which_has_the_focus(
    served: Served, chromium: Browser, platform: Platform
) -> None:
    comune, context = await operator_in(platform, served, chromium, role="comune_admin")
    page = await context.new_page()
    await page.goto(f"{served.base}/t/{comune.slug}/payments/rules")
    await page.get_by_label("Tipo di entrata").select_option("TARI")
    await page.get_by_label("Tasso annuo (%, facoltativo)").fill("45")
    await page.get_by_role("button", name="Salva le regole").click()
    rate = page.get_by_label("Tasso annuo (%, facoltativo)")
    await expect(page.get_by_test_id("problem")).to_contain_text("Tasso di interesse non valido")
    await expect(rate).to_be_focused()  # the page comes back where the fix is, not at its top
    await expect(rate).to_have_attribute("aria-invalid", "true")
    await expect(rate).to_have_attribute("aria-describedby", "rate-help interest_rate-errore")
    await expect(page.locator("#interest_rate-errore")).to_contain_text("Tasso di interesse non valido")
    await expect(rate).to_have_value("45")

    await rate.fill("")
    await page.get_by_label("Fascia 6: numero massimo di rate").fill("99")
    await page.get_by_role("button", name="Salva le regole").click()
    bands = page.locator("#bands-errore")
    await expect(bands).to_contain_text("Fascia 6: il numero massimo di rate va da 1 a 72 («99»).")
    await expect(bands).to_be_focused()
    await expect(page.locator("table[aria-describedby='bands-errore']")).to_contain_text("Fascia")
    # The band it names is marked too, each of its fields pointing at the message.
    sixth = page.get_by_label("Fascia 6: numero massimo di rate")
    await expect(sixth).to_have_attribute("aria-invalid", "true")
    await expect(sixth).to_have_attribute("aria-describedby", "bands-errore")
    await expect(page.get_by_label("Fascia 5: numero massimo di rate")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    await context.close()


@pytest.mark.asyncio
async def test_the_review_queue_refreshes_once_when_an_import_finishes(
    served: Served, chromium: Browser, platform: Platform
) -> None:
    comune, context = await operator_in(platform, served, chromium)
    page = await context.new_page()
    refreshes: list[str] = []
    queue_url = f"{served.base}/t/{comune.slug}/payments/reconciliation"
    page.on(
        "request", lambda r: refreshes.append(r.url) if r.method == "GET" and r.url == queue_url else None
    )
    await page.goto(queue_url)
    refreshes.clear()
    heading = page.get_by_role("heading", name=re.compile(r"^Da verificare"))
    await expect(heading).to_have_text("Da verificare (0)")
    unknown = receipts_csv(("01999999999999999", "10,00", "U-1"))
    upload = FilePayload(name="ricevute.csv", mimeType="text/csv", buffer=unknown)
    await page.get_by_label("Ricevute (CSV)").set_input_files(files=upload)
    await page.get_by_role("button", name="Importa").first.click()
    job = page.get_by_test_id("job")
    await expect(job).to_have_attribute("data-status", "queued")
    await page.wait_for_timeout(1500)  # a poll or two of the job: the queue does not follow them
    assert refreshes == []
    job_id = uuid.UUID((await job.get_attribute("id") or "").removeprefix("job-"))
    async with platform.databases["payments"].unit_of_work(comune.id) as uow:  # the worker's part
        await handlers_jobs.run_job(uow, comune.id, job_id, platform.storage)
        await uow.commit()
    await expect(job).to_have_attribute("data-status", "done", timeout=10_000)
    await expect(heading).to_have_text("Da verificare (1)")
    await expect(page.get_by_test_id("review-queue")).to_contain_text("IUV sconosciuto")
    assert not await heading.evaluate("h => h === document.activeElement")  # the focus stayed put
    await page.wait_for_timeout(2500)
    assert len(refreshes) == 1  # once, then nothing while no import runs
    await context.close()
