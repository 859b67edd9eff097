"""`GET /api/v1/payments/positions` and `/positions/{id}`: balances, options, payments, plan."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.kernel.identity import Identity
from services.payments.seed import seed_creditors
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import scalar, seed
from tests.support import make_identity, position_fact


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-5")


async def get(platform: Platform, who: Identity, url: str, **params: Any) -> tuple[int, Any]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.get(url, params=params)
    return response.status_code, response.json()


@pytest.mark.asyncio
async def test_positions_by_taxpayer_and_balance_with_their_details(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    cf = "RSSMRA80A01H501U"
    open_one, partial, settled = (position_fact(cents, fiscal_code=cf) for cents in (10_000, 20_000, 3_000))
    await seed(
        platform,
        tenant.tenant_id,
        open_one,
        partial,
        settled,
        position_fact(5_000, fiscal_code="VRDLGU70A01H501X"),
    )
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    async with service_client(platform, "payments", api(tenant)) as http:
        for position, cents in ((partial, 5_000), (settled, 3_000)):
            paid = await http.post(
                f"/api/v1/payments/positions/{position.position_id}/payments",
                json={"reason": "Bonifico in tesoreria", "amount_cents": cents, "paid_on": "2026-11-02"},
            )
            assert paid.status_code == 201
        notice = await http.post("/api/v1/payments/notices", json={"position_ids": [partial.position_id]})
        assert notice.status_code == 201
    status, page = await get(platform, tenant, "/api/v1/payments/positions", fiscal_code=cf.lower())
    assert status == 200 and len(page["positions"]) == 3 and page["next_offset"] is None
    for state, expected in (("open", open_one), ("partial", partial), ("settled", settled)):
        _, page = await get(platform, tenant, "/api/v1/payments/positions", fiscal_code=cf, status=state)
        assert [p["id"] for p in page["positions"]] == [expected.position_id]
    _, first = await get(platform, tenant, "/api/v1/payments/positions", limit="2")
    assert len(first["positions"]) == 2 and first["next_offset"] == 2
    status, detail = await get(platform, tenant, f"/api/v1/payments/positions/{partial.position_id}")
    assert status == 200
    assert (detail["amount_cents"], detail["paid_cents"], detail["residual_cents"]) == (20_000, 5_000, 15_000)
    assert [(o["amount_cents"], o["status"]) for o in detail["options"]] == [(15_000, "payable")]
    assert [p["amount_cents"] for p in detail["payments"]] == [5_000] and detail["plan"] is None
    assert (await get(platform, other_tenant, f"/api/v1/payments/positions/{partial.position_id}"))[0] == 404
    _, foreign = await get(platform, other_tenant, "/api/v1/payments/positions", fiscal_code=cf)
    assert foreign["positions"] == []
    logged = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM payments.access_log WHERE tenant_id = :t AND action = 'api_position'",
        t=tenant.tenant_id,
    )
    assert logged == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "paid"}, "status"),
        ({"limit": "99999999999999999999"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
async def test_bad_filters_get_an_italian_400(
    platform: Platform, tenant: Identity, params: dict[str, str], field: str
) -> None:
    status, answer = await get(platform, tenant, "/api/v1/payments/positions", **params)
    assert (status, answer["field"]) == (400, field)


@pytest.mark.asyncio
async def test_an_unknown_position_is_not_found(platform: Platform, tenant: Identity) -> None:
    assert (await get(platform, tenant, f"/api/v1/payments/positions/{uuid.uuid4()}"))[0] == 404
