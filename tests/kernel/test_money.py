"""Euro amounts as people type them (`services.kernel.money.parse_euro`)."""

from __future__ import annotations

import pytest

from services.kernel.errors import DomainError
from services.kernel.money import MOST_CENTS, parse_euro


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("1.234,56", 123_456),
        ("1234.56", 123_456),
        ("€ 12,30", 1_230),
        ("12", 1_200),
        ("999.999.999.999,99", MOST_CENTS),
    ],
)
def test_amounts_people_type_are_read_to_cents(typed: str, cents: int) -> None:
    assert parse_euro(typed) == cents


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("99999999999999999", "Importo troppo alto"),  # would overflow a bigint: never a 500
        ("1.000.000.000.000,00", "Importo troppo alto"),
        ("12,345", "al massimo due decimali"),
        ("-5", "non può essere negativo"),
        ("cento", "Importo non valido"),
    ],
)
def test_amounts_that_are_no_amount_are_refused_in_words(typed: str, words: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_euro(typed, "importo_max")
    assert words in refused.value.message and refused.value.field == "importo_max"
