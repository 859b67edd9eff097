"""Installment rules (L. 160/2019 c.796-797, CDS art. 202-bis) and the cent-exact schedule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from services.kernel.errors import DomainError
from services.payments.domain_plans import Band, RuleSet, allowed, cds_allowed, check_regulation, range_reason
from services.payments.domain_schedule import LEGAL_RATES, check_first_due, due_dates, month_end, schedule

EDGES = [10_000, 10_001, 50_000, 50_001, 300_000, 300_001, 600_000, 600_001, 2_000_000, 2_000_001]


def test_default_bands_at_every_edge() -> None:
    got = [allowed(cents, RuleSet()) for cents in EDGES]
    assert got == [(1, 1), (2, 4), (2, 4), (5, 12), (5, 12), (13, 24), (13, 24), (25, 36), (25, 36), (37, 72)]


# A Comune's own regulation (c.797): no plan up to € 200, then its own bands, € 50 at least a month.
REGULATION = RuleSet(
    bands=(Band(20_000, 1, 1), Band(100_000, 2, 6), Band(600_000, 4, 24), Band(None, 36, 60)),
    min_installment_cents=5_000,
)


def test_a_comune_regulation_at_every_edge() -> None:
    got = [allowed(cents, check_regulation(REGULATION)) for cents in EDGES]
    assert got == [(1, 1), (1, 1), (2, 6), (2, 6), (4, 24), (4, 24), (4, 24), (36, 60), (36, 60), (36, 60)]
    # € 50 a month at least: € 200.01 goes in 4 installments at most, not 6.
    assert allowed(20_001, REGULATION) == (2, 4)


def test_the_range_is_given_with_its_reason() -> None:
    assert (
        range_reason(154_421, "CUP", RuleSet())
        == "debito da € 500,01 a € 3.000,00: L. 160/2019, art. 1 c. 796"
    )
    assert range_reason(9_000, "IMU", RuleSet()) == "debito da € 0,01 a € 100,00: L. 160/2019, art. 1 c. 796"
    assert (
        range_reason(3_000_000, "TARI", RuleSet()) == "debito oltre € 20.000,00: L. 160/2019, art. 1 c. 796"
    )
    assert range_reason(20_001, "IMU", REGULATION) == (
        "debito da € 200,01 a € 1.000,00: regolamento del Comune; rata minima € 50,00"
    )
    assert range_reason(60_000, "CDS", RuleSet()).startswith("sanzione del Codice della strada: art. 202-bis")


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (RuleSet(bands=(Band(100_000, 1, 1), Band(None, 2, 30))), "bands"),
        (RuleSet(bands=(Band(700_000, 2, 24), Band(None, 36, 72))), "bands"),
        (RuleSet(bands=(Band(None, 36, 72),), min_installment_cents=20_000), "bands"),
        (RuleSet(bands=(Band(100_000, 1, 1), Band(50_000, 2, 4), Band(None, 36, 72))), "bands"),
        (RuleSet(bands=(Band(100_000, 1, 1),)), "bands"),
        (RuleSet(bands=(Band(None, 36, 80),)), "bands"),
    ],
)
def test_a_regulation_that_breaks_c797_is_refused_in_italian(rules: RuleSet, field: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_regulation(rules)
    assert refused.value.field == field
    assert refused.value.message[0].isupper() and refused.value.message.endswith(".")


def test_the_c797_refusal_names_the_rule() -> None:
    with pytest.raises(DomainError, match=r"almeno 36 rate mensili per i debiti oltre € 6\.000,00"):
        check_regulation(RuleSet(bands=(Band(600_000, 2, 24), Band(None, 25, 30))))


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (20_000, (1, 1)),
        (20_001, (2, 2)),
        (30_000, (2, 3)),
        (200_000, (2, 12)),
        (200_001, (2, 20)),
        (500_000, (2, 24)),
        (500_001, (2, 50)),
        (1_000_000, (2, 60)),
    ],
)
def test_cds_fines(cents: int, expected: tuple[int, int]) -> None:
    assert cds_allowed(cents, income_declared=True) == expected


def test_a_cds_plan_needs_the_income_declaration() -> None:
    assert cds_allowed(20_000, income_declared=False) == (1, 1)  # no plan anyway
    with pytest.raises(DomainError, match="reddito") as refused:
        cds_allowed(50_000, income_declared=False)
    assert refused.value.field == "income_declared"


def test_installments_fall_on_month_ends_and_leftover_cents_on_the_last() -> None:
    plan = schedule(10_000, 3, date(2027, 12, 10), date(2028, 1, 31), own_rate=Decimal(0))
    assert [i.due_date for i in plan] == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]
    assert [i.principal_cents for i in plan] == [3_333, 3_333, 3_334]
    assert [i.interest_cents for i in plan] == [0, 0, 0]
    assert due_dates(date(2026, 8, 31), 2) == [date(2026, 8, 31), date(2026, 9, 30)]
    assert month_end(date(2026, 11, 29), 1) == date(2026, 12, 31)


def daily_interest(principal: int, start: date, end: date) -> int:
    """The same rule, day by day: each day of (start, end] at the rate in force that day."""
    total = Decimal(0)
    day = start + timedelta(days=1)
    while day <= end:
        rate = [r for since, r in LEGAL_RATES if since <= day][-1]
        total += Decimal(principal) * rate / 100 / 365
        day += timedelta(days=1)
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_interest_across_the_new_year_to_the_cent() -> None:
    plan = schedule(120_000, 2, date(2025, 12, 15), date(2026, 1, 31))
    # 16 days of December 2025 at 2.00 % and 31 of January 2026 at 1.60 % on € 1,200:
    # 120,000 × (16 × 2.00 + 31 × 1.60) / 100 / 365 = 268.27 cents.
    assert [(i.principal_cents, i.interest_cents) for i in plan] == [(60_000, 268), (60_000, 74)]
    assert plan[0].interest_cents == daily_interest(120_000, date(2025, 12, 15), date(2026, 1, 31))
    assert plan[1].interest_cents == daily_interest(60_000, date(2026, 1, 31), date(2026, 2, 28))
    assert plan[0].amount_cents == 60_268


def test_interest_over_many_years_matches_the_day_by_day_rule() -> None:
    plan = schedule(7_777_777, 72, date(2024, 3, 3), date(2024, 4, 30))
    previous, residual = date(2024, 3, 3), 7_777_777
    for installment in plan:
        assert installment.interest_cents == daily_interest(residual, previous, installment.due_date)
        previous, residual = installment.due_date, residual - installment.principal_cents
    assert residual == 0 and plan[-1].due_date == date(2030, 3, 31)  # after the last known rate


def test_a_comune_rate_replaces_the_legal_rate() -> None:
    [only] = schedule(36_500, 1, date(2026, 1, 31), date(2026, 2, 28), own_rate=Decimal("10"))
    assert only.interest_cents == 280  # 36,500 × 10 % × 28 / 365


@pytest.mark.parametrize("first_due", [date(2026, 2, 27), date(2025, 12, 31)])
def test_a_first_due_date_off_the_month_end_or_before_the_plan_is_refused(first_due: date) -> None:
    with pytest.raises(DomainError) as refused:
        schedule(10_000, 2, date(2026, 1, 10), first_due)
    assert refused.value.field == "first_due_date"


@pytest.mark.parametrize(
    ("plan_date", "latest"),
    [
        (date(2026, 1, 10), date(2026, 4, 30)),
        (date(2026, 11, 30), date(2027, 2, 28)),
        (date(2027, 11, 2), date(2028, 2, 29)),
    ],
)
def test_a_first_installment_is_due_within_three_months_of_the_plan(plan_date: date, latest: date) -> None:
    check_first_due(plan_date, latest)  # the last day allowed
    with pytest.raises(DomainError) as refused:
        check_first_due(plan_date, month_end(latest, 1))
    assert refused.value.field == "first_due_date"
    assert str(refused.value) == (
        f"La prima rata deve scadere entro tre mesi dalla data del piano: al più tardi il {latest:%d/%m/%Y}."
    )
    with pytest.raises(DomainError, match="ultimo giorno del mese"):
        check_first_due(plan_date, latest - timedelta(days=1))
