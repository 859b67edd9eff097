"""`POST /api/v1/payments/plans`: a plan within the rules, kept with its schedule, all or nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.contracts import PlanCreated
from services.kernel.identity import Identity
from services.payments.domain_schedule import month_end, schedule
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, scalar, seed
from tests.payments.test_charges import sent
from tests.support import make_identity, position_fact

URL = "/api/v1/payments/plans"


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-9")


async def post(platform: Platform, who: Identity, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.post(URL, json=body)
    return response.status_code, response.json()


async def plans_of(platform: Platform, who: Identity) -> int:
    sql = "SELECT count(*) FROM payments.plans WHERE tenant_id = :t"
    return int(await scalar(platform, who.tenant_id, sql, t=who.tenant_id))  # type: ignore[call-overload]


@pytest.mark.asyncio
async def test_a_plan_is_kept_with_its_schedule_and_announced(platform: Platform, tenant: Identity) -> None:
    debtor = str(uuid.uuid4())
    a, b = (position_fact(cents, debtor_id=debtor, credit=("IMU", 2023, "P")) for cents in (70_000, 50_000))
    await seed(platform, tenant.tenant_id, a, b)
    status, answer = await post(
        platform, tenant, {"position_ids": [a.position_id, b.position_id], "installments": 6}
    )
    assert status == 201, answer
    today = datetime.now(ZoneInfo("Europe/Rome")).date()
    expected = schedule(120_000, 6, today, month_end(today, 1))
    assert answer["allowed"] == {"min": 5, "max": 12}
    assert [(i["due_date"], i["principal_cents"], i["interest_cents"]) for i in answer["schedule"]] == [
        (i.due_date.isoformat(), i.principal_cents, i.interest_cents) for i in expected
    ]
    kept = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT sum(principal_cents) FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p",
        t=tenant.tenant_id,
        p=uuid.UUID(answer["plan_id"]),
    )
    assert kept == 120_000
    (created,) = await sent(platform, tenant, PlanCreated.routing_key())
    event = PlanCreated.from_envelope(created)
    # Who granted it, by id and by the name the contact history shows.
    caller = api(tenant)
    assert (event.created_by, event.created_by_name) == (caller.user_id, caller.display_name)
    assert event.created_by_name and event.created_by_name != event.created_by
    again = await post(platform, tenant, {"position_ids": [a.position_id], "installments": 2})
    assert again[0] == 409 and "già in un piano" in again[1]["error"]
    assert await plans_of(platform, tenant) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("installments", "extra", "field", "words"),
    [
        (13, {}, "installments", "tra 5 e 12"),
        (1, {}, "installments", "almeno due rate"),
        (6, {"first_due_date": "2099-02-27"}, "first_due_date", "ultimo giorno"),
        (6, {"first_due_date": "2099-02-28"}, "first_due_date", "entro tre mesi dalla data del piano"),
    ],
)
async def test_a_plan_outside_the_rules_is_refused_and_nothing_recorded(
    platform: Platform, tenant: Identity, installments: int, extra: dict[str, Any], field: str, words: str
) -> None:
    position = fact(120_000)
    await seed(platform, tenant.tenant_id, position)
    status, answer = await post(
        platform, tenant, {"position_ids": [position.position_id], "installments": installments, **extra}
    )
    assert (status, answer["field"]) == (400, field) and words in answer["error"]
    assert await plans_of(platform, tenant) == 0


@pytest.mark.asyncio
async def test_a_cds_plan_needs_the_income_declaration(platform: Platform, tenant: Identity) -> None:
    fine = position_fact(60_000, credit=("CDS", 2025, "V"))
    await seed(platform, tenant.tenant_id, fine)
    status, answer = await post(platform, tenant, {"position_ids": [fine.position_id], "installments": 6})
    assert (status, answer["field"]) == (400, "income_declared") and "reddito" in answer["error"]
    assert await plans_of(platform, tenant) == 0
    body = {"position_ids": [fine.position_id], "installments": 6, "income_declared": True}
    status, answer = await post(platform, tenant, body)
    assert status == 201 and answer["allowed"] == {"min": 2, "max": 6}
    declared = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT bool_and(income_declared) FROM payments.plans WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert declared is True


@pytest.mark.asyncio
async def test_positions_of_two_debtors_or_another_comune_make_no_plan(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    a, b = fact(70_000), fact(70_000)  # two debtors
    await seed(platform, tenant.tenant_id, a, b)
    status, answer = await post(
        platform, tenant, {"position_ids": [a.position_id, b.position_id], "installments": 5}
    )
    assert (status, answer["field"]) == (400, "position_ids") and "un solo contribuente" in answer["error"]
    status, _ = await post(platform, other_tenant, {"position_ids": [a.position_id], "installments": 5})
    assert status == 404
    assert await plans_of(platform, tenant) == 0


@pytest.mark.asyncio
async def test_two_operators_planning_the_same_position_at_once_get_one_plan(
    platform: Platform, tenant: Identity
) -> None:
    position = fact(120_000)
    await seed(platform, tenant.tenant_id, position)
    body = {"position_ids": [position.position_id], "installments": 6}
    answers = await asyncio.gather(post(platform, tenant, body), post(platform, tenant, body))
    assert sorted(status for status, _ in answers) == [201, 409]
    assert await plans_of(platform, tenant) == 1
