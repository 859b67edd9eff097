"""The plan builder an operator uses on the phone (page, and fragment for the debtor card)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from services.kernel.identity import Identity
from services.kernel.money import format_euro
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, seed
from tests.support import make_identity, position_fact


def operator(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("operator",), user_id="op-plan")


def builder(who: Identity) -> str:
    return f"/t/{who.tenant_slug}/payments/plans/builder"


@pytest.mark.asyncio
async def test_the_builder_previews_and_creates_a_plan(platform: Platform, tenant: Identity) -> None:
    position = fact(120_000)
    await seed(platform, tenant.tenant_id, position)
    async with service_client(platform, "payments", operator(tenant)) as http:
        preview = await http.get(
            builder(tenant), params={"position_id": position.position_id}, headers={"HX-Request": "true"}
        )
        assert preview.status_code == 200
        assert "da 5 a 12" in preview.text and preview.text.count("<tr><td>") == 12
        # What the taxpayer pays in all, interest included, before the plan is made.
        amounts = re.findall(r'<td class="text-end">(€ [\d.]+,\d\d)</td></tr>', preview.text)
        total = sum(int(a[2:].replace(".", "").replace(",", "")) for a in amounts)
        assert f'data-testid="plan-schedule-total">{format_euro(total)}</td>' in preview.text
        assert "<html" not in preview.text  # the fragment alone, for the debtor card
        six = await http.get(
            builder(tenant), params={"position_id": position.position_id, "installments": "6"}
        )
        assert six.text.count("<tr><td>") == 6
        too_many = await http.get(
            builder(tenant), params={"position_id": position.position_id, "installments": "13"}
        )
        # Said with its reason, for the operator to tell the taxpayer why.
        why = "debito da € 500,01 a € 3.000,00: L. 160/2019, art. 1 c. 796"
        assert f"Il numero di rate deve essere tra 5 e 12 ({why})." in too_many.text
        assert f"da 5 a 12 ({why})" in preview.text
        assert 'value="13"' in too_many.text and "(5–12)" in too_many.text  # what was typed stays
        mid_month = await http.get(
            builder(tenant),
            params={"position_id": position.position_id, "installments": "6", "first_due_date": "2099-01-15"},
        )
        assert "ultimo giorno del mese" in mid_month.text
        assert (
            'value="6"' in mid_month.text
            and "(5–12)" in mid_month.text
            and 'value="2099-01-15"' in mid_month.text
        )
        years_ahead = await http.get(
            builder(tenant),
            params={"position_id": position.position_id, "installments": "6", "first_due_date": "2099-01-31"},
        )
        assert "La prima rata deve scadere entro tre mesi dalla data del piano" in years_ahead.text
        assert 'value="2099-01-31"' in years_ahead.text and "(5–12)" in years_ahead.text
        created = await http.post(
            f"/t/{tenant.tenant_slug}/payments/plans",
            data={"position_id": position.position_id, "installments": "6"},
        )
        assert created.status_code == 303
        page = await http.get(created.headers["location"])
    assert "Piano di rate creato." in page.text
    assert 'data-testid="position-state">Da pagare · in un piano di rate</dd>' in page.text  # as the card
    assert (
        len(re.findall(r"<tr><td>\d+</td>", page.text.split('data-testid="plan"')[1].split("</table>")[0]))
        == 6
    )
    # Each installment's amount and the plan's totals, as the builder's preview shows them.
    total = page.text.split('data-testid="plan-total">', 1)[1].split("</tr>", 1)[0]
    assert '<th scope="row" colspan="2">Totale</th>' in total and total.count("€") == 4


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("0", "tra 5 e 12"),  # said against the Comune's range
        ("1", "almeno due rate: per il pagamento unico"),
        ("-1", "tra 5 e 12"),
        ("abc", "numero intero: «abc»"),
        ("100", "tra 5 e 12"),
    ],
)
async def test_a_number_of_installments_that_is_no_plan_is_refused_at_its_field(
    platform: Platform, tenant: Identity, typed: str, words: str
) -> None:
    """The fragment stays in the card (200, never a bare 400 that HTMX would not swap in): the
    message under the field, what was typed kept, the range allowed, no schedule of another plan."""
    position = fact(120_000)
    await seed(platform, tenant.tenant_id, position)
    params = {"position_id": position.position_id, "installments": typed, "embedded": "1"}
    async with service_client(platform, "payments", operator(tenant)) as http:
        shown = await http.get(builder(tenant), params=params, headers={"HX-Request": "true"})
        created = await http.post(
            f"/t/{tenant.tenant_slug}/payments/plans",
            data={"position_id": position.position_id, "installments": typed},
            headers={"HX-Request": "true"},
        )
    assert shown.status_code == 200 and 'id="plan-builder"' in shown.text
    assert words in shown.text and 'id="installments-errore"' in shown.text
    assert f'value="{typed}"' in shown.text and "(5–12)" in shown.text
    assert 'data-testid="plan-schedule"' not in shown.text
    assert created.status_code == 400 and ("almeno due rate" in created.text or words in created.text)


@pytest.mark.asyncio
async def test_a_cds_fine_asks_for_the_income_declaration(platform: Platform, tenant: Identity) -> None:
    fine = position_fact(60_000, credit=("CDS", 2025, "V"))
    await seed(platform, tenant.tenant_id, fine)
    async with service_client(platform, "payments", operator(tenant)) as http:
        asked = await http.get(builder(tenant), params={"position_id": fine.position_id})
        declared = await http.get(
            builder(tenant), params={"position_id": fine.position_id, "income_declared": "1"}
        )
        refused = await http.post(
            f"/t/{tenant.tenant_slug}/payments/plans",
            data={"position_id": fine.position_id, "installments": "6"},
            headers={"HX-Request": "true"},
        )
    assert 'id="income_declared"' in asked.text and "reddito" in asked.text
    # The limit itself, as the operator must read it to the debtor.
    assert "imponibile IRPEF fino a € 10.628,16, più € 1.032,91 per ogni familiare convivente" in asked.text
    # Before the declaration: the amount and what the declaration would allow, no schedule yet.
    assert "€ 600,00" in asked.text and "da 2 a 6, con la dichiarazione del reddito" in asked.text
    assert 'data-testid="plan-schedule"' not in asked.text
    assert "da 2 a 6" in declared.text
    assert refused.status_code == 400 and "reddito" in refused.text


@pytest.mark.asyncio
async def test_a_cds_fine_asked_beyond_its_range_before_the_declaration_says_the_range(
    platform: Platform, tenant: Identity
) -> None:
    """Before, 9 installments of a fine that allows 6 once declared lost the range altogether: no
    amount, no «da 2 a 6», no word on the number, only the note on the declaration."""
    fine = position_fact(60_000, credit=("CDS", 2025, "V"))
    await seed(platform, tenant.tenant_id, fine)
    async with service_client(platform, "payments", operator(tenant)) as http:
        asked = await http.get(builder(tenant), params={"position_id": fine.position_id, "installments": "9"})
    assert asked.status_code == 200
    assert "€ 600,00" in asked.text and "da 2 a 6, con la dichiarazione del reddito" in asked.text
    assert 'max="6"' in asked.text and 'aria-invalid="true"' in asked.text
    assert re.search(r'id="installments-errore"[^>]*>[^<]*tra 2 e 6', asked.text), asked.text
    assert 'data-testid="plan-schedule"' not in asked.text


@pytest.mark.asyncio
async def test_positions_of_several_revenue_types_ask_whose_rules_apply(
    platform: Platform, tenant: Identity
) -> None:
    tari = fact(60_000)
    imu = dataclasses.replace(fact(70_000), revenue_type="IMU", act_number="I-1", debtor_id=tari.debtor_id)
    await seed(platform, tenant.tenant_id, tari, imu)
    both = [("position_id", tari.position_id), ("position_id", imu.position_id)]
    async with service_client(platform, "payments", operator(tenant)) as http:
        asked = await http.get(builder(tenant), params=both, headers={"HX-Request": "true"})
        assert "un piano riguarda una sola entrata: scegli quale rateizzare" in asked.text
        assert "«revenue_type»" not in asked.text  # no API field name shown to the operator
        # Asked before anything is chosen: a note the select points to, not an error (marked
        # invalid, the select would be announced as wrong as soon as the card opens).
        assert '<select id="revenue_type" name="revenue_type"' in asked.text
        assert (
            'aria-describedby="revenue_type-errore"' in asked.text and 'aria-invalid="true"' not in asked.text
        )
        assert 'role="alert"' not in asked.text
        chosen = await http.get(builder(tenant), params=[*both, ("revenue_type", "TARI")])
        assert "€ 600,00" in chosen.text and 'value="TARI" selected' in chosen.text  # the TARI position only
        assert 'data-testid="plan-schedule"' in chosen.text
        created = await http.post(
            f"/t/{tenant.tenant_slug}/payments/plans",
            data={
                "position_id": [tari.position_id, imu.position_id],
                "installments": "6",
                "revenue_type": "TARI",
            },
        )
    assert created.status_code == 303, created.text[:400]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("revenue_type", "cents"),
    [("IMU", 9_000), ("CDS", 14_810)],  # € 100 and less (c.796), a fine of € 200 and less (art. 202-bis)
)
async def test_a_debt_no_plan_may_cover_shows_no_schedule(
    platform: Platform, tenant: Identity, revenue_type: str, cents: int
) -> None:
    position = position_fact(cents, credit=(revenue_type, 2024, "P"))
    await seed(platform, tenant.tenant_id, position)
    async with service_client(platform, "payments", operator(tenant)) as http:
        shown = await http.get(
            builder(tenant),
            params={"position_id": position.position_id, "embedded": "1", "income_declared": "1"},
            headers={"HX-Request": "true"},
        )
    assert shown.status_code == 200
    assert "rate consentite: nessuna (pagamento unico)" in shown.text
    # Not a one-row «plan» with interest the single payment's notice does not carry.
    assert 'data-testid="plan-schedule"' not in shown.text and "Crea il piano" not in shown.text
    assert "avviso per il pagamento unico al contribuente" in shown.text  # what it offers instead
