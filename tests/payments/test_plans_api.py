"""`POST /api/v1/payments/plans/simulate`: what the rules allow and the schedule, nothing recorded."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, seed
from tests.support import make_identity

URL = "/api/v1/payments/plans/simulate"


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",))


async def simulate(platform: Platform, who: Identity, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.post(URL, json=body)
    return response.status_code, response.json()


@pytest.mark.asyncio
async def test_the_most_installments_with_interest_across_the_new_year(
    platform: Platform, tenant: Identity
) -> None:
    body = {"amount_cents": 120_000, "revenue_type": "IMU", "plan_date": "2025-12-15"}
    status, answer = await simulate(platform, tenant, body)
    assert status == 200, answer
    assert answer["allowed"] == {"min": 5, "max": 12}
    schedule = answer["schedule"]
    assert len(schedule) == 12 and sum(i["principal_cents"] for i in schedule) == 120_000
    assert schedule[0] == {
        "number": 1,
        "due_date": "2026-01-31",  # the last day of the month after the plan date
        "principal_cents": 10_000,
        "interest_cents": 268,  # 16 days at 2.00 % and 31 at 1.60 % on € 1,200
        "amount_cents": 10_268,
    }
    assert schedule[-1]["due_date"] == "2026-12-31"


@pytest.mark.asyncio
@pytest.mark.parametrize(("cents", "allowed"), [(10_000, [1, 1]), (10_001, [2, 4]), (2_000_001, [37, 72])])
async def test_band_edges(platform: Platform, tenant: Identity, cents: int, allowed: list[int]) -> None:
    status, answer = await simulate(platform, tenant, {"amount_cents": cents, "revenue_type": "TARI"})
    assert status == 200
    assert [answer["allowed"]["min"], answer["allowed"]["max"]] == allowed
    assert len(answer["schedule"]) == allowed[1]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"amount_cents": 120_000, "revenue_type": "IMU", "installments": 13}, "installments", "tra 5 e 12"),
        (
            {"amount_cents": 9_000, "revenue_type": "IMU", "installments": 2},
            "installments",
            "pagamento unico",
        ),
        ({"amount_cents": 50_000, "revenue_type": "CDS"}, "income_declared", "reddito"),
        ({"amount_cents": 100, "revenue_type": "IRPEF"}, "revenue_type", "IMU, TARI"),
        ({"amount_cents": 100}, "revenue_type", "tipo di entrata"),
        ({"amount_cents": "100", "revenue_type": "IMU"}, "amount_cents", "intero positivo"),
        ({"revenue_type": "IMU"}, "amount_cents", "uno dei due"),
        ({"amount_cents": 100, "revenue_type": "IMU", "plan_date": "31/12/2026"}, "plan_date", "aaaa-mm-gg"),
        (
            {"amount_cents": 20_000, "revenue_type": "IMU", "first_due_date": "2030-02-27"},
            "first_due_date",
            "ultimo giorno",
        ),
        ({"position_ids": ["not-a-uuid"]}, "position_ids", "non valido"),
    ],
)
async def test_bad_requests_get_an_italian_message(
    platform: Platform, tenant: Identity, body: dict[str, Any], field: str, words: str
) -> None:
    status, answer = await simulate(platform, tenant, body)
    assert (status, answer["field"]) == (400, field)
    assert words in answer["error"]


@pytest.mark.asyncio
async def test_a_cds_fine_with_the_income_declaration(platform: Platform, tenant: Identity) -> None:
    body = {"amount_cents": 250_000, "revenue_type": "CDS", "income_declared": True, "installments": 24}
    status, answer = await simulate(platform, tenant, body)
    assert (status, answer["allowed"], len(answer["schedule"])) == (200, {"min": 2, "max": 24}, 24)


@pytest.mark.asyncio
async def test_positions_are_simulated_on_their_residual_and_only_the_tenants_own(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    a, b = fact(30_000), fact(45_000)
    await seed(platform, tenant.tenant_id, a, b)
    status, answer = await simulate(platform, tenant, {"position_ids": [a.position_id, b.position_id]})
    assert status == 200, answer
    assert (answer["amount_cents"], answer["revenue_type"], answer["allowed"]) == (
        75_000,
        "TARI",
        {"min": 5, "max": 12},
    )
    status, answer = await simulate(platform, other_tenant, {"position_ids": [a.position_id]})
    assert status == 404 and "non trovata" in answer["error"]
    status, answer = await simulate(platform, tenant, {"position_ids": [str(uuid.uuid4())]})
    assert status == 404


@pytest.mark.asyncio
async def test_a_settled_position_has_nothing_to_plan(platform: Platform, tenant: Identity) -> None:
    settled = fact(5_000)
    await seed(platform, tenant.tenant_id, settled)
    async with service_client(platform, "payments", api(tenant)) as http:
        paid = await http.post(
            f"/api/v1/payments/positions/{settled.position_id}/payments",
            json={"reason": "Bonifico in tesoreria", "amount_cents": 5_000, "paid_on": "2026-11-02"},
        )
        assert paid.status_code == 201
        response = await http.post(URL, json={"position_ids": [settled.position_id]})
    assert response.status_code == 409 and "già saldate" in response.json()["error"]
