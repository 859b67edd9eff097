"""The values pages show (`kernel.formats`): sizes, phones, instants in Rome."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.kernel.formats import (
    PAGE_FILTERS,
    can_text,
    format_count,
    format_day,
    format_month,
    format_phone,
    format_range,
    format_rome,
    format_rome_time,
    format_size,
    is_email,
)


def test_sizes_as_italians_write_them() -> None:
    assert [format_size(n) for n in (0, 999, 1000, 61_688, 999_949, 999_999, 1_234_567, 5 * 10**9)] == [
        "0 byte",
        "999 byte",
        "1,0 kB",
        "61,7 kB",
        "999,9 kB",
        "1,0 MB",
        "1,2 MB",
        "5,0 GB",
    ]


def test_phones_grouped_as_people_dial_them_and_anything_else_as_it_is() -> None:
    assert format_phone("+393331112223") == "+39 333 111 2223"
    assert format_phone("+390612345678") == "+39 06 1234 5678"
    assert format_phone("+442079460958") == "+44 20 7946 0958"
    assert [format_phone(v) for v in ("+3912", "3331112223", "n.d.", "")] == [
        "+3912",
        "3331112223",
        "n.d.",
        "",
    ]


def test_an_instant_in_romes_time_and_every_filter_is_registered() -> None:
    assert (
        format_rome(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == "29/03/2026 03:30"
    )  # after the change to CEST
    assert format_rome(None) == ""
    assert set(PAGE_FILTERS) == {
        "euro",
        "decimale",
        "rome",
        "ora",
        "numero",
        "telefono",
        "dimensione",
        "it_date",
        "avviso",
    }
    assert PAGE_FILTERS["avviso"]("302001234567890123") == "3020 0123 4567 8901 23"
    assert format_rome_time(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == "03:30"
    assert [format_count(n) for n in (0, 999, 1168, 1_234_567)] == ["0", "999", "1.168", "1.234.567"]
    assert format_day("2027-03-29") == format_day(date(2027, 3, 29)) == "29/03/2027"


def test_one_rule_says_which_e_mail_addresses_the_platform_writes_to() -> None:
    good = ("anna.bianchi@comune.it", "ufficio+tributi@comune.bo.it", "o'neill@example.org")
    bad = (
        "<script>alert(1)</script>@x.it",
        "anna@comune",
        "anna..b@comune.it",
        "anna@comune..it",
        "Anna Bianchi <anna@comune.it>",
        "a@-comune.it",
        "x" * 65 + "@comune.it",
        "a@" + "b" * 250 + ".it",
    )
    assert all(is_email(a) for a in good)
    assert not any(is_email(a) for a in bad)


def test_an_sms_goes_to_a_mobile_never_to_an_italian_landline() -> None:
    assert can_text("+393471234567") and can_text("+447911123456")
    assert not can_text("+390667101234") and not can_text("+390212345678")
    assert can_text("+12025550123")  # the US plan does not tell mobiles apart
    assert not can_text("not a number")


def test_a_month_is_named_as_italians_name_it() -> None:
    assert format_month(date(2027, 3, 17)) == "marzo 2027"
    assert format_month(date(2026, 12, 1)) == "dicembre 2026"


def test_a_range_of_rows_is_said_with_the_article_italian_uses() -> None:
    assert format_range(1, 25) == "dall'1 al 25"
    assert format_range(26, 28) == "dal 26 al 28"
    assert format_range(76, 80) == "dal 76 all'80"
    assert format_range(11, 18) == "dall'11 al 18"
    assert format_range(801, 811) == "dall'801 all'811"
    assert format_range(1_001, 1_025) == "dal 1.001 al 1.025"  # mille
    assert format_range(8_001, 11_025) == "dall'8.001 all'11.025"  # ottomila, undicimila
    assert format_range(21_001, 1_000_025) == "dal 21.001 all'1.000.025"  # un milione
