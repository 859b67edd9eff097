"""The limitation of a credit (`services.kernel.limitation`): five years from the end of the act's
year, started again by each payment made while it still runs (c.c. artt. 2944-2945, 2963); the same
rule in Python and, over rows, in SQL (`BARRED_ON`), compared on the same cases in PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from services.kernel.limitation import barred_after, barred_from, interrupted, time_barred_from
from services.kernel.repository_limitation import BARRED_ON, INTERRUPTING
from services.platform import Platform


def test_an_act_is_time_barred_on_1_january_five_years_after_its_year() -> None:
    assert time_barred_from(2020) == date(2026, 1, 1)
    assert barred_from(2020, []) == date(2026, 1, 1)


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


def _cases(seed: int, count: int) -> list[tuple[int, int, list[date]]]:
    rng = random.Random(seed)
    cases = []
    for n in range(count):
        year = rng.randint(2012, 2024)
        start = date(year, 1, 1)
        days = [
            start + timedelta(days=rng.randint(0, 365 * 14)) for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))
        ]
        days += [date(2024, 2, 29)] if n % 17 == 0 else []
        cases.append((n, year, days))
    return cases


@pytest.mark.asyncio
async def test_the_sql_form_gives_what_the_rule_gives(platform: Platform) -> None:
    cases = _cases(20261202, 600)
    rows = [(n, year, day) for n, year, days in cases for day in days or [None]]
    source = (
        "SELECT n AS position_id, year, paid_on FROM unnest(CAST(:ns AS int[]), CAST(:years AS int[]),"
        " CAST(:days AS date[])) AS t(n, year, paid_on)"
    )
    params = {"ns": [r[0] for r in rows], "years": [r[1] for r in rows], "days": [r[2] for r in rows]}
    async with platform.databases["contact"].engine.connect() as conn:
        found = {r[0]: r[1] for r in await conn.execute(sa.text(BARRED_ON.format(rows=source)), params)}
    assert found == {n: barred_from(year, days) for n, year, days in cases}


def test_a_credit_is_interrupted_exactly_by_a_payment_between_its_years_end_and_its_term() -> None:
    for _, year, days in _cases(7, 2_000):
        one = [date(year + 1, 1, 1) <= d < time_barred_from(year) for d in days]
        assert interrupted(year, days) is any(one), (year, days)


@pytest.mark.asyncio
async def test_the_sql_test_of_one_payment_gives_what_the_rule_gives(platform: Platform) -> None:
    cases = [(n, year, day) for n, year, days in _cases(11, 400) for day in days]
    sql = f"SELECT n, {INTERRUPTING.format(paid_on='day', year='year')} FROM unnest(CAST(:ns AS int[]),"
    sql += " CAST(:years AS int[]), CAST(:days AS date[])) AS t(n, year, day)"
    params = {"ns": [c[0] for c in cases], "years": [c[1] for c in cases], "days": [c[2] for c in cases]}
    async with platform.databases["contact"].engine.connect() as conn:
        rows = list(await conn.execute(sa.text(sql), params))
    assert len(rows) == len(cases)
    for (n, year, day), (m, found) in zip(cases, rows, strict=True):
        assert (m, found) == (n, interrupted(year, [day])), (year, day)
