"""Italy's national holidays and working days, one source for every service: the contact calling
rules (no calls on a holiday), the monthly rendiconto (due from the month's first working day),
the due dates of a plan's installments (a payment due on a Saturday, a Sunday or a holiday may be
made on the next working day: D.L. 70/2011 art. 7 c.2 lett. l for taxes and sums due to the
administration, c.c. art. 2963 c.3). The `holidays` package, in Italian; a Comune's patron
saint's day is the Comune's own setting, not here."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def national_holidays(year: int) -> holidays.HolidayBase:
    """The national holidays of `year` (Easter Monday included), named in Italian."""
    found: holidays.HolidayBase = holidays.country_holidays("IT", years=year, language="it_IT")
    return found


def is_working_day(day: date) -> bool:
    """Monday to Friday, not a national holiday."""
    return day.weekday() < 5 and day not in national_holidays(day.year)


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
