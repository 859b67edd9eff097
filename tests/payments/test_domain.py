from __future__ import annotations

from datetime import date

import pytest

from services.kernel.errors import DomainError
from services.payments.domain import (
    PaymentInput,
    balance_status,
    check_paid_on,
    format_cents,
    parse_amount,
    parse_paid_on,
    recorder_label,
    residual_cents,
    validate_payment,
)
from tests.support import READABLE_AMOUNTS

TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(("text", "cents"), READABLE_AMOUNTS)
def test_parse_amount(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Indica l'importo"),
        ("-5,00", "non può essere negativo"),
        ("0,00", "maggiore di zero"),
        ("12,345", "al massimo due decimali"),
        ("1.5.6", "non valido"),
        ("1,2,3", "non valido"),
        ("12.34,5.6", "non valido"),
        ("12,34.56", "non valido"),
        ("abc", "non valido"),
        ("1e5", "non valido"),
        ("NaN", "non valido"),
    ],
)
def test_parse_amount_rejects(text: str, message: str) -> None:
    with pytest.raises(DomainError, match=message) as err:
        parse_amount(text)
    assert err.value.field == "amount"


def test_parse_paid_on_formats() -> None:
    assert parse_paid_on("03/02/2024") == date(2024, 2, 3)
    assert parse_paid_on("3/2/2024") == date(2024, 2, 3)
    assert parse_paid_on("2024-02-03") == date(2024, 2, 3)
    assert parse_paid_on("03.02.2024") == date(2024, 2, 3)
    for bad in ("", "31/02/2024", "2024/02/03", "ieri"):
        with pytest.raises(DomainError) as err:
            parse_paid_on(bad)
        assert err.value.field == "paid_on"


def test_paid_on_bounds() -> None:
    check_paid_on(TODAY, TODAY)
    check_paid_on(date(2000, 1, 1), TODAY)
    with pytest.raises(DomainError, match="futuro"):
        check_paid_on(date(2025, 6, 16), TODAY)
    with pytest.raises(DomainError, match="2000"):
        check_paid_on(date(1999, 12, 31), TODAY)


def test_validate_payment_happy_path() -> None:
    assert validate_payment("100,00", "15/06/2025", 50_000, 10_000, TODAY) == PaymentInput(10_000, TODAY)
    assert validate_payment(40_000, "2025-06-01", 50_000, 10_000, TODAY) == PaymentInput(
        40_000, date(2025, 6, 1)
    )


def test_overpayment_shows_the_residual() -> None:
    with pytest.raises(DomainError) as err:
        validate_payment("400,01", "15/06/2025", 50_000, 10_000, TODAY)
    assert err.value.message == "L'importo supera il residuo da pagare (€ 400,00)."
    assert err.value.field == "amount"
    with pytest.raises(DomainError) as api_err:
        validate_payment(40_001, "2025-06-15", 50_000, 10_000, TODAY)
    assert api_err.value.field == "amount_cents"


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None, [100]])
def test_api_amount_must_be_positive_integer_cents(bad: object) -> None:
    with pytest.raises(DomainError) as err:
        validate_payment(bad, "2025-06-15", 50_000, 0, TODAY)
    assert err.value.field == "amount_cents"


def test_balance_helpers() -> None:
    assert residual_cents(10_000, 2_500) == 7_500
    assert residual_cents(10_000, 10_000) == 0
    assert [balance_status(100, p) for p in (0, 40, 100)] == ["Da pagare", "Pagata in parte", "Pagata"]
    assert balance_status(100, 0, "cancelled") == "Annullata (sgravio)"
    assert format_cents(123_456_789) == "€ 1.234.567,89"
    assert format_cents(5) == "€ 0,05"


def test_who_recorded_a_payment_reads_as_a_name_or_as_pagopa_with_its_psp() -> None:
    assert recorder_label("f3a9-sub", "Olga Russo") == "Olga Russo"
    assert recorder_label("pagoPA:BPPIITRRXXX", None) == "pagoPA (BPPIITRRXXX)"
    assert recorder_label("pagoPA", None) == "pagoPA"
    assert recorder_label("older-user-id", None) == "older-user-id"
