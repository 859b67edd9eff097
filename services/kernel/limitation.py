"""The limitation of a local revenue's credit as Riscossa reckons it: five years from the end of the
year of the act (the issue's rule for local revenues), started again by every payment on the
position made while the credit could still be enforced (c.c. art. 2944: a payment of part of a debt
acknowledges it; art. 2945: a new period of the same length runs from that day). A payment made
after the term ran out revives nothing (art. 2940 keeps it paid, no more). The Comune's own
interrupting acts (a notice served, c.c. art. 2943) are not known here, nor is an installment plan
counted by itself: the operator makes it on the phone, and the debtor's acknowledgement on record
is its first payment. The contact queue orders debtors by the nearness of this day and leaves the
time-barred out; the relazione di scarico and the debtor's file mark a position past it.

Terms count as c.c. art. 2963 says: the first day is not counted, the term ends at the end of the
day of the same number five years on (the month's last day when that month has no such day), and
the credit is time-barred from the next day. `barred_from` is the rule;
`repository_limitation.BARRED_ON` is the same over a set of rows in SQL, for the services that keep
it per debtor or aggregate it (a test runs both on the same cases)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta

LIMITATION_YEARS = 5


def barred_after(start: date) -> date:
    """The first day time-barred of a term that runs from the day after `start` (art. 2963)."""
    year = start.year + LIMITATION_YEARS
    day = min(start.day, calendar.monthrange(year, start.month)[1])
    return date(year, start.month, day) + timedelta(days=1)


def time_barred_from(act_year: int) -> date:
    """The first day a credit of an act of `act_year` is time-barred when nothing interrupted it:
    1 January, five years after the year following the act's."""
    return barred_after(date(act_year, 12, 31))


def barred_from(act_year: int, paid_on: Iterable[date]) -> date:
    """The first day a credit of an act of `act_year` is time-barred, counting the payments made on
    it on the days `paid_on`: each one made while it could still be enforced starts the term again
    from its day; once the term ran out, a later payment changes nothing."""
    barred = time_barred_from(act_year)
    for day in sorted(paid_on):
        if day >= barred:
            break
        barred = max(barred, barred_after(day))
    return barred


def interrupted(act_year: int, paid_on: Iterable[date]) -> bool:
    """Whether the payments on the days `paid_on` moved the credit's limitation past its act
    year's: exactly when one was made from 1 January after the act's year until the term ran out
    (one of the act's own year ends no later than the year's term; one after it revives nothing).
    `repository_limitation.INTERRUPTING` is this test in SQL, for one payment."""
    return barred_from(act_year, paid_on) > time_barred_from(act_year)


def newest_time_barred_year(today: date) -> int:
    """The newest act year whose credit, uninterrupted, is time-barred on `today`."""
    year = today.year - 1 - LIMITATION_YEARS
    return year if time_barred_from(year) <= today else year - 1
