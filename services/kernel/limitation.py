"""The limitation of a local revenue's credit as Riscossa reckons it: five years (c.c. art. 2948,
Cass. SU 23397/2016 for local taxes; L. 689/1981 art. 28 for fines) from the day of the act the
Comune's file names, its notification or, when the file gives none, its due day; a credit whose
file gives neither counts from the end of its reference year (the issue's rule). Every payment on
the position made while the credit could still be enforced starts the term again (c.c. art. 2944:
a payment of part of a debt acknowledges it; art. 2945: a new period of the same length runs from
that day). A payment made after the term ran out revives nothing (art. 2940 keeps it paid, no
more). The Comune's interrupting acts served after the file was sent (c.c. art. 2943: a reminder, a
formal demand, an injunction, an enforceable assessment) count the same way once the Ufficio
tributi records them (`ACT_KINDS`, reporting's `reporting.limitation_interrupted`): each one served
while the term ran starts it again from its day. An installment plan is not counted by itself: the
operator makes it on the phone, and the debtor's acknowledgement on record is its first payment.
The contact queue orders debtors by the nearness of this day and leaves the time-barred out; the portal lists what runs out next; the
relazione di scarico and the debtor's file mark a position past it; ingest flags a row whose act is
already past it.

Terms count as c.c. art. 2963 says: the first day is not counted, the term ends at the end of the
day of the same number five years on (the month's last day when that month has no such day), and
the credit is time-barred from the next day. `barred_from` is the rule;
`repository_limitation.BARRED_ON` is the same over a set of rows in SQL, for the services that keep
it per debtor or aggregate it (a test runs both on the same cases)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

LIMITATION_YEARS = 5
# The Comune's acts that interrupt the limitation when served on the debtor (c.c. art. 2943), as
# the Ufficio tributi names them when it records one.
ACT_KINDS = {
    "sollecito": "Sollecito di pagamento",
    "intimazione": "Intimazione ad adempiere",
    "accertamento_esecutivo": "Avviso di accertamento esecutivo (L. 160/2019, c. 792)",
    "ingiunzione": "Ingiunzione fiscale (R.D. 639/1910)",
    "cartella": "Cartella di pagamento",
    "altro": "Altro atto notificato al contribuente",
}
_FEMININE_ACTS = frozenset({"intimazione", "ingiunzione", "cartella"})


def act_served(kind: str, day: date) -> str:
    """«Intimazione ad adempiere notificata il 10/06/2024», the participle agreeing with the act."""
    served = "notificata" if kind in _FEMININE_ACTS else "notificato"
    return f"{ACT_KINDS.get(kind, kind)} {served} il {day:%d/%m/%Y}"


def barred_after(start: date) -> date:
    """The first day time-barred of a term that runs from the day after `start` (art. 2963)."""
    year = start.year + LIMITATION_YEARS
    day = min(start.day, calendar.monthrange(year, start.month)[1])
    return date(year, start.month, day) + timedelta(days=1)


def term_start(year: int, act_on: date | None) -> date:
    """The day the term first runs from: the act's day when the file gives it, else the last day
    of the reference year."""
    return act_on if act_on is not None else date(year, 12, 31)


def barred_from(year: int, paid_on: Iterable[date], act_on: date | None = None) -> date:
    """The first day a credit of reference year `year` and act of `act_on` (None: not known) is
    time-barred, counting the payments made on it and the interrupting acts served for it on the
    days `paid_on`: each one while it could still be enforced starts the term again from its day;
    once the term ran out, a later one changes nothing."""
    return _walk(year, paid_on, act_on)[0]


def too_late(year: int, paid_on: Iterable[date], act_on: date | None = None) -> set[date]:
    """The days among `paid_on` that came when the credit was already time-barred (`barred_from`):
    what was paid or served on them started nothing again."""
    return _walk(year, paid_on, act_on)[1]


def _walk(year: int, days: Iterable[date], act_on: date | None) -> tuple[date, set[date]]:
    """The rule's one walk over the days, in order: the first day time-barred, and the days late."""
    barred, late = barred_after(term_start(year, act_on)), set()
    for day in sorted(days):
        if day >= barred:
            late.add(day)
        else:
            barred = max(barred, barred_after(day))
    return barred, late


def first_act_in_time(today: date) -> date:
    """The first act day whose credit, uninterrupted, is not yet time-barred on `today`: every act
    of an earlier day is (`barred_after(act) <= today` exactly for `act` before it)."""
    day = date(today.year - LIMITATION_YEARS, today.month, 1) + timedelta(days=today.day - 1 - 3)
    while barred_after(day) <= today:
        day += timedelta(days=1)
    return day


def first_year_in_time(today: date) -> int:
    """The first reference year whose credit without an act day, uninterrupted, is not yet
    time-barred on `today` (`barred_from(year, []) <= today` exactly for the years before it)."""
    return today.year - LIMITATION_YEARS


@dataclass(frozen=True)
class Cutoffs:
    """What is time-barred on a day when nothing interrupted it: an act of a day before
    `first_act`; a credit without an act day of a reference year before `first_year`."""

    first_act: date
    first_year: int

    @classmethod
    def on(cls, today: date) -> Cutoffs:
        return cls(first_act_in_time(today), first_year_in_time(today))
