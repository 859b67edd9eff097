"""The limitation of a credit (`services.kernel.limitation`): five years from the act's day (else
from the end of its reference year), started again by each payment made while it still runs (c.c.
artt. 2944-2945, 2963); the same rule in Python and, over rows, in SQL (`BARRED_ON`), compared on
the same cases in PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from services.kernel.limitation import (
    ACT_KINDS,
    Cutoffs,
    act_served,
    barred_after,
    barred_from,
    first_act_in_time,
    first_year_in_time,
    too_late,
)
from services.kernel.repository_limitation import BARRED_ON
from services.platform import Platform


def test_a_credit_without_an_act_day_is_time_barred_on_1_january_five_years_after_its_year() -> None:
    assert barred_from(2020, []) == date(2026, 1, 1)


def test_a_credit_runs_from_its_acts_day_when_the_file_gives_it() -> None:
    # A 2020 fine notified on 16 March 2022: not time-barred on 1 January 2026, but from 17 March 2027.
    assert barred_from(2020, [], date(2022, 3, 16)) == date(2027, 3, 17)
    # An IMU 2015 assessment served on 20 December 2020, within its five years.
    assert barred_from(2015, [], date(2020, 12, 20)) == date(2025, 12, 21)
    # A payment while that term runs starts it again; one before the act changes nothing.
    assert barred_from(2020, [date(2026, 6, 1)], date(2022, 3, 16)) == date(2031, 6, 2)
    assert barred_from(2020, [date(2021, 6, 1)], date(2022, 3, 16)) == date(2027, 3, 17)
    assert barred_from(2020, [date(2027, 3, 17)], date(2022, 3, 16)) == date(2027, 3, 17)


def test_the_first_act_in_time_is_where_the_terms_of_earlier_acts_ran_out() -> None:
    today = date(2023, 1, 1)
    while today < date(2030, 1, 1):
        first = first_act_in_time(today)
        assert barred_after(first) > today >= barred_after(first - timedelta(days=1)), today
        today += timedelta(days=1)
    # 29 February's term ends on 28 February, as that of 28 February does.
    assert first_act_in_time(date(2025, 3, 1)) == date(2020, 3, 1)


def test_the_first_year_in_time_is_where_the_terms_of_undated_credits_ran_out() -> None:
    for today in (date(2026, 12, 31), date(2027, 1, 1), date(2027, 6, 15)):
        first = first_year_in_time(today)
        assert barred_from(first, []) > today >= barred_from(first - 1, []), today
    assert first_year_in_time(date(2026, 12, 31)) == 2021
    assert Cutoffs.on(date(2027, 1, 1)) == Cutoffs(date(2022, 1, 1), 2022)


def test_a_term_ends_on_the_same_day_five_years_on_or_the_months_last() -> None:
    assert barred_after(date(2024, 3, 10)) == date(2029, 3, 11)
    assert barred_after(date(2024, 2, 29)) == date(2029, 3, 1)  # 28 February 2029 is the last day


def test_a_payment_while_the_term_runs_starts_it_again() -> None:
    # A 2019 act, time-barred from 1 January 2025; paid in part on 10 March 2024.
    assert barred_from(2019, [date(2024, 3, 10)]) == date(2029, 3, 11)
    # Again on 5 May 2028, before the new term ran out: from then.
    assert barred_from(2019, [date(2028, 5, 5), date(2024, 3, 10)]) == date(2033, 5, 6)
    # Paid in the act's own year: the term from the year's end is the later one.
    assert barred_from(2019, [date(2019, 6, 1)]) == date(2025, 1, 1)


def test_a_payment_after_the_term_ran_out_revives_nothing() -> None:
    assert barred_from(2019, [date(2025, 1, 1)]) == date(2025, 1, 1)
    assert barred_from(2019, [date(2024, 12, 31)]) == date(2030, 1, 1)
    # Each payment in time starts the term again from its own day; once it ran out, a later one
    # changes nothing, even one that a payment before the end would have kept in time.
    assert barred_from(2016, [date(2022, 1, 1), date(2021, 12, 31)]) == date(2027, 1, 2)
    assert barred_from(2015, [date(2021, 1, 2), date(2026, 6, 1)]) == date(2021, 1, 1)
    # What came too late is told apart (an act served then interrupts nothing).
    assert too_late(2015, [date(2021, 1, 2), date(2020, 6, 1), date(2026, 6, 1)]) == {date(2026, 6, 1)}
    assert too_late(2016, [date(2022, 1, 1), date(2021, 12, 31)]) == set()


def _cases(seed: int, count: int) -> list[tuple[int, int, date | None, list[date]]]:
    rng = random.Random(seed)
    cases = []
    for n in range(count):
        year = rng.randint(2012, 2024)
        start = date(year, 1, 1)
        act = None if n % 3 == 0 else start + timedelta(days=rng.randint(0, 365 * 6))
        act = date(2020, 2, 29) if n % 23 == 0 else act
        days = [
            start + timedelta(days=rng.randint(0, 365 * 14)) for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))
        ]
        days += [date(2024, 2, 29)] if n % 17 == 0 else []
        cases.append((n, year, act, days))
    return cases


async def _barred_in_sql(
    platform: Platform, rows: list[tuple[int, int, date | None, date | None]]
) -> dict[int, date]:
    """`BARRED_ON` over `rows` (position, year, act day, day paid or served)."""
    source = (
        "SELECT n AS position_id, year, act_on, paid_on FROM unnest(CAST(:ns AS int[]),"
        " CAST(:years AS int[]), CAST(:acts AS date[]), CAST(:days AS date[])) AS t(n, year, act_on, paid_on)"
    )
    params = {k: [r[i] for r in rows] for i, k in enumerate(("ns", "years", "acts", "days"))}
    async with platform.databases["contact"].engine.connect() as conn:
        return {r[0]: r[1] for r in await conn.execute(sa.text(BARRED_ON.format(rows=source)), params)}


@pytest.mark.asyncio
async def test_the_sql_form_gives_what_the_rule_gives(platform: Platform) -> None:
    cases = _cases(20261202, 600)
    rows = [(n, year, act, day) for n, year, act, days in cases for day in (days or [None])]
    found = await _barred_in_sql(platform, rows)
    assert found == {n: barred_from(year, days, act) for n, year, act, days in cases}


@pytest.mark.asyncio
async def test_the_sql_form_takes_the_acts_rows_beside_a_position_without_payments(
    platform: Platform,
) -> None:
    """A position without payments has one row with no day (its LEFT JOIN), and its interrupting
    acts come as more rows (`act_rows`, UNION ALL): the row without a day counts for nothing."""
    cases = _cases(20261203, 300)
    rows = [(n, year, act, day) for n, year, act, days in cases for day in [*days, None]]
    found = await _barred_in_sql(platform, rows)
    assert found == {n: barred_from(year, days, act) for n, year, act, days in cases}


def test_an_interrupting_act_is_said_with_its_participle_agreeing() -> None:
    assert act_served("sollecito", date(2024, 5, 10)) == "Sollecito di pagamento notificato il 10/05/2024"
    assert act_served("intimazione", date(2024, 6, 10)) == "Intimazione ad adempiere notificata il 10/06/2024"
    assert act_served("cartella", date(2024, 6, 10)).startswith("Cartella di pagamento notificata")
    assert set(ACT_KINDS) >= {"sollecito", "intimazione", "accertamento_esecutivo", "ingiunzione", "cartella"}
