"""The legal interest rate table: read by every schedule from the database, added to by the platform
administrator only (from today on, one rate a day, 0-20 %), each addition kept with who and when."""

from __future__ import annotations

import ast
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
import sqlalchemy as sa

from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.payments.domain_legal_rates import NewRate, check_new_rate, parse_rate, rate_text
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import scalar, seed
from tests.support import ROOT, make_identity, position_fact

TODAY = datetime.now(ZoneInfo("Europe/Rome")).date()
NEXT_YEAR = date(TODAY.year + 1, 1, 1)
EDITOR_ID = "platform-admin-rates"


def who(tenant: Identity, *roles: str, user_id: str = EDITOR_ID) -> Identity:
    return make_identity(tenant.tenant_id, tenant.tenant_slug, roles=roles, user_id=user_id)


def url(tenant: Identity) -> str:
    return f"/t/{tenant.tenant_slug}/payments/legal-rates"


async def count_rates(platform: Platform, tenant: Identity) -> int:
    counted = await scalar(platform, tenant.tenant_id, "SELECT count(*) FROM payments.legal_rates")
    assert isinstance(counted, int)
    return counted


@pytest_asyncio.fixture
async def cleanup(platform: Platform, tenant: Identity) -> AsyncIterator[None]:
    """The table is national and the test database is shared by the run: remove what a test added."""
    yield
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        await uow.execute(sa.text("DELETE FROM payments.legal_rates WHERE created_by = :u"), {"u": EDITOR_ID})
        await uow.commit()


def test_a_rate_is_read_as_italians_write_it() -> None:
    assert parse_rate("1,60") == Decimal("1.60")
    assert parse_rate(" 2,5 % ") == Decimal("2.5")
    assert parse_rate("0,125") == Decimal("0.125") and parse_rate("20") == Decimal(20)
    assert rate_text(Decimal("1.600")) == "1,60" and rate_text(Decimal("0.125")) == "0,125"
    for bad in ("20,001", "21", "-1", "1,6055", "uno", "", "1.000,5", "NaN"):
        with pytest.raises(DomainError, match="Tasso non valido"):
            parse_rate(bad)


def test_a_new_rate_is_from_today_on_on_a_free_day_with_its_decree() -> None:
    known = [date(2026, 1, 1), NEXT_YEAR]
    check_new_rate(NewRate(TODAY, Decimal("1.5"), "D.M."), TODAY, known)
    with pytest.raises(DomainError, match="da oggi o da una data futura"):
        check_new_rate(NewRate(TODAY - timedelta(days=1), Decimal("1.5"), "D.M."), TODAY, known)
    with pytest.raises(DomainError, match="Esiste già un tasso dal 01/01/"):
        check_new_rate(NewRate(NEXT_YEAR, Decimal("1.5"), "D.M."), TODAY, known)
    with pytest.raises(DomainError, match="Indica il decreto"):
        check_new_rate(NewRate(TODAY, Decimal("1.5"), "  "), TODAY, known)
    end_of_next_year = date(TODAY.year + 1, 12, 31)
    check_new_rate(NewRate(end_of_next_year, Decimal("1.5"), "D.M."), TODAY, known)
    with pytest.raises(DomainError, match=f"al più tardi dal {end_of_next_year:%d/%m/%Y}") as refused:
        check_new_rate(NewRate(date(2099, 1, 1), Decimal("1.5"), "D.M."), TODAY, known)
    assert refused.value.field == "valid_from"


