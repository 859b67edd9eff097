"""`GET /api/v1/payments/gpd/export` and `POST /api/v1/payments/gpd/publish`, on the real database,
publishing to a local GPD server written from pagoPA's published OpenAPI (external v1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa

from gateway.openapi import document
from services.kernel.identity import Identity
from services.payments import handlers_notices
from services.payments.models import creditors
from services.payments.seed import DEMO_CREDITORS, DEMO_IBAN, seed_creditors
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.gpd_server import POSITION, GpdServer, running, validate
from tests.payments.helpers import fact, scalar, seed
from tests.support import make_identity

KEY = "chiave-gpd-del-comune"
ORG = DEMO_CREDITORS["comune-demo-a"][1]  # the fiscal code of Comune di Demo A


@pytest_asyncio.fixture
async def gpd() -> AsyncIterator[GpdServer]:
    async with running(KEY) as server:
        yield server


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-gpd")


async def call(platform: Platform, who: Identity, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.request(method, url, **kw)
    return response.status_code, response.json()


async def comune(platform: Platform, who: Identity, endpoint: str | None = None, key: str = KEY) -> None:
    """Comune di Demo A's pagoPA data for `who`, with the GPD endpoint and key when given."""
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": who.tenant_id})
    if endpoint is not None:
        async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
            stmt = sa.update(creditors).where(creditors.c.tenant_id == who.tenant_id)
            await uow.execute(stmt.values(gpd_endpoint=endpoint, gpd_api_key=key))
            await uow.commit()


async def noticed(platform: Platform, who: Identity, *cents: int) -> list[str]:
    """Positions of `cents` each with its notice issued; their ids."""
    facts = [fact(c) for c in cents]
    await seed(platform, who.tenant_id, *facts)
    status, answer = await call(
        platform,
        who,
        "POST",
        "/api/v1/payments/notices",
        json={"position_ids": [f.position_id for f in facts]},
    )
    assert status == 201, answer
    return [f.position_id for f in facts]


async def plan_with_options(platform: Platform, who: Identity) -> tuple[str, str]:
    """A position with its own notice, then a plan of 3 installments for it with the plan's notices
    (the single payment and one per installment); the plan's and the position's ids."""
    (position_id,) = await noticed(platform, who, 50_000)
    body = {"position_ids": [position_id], "installments": 3}
    status, answer = await call(platform, who, "POST", "/api/v1/payments/plans", json=body)
    assert status == 201, answer
    plan_id = uuid.UUID(answer["plan_id"])
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        issued = await handlers_notices.issue_plan_notices(uow, api(who), plan_id)
        await uow.commit()
    assert [o.installment for o in issued] == [None, 1, 2, 3]
    return str(plan_id), position_id


@pytest.mark.asyncio
async def test_the_export_holds_every_payable_position_and_plan_in_the_gpd_model(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    await comune(platform, tenant)
    first, second = await noticed(platform, tenant, 12_345, 67_890)
    await seed(platform, tenant.tenant_id, fact(999))  # no notice: nothing payable to hand over
    plan_id, in_plan = await plan_with_options(platform, tenant)
    await comune(platform, other_tenant)
    await noticed(platform, other_tenant, 55_555)
    status, export = await call(platform, tenant, "GET", "/api/v1/payments/gpd/export")
    assert status == 200, export
    assert export["organizationFiscalCode"] == ORG and export["companyName"] == "Comune di Demo A"
    by_iupd = {p["iupd"]: p for p in export["paymentPositions"]}
    # The position in the plan is handed over as the plan, not alone with its own notice too.
    assert set(by_iupd) == {f"{ORG}-{first}", f"{ORG}-{second}", f"{ORG}-{plan_id}"}
    assert f"{ORG}-{in_plan}" not in by_iupd
    assert all(validate("", p, POSITION) == [] for p in by_iupd.values())
    alone = by_iupd[f"{ORG}-{first}"]["paymentOption"]
    assert [(o["amount"], o["isPartialPayment"]) for o in alone] == [(12_345, False)]
    assert alone[0]["transfer"][0]["iban"] == DEMO_IBAN
    assert alone[0]["transfer"][0]["organizationFiscalCode"] == ORG
    plan = by_iupd[f"{ORG}-{plan_id}"]["paymentOption"]
    assert [o["isPartialPayment"] for o in plan] == [False, True, True, True]
    assert plan[0]["amount"] == 50_000 and sum(o["amount"] for o in plan[1:]) >= 50_000
    assert [o["description"][:10] for o in plan[1:]] == ["Rata 1 di ", "Rata 2 di ", "Rata 3 di "]
    logged = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM payments.access_log WHERE tenant_id = :t AND action = 'gpd_export'",
        t=tenant.tenant_id,
    )
    assert logged == 1


