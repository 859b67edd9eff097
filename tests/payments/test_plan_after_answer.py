"""What an answer of the Ufficio tributi would make of a plan, shown before it is confirmed
(`GET …/payments/plans/after-answer`, embedded in the reporting service's «Conferma la risposta»):
the figures are those the answer then writes, and nothing is written by looking."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import replace

import pytest

from services.kernel.identity import Identity
from services.payments import consumers
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.test_gpd_api import call, comune, noticed
from tests.payments.test_office_decisions import answered, deliver
from tests.payments.test_plan_reamount import INSTALLMENTS, planned, rows

URL = "/t/{slug}/payments/plans/after-answer"


def office(who: Identity) -> Identity:
    return replace(who, roles=("comune_admin",), user_id="anna", display_name="Anna Bianchi")


async def preview(who: Identity, platform: Platform, **params: object) -> tuple[int, str]:
    async with service_client(platform, "payments", who) as http:
        shown = await http.get(URL.format(slug=who.tenant_slug), params=params)
    return shown.status_code, html.unescape(shown.text)


def table_rows(text: str) -> list[list[str]]:
    body = text[text.index("<tbody>") : text.index("</tbody>")]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def euro(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return f"€ {whole:,}".replace(",", ".") + f",{rest:02d}"


@pytest.mark.asyncio
async def test_the_preview_shows_the_plan_the_correction_then_writes(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    plan_id, position_id, _ = await planned(platform, tenant)
    before = await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))
    status, shown = await preview(
        office(tenant), platform, esito="corrected", posizione=position_id, importo=60_000
    )
    assert status == 200, shown
    assert "Il piano scende di € 400,00 di capitale" in shown
    # Nothing was written by looking.
    assert await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id)) == before
    await deliver(platform, consumers.balances, answered(tenant, "corrected", [position_id], 60_000))
    after = await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))
    expected = [
        [
            str(r.number),
            r.due_date.strftime("%d/%m/%Y"),
            euro(r.principal_cents),
            euro(r.interest_cents),
            euro(r.principal_cents + r.interest_cents),
        ]
        for r in after
    ]
    assert [row[:5] for row in table_rows(shown)] == expected
    assert [row[5] for row in table_rows(shown)] == ["Pagata"] * 2 + ["Da pagare (ricalcolata)"] * 4
    owed_after = sum(r.principal_cents + r.interest_cents for r in after[2:])
    assert f"{euro(owed_after)} dopo la risposta, in 4 rate sulle stesse scadenze" in shown


@pytest.mark.asyncio
async def test_a_plan_whose_positions_are_all_cancelled_unpaid_would_be_cancelled(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    _, position_id, _ = await planned(platform, tenant)
    # The two installments paid: the plan stands, spread again on nothing left, settled.
    status, shown = await preview(office(tenant), platform, esito="cancelled", posizione=position_id)
    assert status == 200 and "il piano risulta saldato con quanto già pagato" in shown, shown
    assert 'data-testid="plan-cancelled"' not in shown
    # A plan with nothing paid, its only position cancelled: the plan would be cancelled.
    (unpaid,) = await noticed(platform, tenant, 50_000)
    status, plan = await call(
        platform, tenant, "POST", "/api/v1/payments/plans", json={"position_ids": [unpaid], "installments": 4}
    )
    assert status == 201, plan
    status, shown = await preview(office(tenant), platform, esito="cancelled", posizione=unpaid)
    assert status == 200 and 'data-testid="plan-cancelled"' in shown
    due = await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan["plan_id"]))
    owed = sum(r.principal_cents + r.interest_cents for r in due)
    assert f"Restano da pagare oggi {euro(owed)}, dopo nulla." in shown


@pytest.mark.asyncio
async def test_only_the_office_asks_and_a_bad_request_is_refused_in_words(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    _, position_id, _ = await planned(platform, tenant)
    operator = replace(tenant, roles=("operator",))
    status, _ = await preview(operator, platform, esito="corrected", posizione=position_id, importo=1)
    assert status == 403  # an operator does not answer cases
    status, text = await preview(office(tenant), platform, esito="cancelled", posizione="pippo")
    assert status == 400 and "Posizione non valida." in text
    status, text = await preview(
        office(tenant), platform, esito="corrected", posizione=position_id, importo="x"
    )
    assert status == 400 and "«importo»" in text
    # An answer that changes no plan (upheld, or a position in none): an empty block.
    status, text = await preview(office(tenant), platform, esito="upheld", posizione=position_id)
    assert status == 200 and "Piano di" not in text