def expected_schedule(amount: int, parts: int, plan_day: date, rates: dict[date, Decimal]) -> list[int]:
    """Interest per installment computed day by day, independently of `domain_schedule`."""
    first_due = date(plan_day.year, 12, 31)
    dues = [first_due]
    while len(dues) < parts:
        after = dues[-1] + timedelta(days=1)
        dues.append(date(after.year + after.month // 12, after.month % 12 + 1, 1) - timedelta(days=1))
    part = amount // parts
    residual, start, interests = amount, plan_day, []
    for n, due in enumerate(dues):
        total, day = Decimal(0), start + timedelta(days=1)
        while day <= due:
            rate = rates[max(d for d in rates if d <= day)]
            total += Decimal(residual) * rate / 100 / 365
            day += timedelta(days=1)
        interests.append(int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
        residual -= part if n < parts - 1 else residual
        start = due
    return interests


async def simulate(platform: Platform, tenant: Identity) -> list[dict[str, Any]]:
    body = {
        "amount_cents": 250_000,
        "revenue_type": "TARI",
        "installments": 6,
        "plan_date": date(TODAY.year, 12, 15).isoformat(),
        "first_due_date": date(TODAY.year, 12, 31).isoformat(),
    }
    async with service_client(platform, "payments", who(tenant, "api", user_id="api-key-r")) as http:
        response = await http.post("/api/v1/payments/plans/simulate", json=body)
    assert response.status_code == 200, response.text
    return response.json()["schedule"]  # type: ignore[no-any-return]


@pytest.mark.asyncio
async def test_a_rate_added_for_next_year_changes_a_schedule_across_new_year(
    platform: Platform, tenant: Identity, cleanup: None
) -> None:
    plan_day = date(TODAY.year, 12, 15)
    known = {date(2024, 1, 1): Decimal("2.5"), date(2025, 1, 1): Decimal(2), date(2026, 1, 1): Decimal("1.6")}
    before = await simulate(platform, tenant)
    assert [i["interest_cents"] for i in before] == expected_schedule(250_000, 6, plan_day, known)
    form = {"valid_from": NEXT_YEAR.isoformat(), "rate": "3,125", "decree": "D.M. 10/12/2026"}
    async with service_client(platform, "payments", who(tenant, "platform_admin")) as http:
        saved = await http.post(url(tenant), data=form)
        assert saved.status_code == 303 and saved.headers["location"].endswith("?salvato=1")
        shown = await http.get(url(tenant), params={"salvato": "1"})
    assert "Tasso registrato." in shown.text
    assert f"{NEXT_YEAR.strftime('%d/%m/%Y')} (futuro)" in shown.text and "3,125%" in shown.text
    # Who added it, by name (their user id is for the audit, not for the page).
    assert "<td>Utente di prova</td>" in shown.text and EDITOR_ID not in shown.text
    after = await simulate(platform, tenant)
    expected = expected_schedule(250_000, 6, plan_day, {**known, NEXT_YEAR: Decimal("3.125")})
    assert [i["interest_cents"] for i in after] == expected
    # The December installment is unchanged; every one falling in the new year costs more.
    assert after[0] == before[0]
    assert all(a["interest_cents"] > b["interest_cents"] for a, b in zip(after[1:], before[1:], strict=True))
    async with service_client(platform, "payments", who(tenant, "api", user_id="api-key-r")) as http:
        listed = (await http.get("/api/v1/payments/legal-rates")).json()["legal_rates"]
    assert [(r["valid_from"], r["rate"]) for r in listed][-2:] == [
        ("2026-01-01", "1.600"),
        (NEXT_YEAR.isoformat(), "3.125"),
    ]
    assert listed[-1]["created_by"] == EDITOR_ID and listed[-1]["decree"] == "D.M. 10/12/2026"
    assert listed[-1]["created_by_name"] == "Utente di prova"
    assert listed[0]["decree"].startswith("D.M. 29/11/2023")


@pytest.mark.asyncio
async def test_a_plan_granted_today_keeps_interest_at_the_table_rates(
    platform: Platform, tenant: Identity, cleanup: None
) -> None:
    async with service_client(platform, "payments", who(tenant, "platform_admin")) as http:
        form = {"valid_from": NEXT_YEAR.isoformat(), "rate": "7", "decree": "D.M. di prova"}
        assert (await http.post(url(tenant), data=form)).status_code == 303
    debtor = str(uuid.uuid4())
    a = position_fact(300_000, debtor_id=debtor, credit=("IMU", 2023, "P"))
    await seed(platform, tenant.tenant_id, a)
    body = {"position_ids": [a.position_id], "installments": 12}
    async with service_client(platform, "payments", who(tenant, "api", user_id="api-key-r")) as http:
        response = await http.post("/api/v1/payments/plans", json=body)
    assert response.status_code == 201, response.text
    rates = {date(2026, 1, 1): Decimal("1.6"), NEXT_YEAR: Decimal(7)}
    first_due = date(TODAY.year + (TODAY.month == 12), TODAY.month % 12 + 1, 1)
    first_due = date(first_due.year + first_due.month // 12, first_due.month % 12 + 1, 1) - timedelta(days=1)
    kept = response.json()["schedule"]
    assert kept[0]["due_date"] == first_due.isoformat()
    # Interest of each period, at 1.60 % up to 31/12 and 7 % after, on the residual principal.
    part, residual, start = 25_000, 300_000, TODAY
    for installment in kept:
        due = date.fromisoformat(installment["due_date"])
        days = [start + timedelta(days=n) for n in range(1, (due - start).days + 1)]
        exact = sum(Decimal(residual) * rates[max(d for d in rates if d <= day)] / 100 / 365 for day in days)
        assert installment["interest_cents"] == int(Decimal(exact).quantize(Decimal(1), ROUND_HALF_UP))
        residual, start = residual - part, due


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"rate": "25"}, "Tasso non valido"),
        ({"rate": "1,6a"}, "Tasso non valido"),
        ({"valid_from": (TODAY - timedelta(days=1)).isoformat()}, "da oggi o da una data futura"),
        ({"valid_from": "2026-01-01"}, "da oggi o da una data futura"),
        ({"valid_from": ""}, "Indica la data"),
        ({"decree": ""}, "Indica il decreto"),
    ],
)
async def test_a_refused_rate_is_explained_in_italian_and_nothing_is_recorded(
    platform: Platform, tenant: Identity, cleanup: None, fields: dict[str, str], words: str
) -> None:
    before = await count_rates(platform, tenant)
    form = {"valid_from": NEXT_YEAR.isoformat(), "rate": "1,60", "decree": "D.M. 10/12/2026", **fields}
    async with service_client(platform, "payments", who(tenant, "platform_admin")) as http:
        refused = await http.post(url(tenant), data=form)
    assert refused.status_code == 400
    assert "Tasso non registrato" in refused.text and words in refused.text
    assert await count_rates(platform, tenant) == before


