import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.kernel.errors import DomainError
from services.reporting import domain
from services.reporting.domain import Position, Totals


def pos(rtype: str, year: int, amount: int, collected: int, cf: str = "RSSMRA80A01H501U") -> Position:
    return Position(uuid.uuid4(), cf, "Mario Rossi", rtype, year, "A-1", amount, collected)


POSITIONS = [
    pos("TARI", 2020, 10_000, 2_500),
    pos("IMU", 2021, 50_000, 50_000),
    pos("IMU", 2020, 20_000, 0),
    pos("IMU", 2021, 5_000, 1_000),
]


def test_residual_is_assigned_minus_collected() -> None:
    assert domain.residual(10_000, 2_500) == 7_500
    assert POSITIONS[0].residual_cents == 7_500
    assert Totals(85_000, 53_500).residual_cents == 31_500


def test_totals_sum_all_positions() -> None:
    assert domain.sum_totals(POSITIONS) == Totals(85_000, 53_500)


def test_totals_by_type_and_year_are_grouped_and_sorted() -> None:
    groups = domain.totals_by_type_year(POSITIONS)
    assert [(g.revenue_type, g.year, g.positions) for g in groups] == [
        ("IMU", 2020, 1),
        ("IMU", 2021, 2),
        ("TARI", 2020, 1),
    ]
    assert groups[1].totals == Totals(55_000, 51_000)
    assert groups[1].totals.residual_cents == 4_000


def test_totals_by_type_merge_years() -> None:
    groups = domain.totals_by_type(POSITIONS)
    assert [(g.revenue_type, g.year, g.positions, g.totals) for g in groups] == [
        ("IMU", None, 3, Totals(75_000, 51_000)),
        ("TARI", None, 1, Totals(10_000, 2_500)),
    ]


def test_collected_percent_rounds_half_up_and_handles_nothing_assigned() -> None:
    assert domain.collected_percent(85_000, 53_500) == Decimal("62.9")
    assert domain.collected_percent(2_000, 1) == Decimal("0.1")  # 0.05 -> 0.1
    assert domain.collected_percent(0, 0) == Decimal("0.0")


@pytest.mark.parametrize(
    ("collected", "rate_bp", "expected"),
    [
        (10, 500, 1),  # 0.5 cent rounds up (banker's rounding would give 0)
        (30, 500, 2),  # 1.5
        (1_010, 50, 5),  # 5.05
        (12_345, 350, 432),  # 432.075
        (12_357, 350, 432),  # 432.495
        (12_358, 350, 433),  # 432.53
        (53_500, 0, 0),
        (1_000_000_00, 1_000, 10_000_000),
    ],
)
def test_aggio_is_rate_times_collected_rounded_half_up(collected: int, rate_bp: int, expected: int) -> None:
    assert domain.aggio_cents(collected, rate_bp) == expected


@pytest.mark.parametrize(
    ("raw", "bp"), [("3,5", 350), ("10.25", 1025), (" 0 ", 0), ("100", 10_000), ("4%", 400)]
)
def test_parse_rate_percent(raw: str, bp: int) -> None:
    assert domain.parse_rate_percent(raw) == bp


@pytest.mark.parametrize("raw", ["", "abc", "-1", "3,555", "100,01", "1e2"])
def test_parse_rate_percent_rejects_bad_input(raw: str) -> None:
    with pytest.raises(DomainError) as err:
        domain.parse_rate_percent(raw)
    assert err.value.field == "aggio_percent"


def test_formatting() -> None:
    assert domain.format_cents(123_456_789) == "1.234.567,89"
    assert domain.format_cents(-5) == "-0,05"
    assert domain.format_rate(350) == "3,50%"
    assert domain.format_rate(10_000) == "100,00%"


def test_build_report_uses_the_same_positions_for_totals_and_table() -> None:
    generated = datetime(2024, 12, 31, 23, 30, tzinfo=UTC)  # already 1 January in Rome
    report = domain.build_report(
        uuid.uuid4(), "Comune di Prova", generated, "Anna", date(2024, 1, 2), 350, POSITIONS
    )
    assert report.period_end == date(2025, 1, 1)
    assert report.totals == Totals(85_000, 53_500)
    assert report.aggio_cents == 1_873  # 53_500 * 3.5% = 1_872.5 -> 1_873
    assert [(p.revenue_type, p.year) for p in report.positions] == [
        ("IMU", 2020),
        ("IMU", 2021),
        ("IMU", 2021),
        ("TARI", 2020),
    ]
    assert sum(g.totals.collected_cents for g in report.by_type_year) == report.totals.collected_cents
