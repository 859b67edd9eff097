"""pagoPA notice numbers (aux digit 3) and QR payloads."""

from __future__ import annotations

import random

import pytest

from services.kernel.errors import DomainError
from services.payments.domain_notices import (
    is_valid_notice_number,
    iuv,
    notice_number,
    printed,
    qr_payload,
)


def mod93(digits: str) -> int:
    """Remainder by 93 digit by digit (Horner), independent of Python's big integers."""
    rest = 0
    for d in digits:
        rest = (rest * 10 + int(d)) % 93
    return rest


def test_check_digits_equal_an_independent_computation_on_10000_random_bases() -> None:
    rng = random.Random(2026)
    for _ in range(10_000):
        segregation, base = f"{rng.randrange(100):02d}", rng.randrange(10**13)
        nav = notice_number(segregation, base)
        digits = f"3{segregation}{base:013d}"
        assert nav == digits + f"{mod93(digits):02d}"
        assert len(nav) == 18 and is_valid_notice_number(nav)


def test_the_published_test_vector() -> None:
    assert notice_number("00", 7157000000000) == "300715700000000032"
    assert is_valid_notice_number("300715700000000032")
    assert not is_valid_notice_number("347000000880099993")  # the SANP example is not valid


def test_iuv_printed_form_and_qr_payload() -> None:
    nav = notice_number("01", 42)
    assert iuv(nav) == nav[1:] and len(iuv(nav)) == 17
    assert printed(nav) == " ".join([nav[0:4], nav[4:8], nav[8:12], nav[12:16], nav[16:18]])
    assert qr_payload(nav, "00123456789", 12_345) == f"PAGOPA|002|{nav}|00123456789|12345"


@pytest.mark.parametrize(("segregation", "base"), [("1", 1), ("ab", 1), ("01", -1), ("01", 10**13)])
def test_bad_segregation_codes_or_bases_are_refused(segregation: str, base: int) -> None:
    with pytest.raises(DomainError):
        notice_number(segregation, base)


def test_a_qr_payload_needs_an_11_digit_creditor() -> None:
    with pytest.raises(DomainError):
        qr_payload(notice_number("01", 1), "RSSMRA80A01H501U", 100)