@pytest.mark.asyncio
async def test_a_day_that_has_a_rate_keeps_it(platform: Platform, tenant: Identity, cleanup: None) -> None:
    form = {"valid_from": NEXT_YEAR.isoformat(), "rate": "1,50", "decree": "D.M. 10/12/2026"}
    async with service_client(platform, "payments", who(tenant, "platform_admin")) as http:
        assert (await http.post(url(tenant), data=form)).status_code == 303
        after_first = await count_rates(platform, tenant)
        again = await http.post(url(tenant), data={**form, "rate": "1,75"})
    assert again.status_code == 400 and "Esiste già un tasso dal" in again.text
    assert await count_rates(platform, tenant) == after_first
    rate = await scalar(
        platform, tenant.tenant_id, "SELECT rate FROM payments.legal_rates WHERE valid_from = :d", d=NEXT_YEAR
    )
    assert rate == Decimal("1.500")


@pytest.mark.asyncio
@pytest.mark.parametrize("role", ["comune_admin", "operator", "supervisor", "comune_viewer"])
async def test_only_the_platform_admin_adds_a_rate(
    platform: Platform, tenant: Identity, cleanup: None, role: str
) -> None:
    before = await count_rates(platform, tenant)
    form = {"valid_from": NEXT_YEAR.isoformat(), "rate": "1,60", "decree": "D.M. 10/12/2026"}
    async with service_client(platform, "payments", who(tenant, role)) as http:
        assert (await http.post(url(tenant), data=form)).status_code == 403
        page = await http.get(url(tenant))
    assert page.status_code == (200 if role == "comune_admin" else 403)
    if role == "comune_admin":
        assert "1,60%" in page.text and 'name="rate"' not in page.text
    assert await count_rates(platform, tenant) == before


def test_every_schedule_in_the_handlers_is_given_the_table() -> None:
    """A handler that forgot `rates=` would silently use the code constants instead of the table."""
    calls = []
    for path in sorted((ROOT / "services" / "payments").glob("handlers*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "schedule":
                calls.append((path.name, {k.arg for k in node.keywords}))
    assert len(calls) >= 3
    assert [name for name, keywords in calls if "rates" not in keywords] == []


@pytest.mark.asyncio
async def test_every_field_at_fault_is_named_at_once(
    platform: Platform, tenant: Identity, cleanup: None
) -> None:
    before = await count_rates(platform, tenant)
    form = {"valid_from": "2020-01-01", "rate": "molto", "decree": " "}
    async with service_client(platform, "payments", who(tenant, "platform_admin")) as http:
        refused = await http.post(url(tenant), data=form)
    assert refused.status_code == 400 and "correggi i 3 campi indicati" in refused.text
    for field in ("valid_from", "rate", "decree"):
        assert f'id="{field}-error"' in refused.text and f'href="#{field}"' in refused.text
    assert 'value="molto"' in refused.text  # what was typed stays
    assert await count_rates(platform, tenant) == before
