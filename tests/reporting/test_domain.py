from decimal import Decimal

from services.reporting import domain
from services.reporting.domain import Totals


def test_residual_is_assigned_minus_collected() -> None:
    assert domain.residual(10_000, 2_500) == 7_500
    assert Totals(85_000, 53_500).residual_cents == 31_500


def test_collected_percent_rounds_half_up_and_handles_nothing_assigned() -> None:
    assert domain.collected_percent(85_000, 53_500) == Decimal("62.9")
    assert domain.collected_percent(2_000, 1) == Decimal("0.1")  # 0.05 -> 0.1
    assert domain.collected_percent(0, 0) == Decimal("0.0")


def test_formatting() -> None:
    assert domain.format_cents(123_456_789) == "1.234.567,89"
    assert domain.format_cents(-5) == "-0,05"
