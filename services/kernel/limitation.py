"""The limitation of a local revenue's credit as Riscossa reckons it: five years, from the end of
the year of the act (the issue's rule for local revenues; interruptions such as a notice served, a
payment or an acknowledgement, c.c. artt. 2943-2944, are not known here and are not modelled). The
contact queue orders debtors by its nearness; the relazione di scarico marks a position past it."""

from __future__ import annotations

from datetime import date

LIMITATION_YEARS = 5


def time_barred_from(act_year: int) -> date:
    """The first day a credit of an act of `act_year` is time-barred: 1 January, five years after
    the year following the act's."""
    return date(act_year + 1 + LIMITATION_YEARS, 1, 1)


def newest_time_barred_year(today: date) -> int:
    """The newest act year whose credit is time-barred on `today` (`time_barred_from` decides):
    a credit of this year or an older one can no longer be enforced; SQL compares with it."""
    year = today.year - 1 - LIMITATION_YEARS
    return year if time_barred_from(year) <= today else year - 1
