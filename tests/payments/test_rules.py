"""A Comune's own installment rules (c.797): kept with the day they take effect, used by plans."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.support import make_identity

REGULATION = {
    "bands": [
        {"up_to_cents": 20_000, "min": 1, "max": 1},
        {"up_to_cents": 100_000, "min": 2, "max": 6},
        {"up_to_cents": 600_000, "min": 4, "max": 24},
        {"up_to_cents": None, "min": 36, "max": 60},
    ],
    "min_installment_cents": 5_000,
    "interest_rate": "1,5",
}


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-3")


def today() -> Any:
    return datetime.now(ZoneInfo("Europe/Rome")).date()


async def call(platform: Platform, who: Identity, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.request(method, url, json=body)
    return response.status_code, response.json()


async def simulate(platform: Platform, who: Identity, **body: Any) -> dict[str, Any]:
    status, answer = await call(platform, who, "POST", "/api/v1/payments/plans/simulate", body)
    assert status == 200, answer
    return answer  # type: ignore[no-any-return]


@pytest.mark.asyncio
async def test_a_comune_regulation_governs_its_plans_from_the_day_it_takes_effect(
    platform: Platform, tenant: Identity
) -> None:
    status, answer = await call(platform, tenant, "PUT", "/api/v1/payments/rules/imu", REGULATION)
    assert status == 201, answer
    plan_day = today().isoformat()
    regulated = await simulate(platform, tenant, amount_cents=50_001, revenue_type="IMU", plan_date=plan_day)
    assert regulated["allowed"] == {"min": 2, "max": 6}
    default = await simulate(platform, tenant, amount_cents=50_001, revenue_type="TARI", plan_date=plan_day)
    assert default["allowed"] == {"min": 5, "max": 12}
    # The regulation's own rate (1.5 %) instead of the legal one.
    first = regulated["schedule"][0]
    days = (datetime.fromisoformat(first["due_date"]).date() - today()).days
    exact = Decimal(50_001) * Decimal("1.5") / 100 * days / 365
    assert first["interest_cents"] == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    later = (today() + timedelta(days=30)).isoformat()
    newer = {**REGULATION, "valid_from": later, "bands": [{"up_to_cents": None, "min": 36, "max": 72}]}
    newer["min_installment_cents"] = 0
    status, _ = await call(platform, tenant, "PUT", "/api/v1/payments/rules/IMU", newer)
    assert status == 201
    before = await simulate(platform, tenant, amount_cents=50_001, revenue_type="IMU", plan_date=plan_day)
    after = await simulate(platform, tenant, amount_cents=50_001, revenue_type="IMU", plan_date=later)
    assert (before["allowed"], after["allowed"]) == ({"min": 2, "max": 6}, {"min": 36, "max": 72})
    status, history = await call(platform, tenant, "GET", "/api/v1/payments/rules")
    assert status == 200
    assert [(r["revenue_type"], r["valid_from"], r["interest_rate"]) for r in history["rules"]] == [
        ("IMU", plan_day, "1.500"),
        ("IMU", later, "1.500"),
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "body", "field", "words"),
    [
        ("IMU", {"bands": [{"up_to_cents": None, "min": 2, "max": 30}]}, "bands", "almeno 36 rate"),
        ("IMU", {**REGULATION, "min_installment_cents": 20_000}, "bands", "almeno 36 rate"),
        ("CDS", REGULATION, "revenue_type", "202-bis"),
        ("IMU", {**REGULATION, "valid_from": "2020-01-01"}, "valid_from", "da oggi"),
        ("IMU", {"bands": [{"up_to_cents": "mille", "min": 1, "max": 1}]}, "bands", "Fascia 1"),
        ("IMU", {"bands": []}, "bands", "da 1 a 20 fasce"),
        (
            "IMU",
            {
                "bands": [
                    {"up_to_cents": 50_000, "min": 1, "max": 4},
                    {"up_to_cents": None, "min": 40, "max": 36},
                ]
            },
            "bands",
            "Fascia 2: da 40 a 36 rate non va bene",
        ),
        ("IMU", {**REGULATION, "interest_rate": "tanto"}, "interest_rate", "Tasso"),
    ],
)
async def test_a_rule_set_that_breaks_the_law_is_refused_and_nothing_kept(
    platform: Platform, tenant: Identity, url: str, body: dict[str, Any], field: str, words: str
) -> None:
    status, answer = await call(platform, tenant, "PUT", f"/api/v1/payments/rules/{url}", body)
    assert (status, answer["field"]) == (400, field) and words in answer["error"]
    assert (await call(platform, tenant, "GET", "/api/v1/payments/rules"))[1] == {"rules": []}
