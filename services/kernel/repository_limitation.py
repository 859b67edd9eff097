"""The limitation's rule of `kernel.limitation` in SQL, for the services that keep it per debtor
or aggregate it over many positions (`tests/kernel/test_limitation.py` runs both forms on the same
cases)."""

from __future__ import annotations

from services.kernel.limitation import LIMITATION_YEARS

# `barred_from` over rows: from `{rows}`, a query of (position_id, year, act_on, paid_on), one row
# per payment of a position (paid_on null for a position without one; act_on null when the file
# gave no act day), each position's first time-barred day as (position_id, barred_on). A payment
# counts while every one before it did (`ok`: the term was still running on its day); PostgreSQL's
# `+ interval '5 years'` gives 28 February for 29 February, as art. 2963 does.


def _after(day: str) -> str:
    return f"(({day} + interval '{LIMITATION_YEARS} years')::date + 1)"


_FIRST_BARRED = _after("coalesce(act_on, make_date(year, 12, 31))")

BARRED_ON = f"""
SELECT position_id, greatest({_FIRST_BARRED}, max({_after("paid_on")}) FILTER (WHERE ok)) AS barred_on
FROM (
    SELECT position_id, year, act_on, paid_on,
           bool_and(paid_on < greatest({_FIRST_BARRED}, {_after("before")}))
               OVER (PARTITION BY position_id ORDER BY paid_on ROWS UNBOUNDED PRECEDING) AS ok
    FROM (
        SELECT position_id, year, act_on, paid_on,
               lag(paid_on) OVER (PARTITION BY position_id ORDER BY paid_on) AS before
        FROM ({{rows}}) AS paid
    ) AS ordered
) AS judged
GROUP BY position_id, year, act_on
"""