@pytest.mark.asyncio
async def test_publish_positions_then_a_duplicate_is_an_italian_conflict(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    ids = await noticed(platform, tenant, 12_345, 20_000)
    status, answer = await call(
        platform, tenant, "POST", "/api/v1/payments/gpd/publish", json={"position_ids": ids}
    )
    assert status == 201, answer
    assert answer["published"] == [{"iupd": f"{ORG}-{i}", "status": "VALID"} for i in ids]
    assert {k: p["status"] for k, p in gpd.positions.items()} == {(ORG, f"{ORG}-{i}"): "VALID" for i in ids}
    assert gpd.positions[(ORG, f"{ORG}-{ids[0]}")]["paymentOption"][0]["amount"] == 12_345
    status, again = await call(
        platform, tenant, "POST", "/api/v1/payments/gpd/publish", json={"position_ids": ids}
    )
    assert status == 409
    assert again["error"].startswith(f"La posizione debitoria {ORG}-{ids[0]} è già presente su pagoPA")


@pytest.mark.asyncio
async def test_publish_a_plan_as_one_position_with_its_options(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    plan_id, in_plan = await plan_with_options(platform, tenant)
    alone = {"position_ids": [in_plan]}
    status, answer = await call(platform, tenant, "POST", "/api/v1/payments/gpd/publish", json=alone)
    assert status == 409 and "è in un piano di rateizzazione attivo" in answer["error"]
    assert gpd.requests == []
    body = {"plan_id": plan_id}
    status, answer = await call(platform, tenant, "POST", "/api/v1/payments/gpd/publish", json=body)
    assert status == 201, answer
    assert answer["published"] == [{"iupd": f"{ORG}-{plan_id}", "status": "VALID"}]
    stored = gpd.positions[(ORG, f"{ORG}-{plan_id}")]
    assert stored["status"] == "VALID" and len(stored["paymentOption"]) == 4
    assert [o["isPartialPayment"] for o in stored["paymentOption"]] == [False, True, True, True]


@pytest.mark.asyncio
async def test_without_a_configured_endpoint_publishing_is_an_italian_409(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant)
    ids = await noticed(platform, tenant, 12_345)
    status, answer = await call(
        platform, tenant, "POST", "/api/v1/payments/gpd/publish", json={"position_ids": ids}
    )
    assert status == 409
    assert "non ha configurato l'endpoint e la chiave GPD" in answer["error"]
    assert gpd.requests == []


@pytest.mark.asyncio
async def test_a_wrong_key_is_refused_and_nothing_is_created(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url, key="chiave-sbagliata")
    ids = await noticed(platform, tenant, 12_345)
    status, answer = await call(
        platform, tenant, "POST", "/api/v1/payments/gpd/publish", json={"position_ids": ids}
    )
    assert status == 403 and "chiave dell'intermediario" in answer["error"]
    assert gpd.positions == {}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, "«position_ids» oppure «plan_id»"),
        ({"plan_id": "non-un-uuid"}, 400, "«plan_id» non è un identificativo valido"),
        ({"plan_id": str(uuid.uuid4())}, 404, "Piano di rateizzazione non trovato"),
        ({"position_ids": [str(uuid.uuid4())]}, 404, "Posizione non trovata"),
        ("no position", 409, "non ha avvisi pagabili"),
        ("foreign", 404, "Posizione non trovata"),
    ],
)
async def test_bad_requests_are_refused_in_italian_before_calling_pagopa(
    platform: Platform,
    tenant: Identity,
    other_tenant: Identity,
    gpd: GpdServer,
    body: Any,
    status: int,
    words: str,
) -> None:
    await comune(platform, tenant, gpd.url)
    if body == "no position":
        unnoticed = fact(4_000)
        await seed(platform, tenant.tenant_id, unnoticed)
        body = {"position_ids": [unnoticed.position_id]}
    elif body == "foreign":
        await comune(platform, other_tenant)
        body = {"position_ids": await noticed(platform, other_tenant, 7_000)}
    got, answer = await call(platform, tenant, "POST", "/api/v1/payments/gpd/publish", json=body)
    assert got == status and words in answer["error"], answer
    assert gpd.requests == []


def test_the_public_openapi_documents_both_routes() -> None:
    paths = document("https://riscossa.example")["paths"]
    assert set(paths["/api/v1/payments/gpd/export"]) == {"get"}
    assert "409" in paths["/api/v1/payments/gpd/publish"]["post"]["responses"]


@pytest.mark.asyncio
async def test_a_failure_midway_names_the_positions_already_published(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    first, second = await noticed(platform, tenant, 12_345, 20_000)
    url = "/api/v1/payments/gpd/publish"
    status, _ = await call(platform, tenant, "POST", url, json={"position_ids": [second]})
    assert status == 201
    status, answer = await call(platform, tenant, "POST", url, json={"position_ids": [first, second]})
    assert status == 409
    assert answer["error"].startswith(f"La posizione debitoria {ORG}-{second} è già presente su pagoPA")
    assert answer["error"].endswith(f"Già pubblicate su pagoPA: {ORG}-{first}.")
    assert gpd.positions[(ORG, f"{ORG}-{first}")]["status"] == "VALID"
