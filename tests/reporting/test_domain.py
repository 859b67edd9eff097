from decimal import Decimal

import pytest

from services.kernel.errors import DomainError
from services.reporting import domain
from services.reporting.domain import Totals


def test_residual_is_assigned_minus_collected() -> None:
    assert domain.residual(10_000, 2_500) == 7_500
    assert Totals(85_000, 53_500).residual_cents == 31_500


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
