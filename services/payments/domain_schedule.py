"""The schedule of an installment plan, cent-exact (L. 160/2019 c.796-802).

Monthly installments fall due on the last day of the month. The principal is split in equal parts,
the leftover cents on the last installment. Each installment carries the interest on the principal
still owed, for the days from the plan date (then from the previous due date) to its due date: each
day at the legal rate in force that day (art. 1284 c.c., a dated table; a day after the last known
rate takes the last known rate), or at the Comune's own rate; actual days over 365, rounded half-up
to the cent per installment. The first day of a period is not counted, its last day is.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.kernel.errors import DomainError

# Legal interest rate, percent a year, from the day given (DM MEF of each December): the seed of the
# table `payments.legal_rates` (migration 0009), where the platform administrator adds later ones;
# handlers pass that table as `rates`, this default serves the pure unit tests.
LEGAL_RATES: tuple[tuple[date, Decimal], ...] = (
    (date(2024, 1, 1), Decimal("2.50")),
    (date(2025, 1, 1), Decimal("2.00")),
    (date(2026, 1, 1), Decimal("1.60")),
)
DAYS_IN_YEAR = 365


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: date
    principal_cents: int
    interest_cents: int

    @property
    def amount_cents(self) -> int:
        return self.principal_cents + self.interest_cents


def month_end(day: date, months_after: int = 0) -> date:
    """The last day of the month `months_after` months after `day`'s."""
    index = day.year * 12 + day.month - 1 + months_after
    year, month = divmod(index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def due_dates(first_due: date, installments: int) -> list[date]:
    return [month_end(first_due, n) for n in range(installments)]


def principal_parts(amount_cents: int, installments: int) -> list[int]:
    """Equal parts; the cents left over go to the last one."""
    part = amount_cents // installments
    return [part] * (installments - 1) + [amount_cents - part * (installments - 1)]


def rate_days(start: date, end: date, rates: tuple[tuple[date, Decimal], ...]) -> Decimal:
    """Σ over the days of (start, end] of the rate in force that day (percent): rate × days."""
    if not rates or start + timedelta(days=1) < rates[0][0]:
        raise ValueError(f"no interest rate known for {start + timedelta(days=1)}")
    total = Decimal(0)
    for i, (since, rate) in enumerate(rates):
        until = rates[i + 1][0] - timedelta(days=1) if i + 1 < len(rates) else end
        first, last = max(start + timedelta(days=1), since), min(end, until)
        if last >= first:
            total += rate * ((last - first).days + 1)
    return total


def interest_cents(principal_cents: int, rate_x_days: Decimal) -> int:
    exact = Decimal(principal_cents) * rate_x_days / 100 / DAYS_IN_YEAR
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def check_dates(plan_date: date, first_due: date) -> None:
    if first_due <= plan_date:
        raise DomainError(
            f"La prima scadenza deve cadere dopo la data del piano ({plan_date:%d/%m/%Y}).",
            field="first_due_date",
        )
    if first_due != month_end(first_due):
        raise DomainError("Le rate scadono l'ultimo giorno del mese.", field="first_due_date")


# The first installment falls due at the latest on the last day of the third month after the
# plan's: the usual term of the regulations is the month after the grant; a date years ahead is a
# slip of the keyboard, not a plan.
FIRST_DUE_MONTHS = 3


def check_first_due(plan_date: date, first_due: date) -> None:
    """A first due date someone chose: `check_dates`, and no later than `FIRST_DUE_MONTHS` months
    after the plan's."""
    check_dates(plan_date, first_due)
    latest = month_end(plan_date, FIRST_DUE_MONTHS)
    if first_due > latest:
        raise DomainError(
            f"La prima rata deve scadere entro tre mesi dalla data del piano: al più tardi il {latest:%d/%m/%Y}.",
            field="first_due_date",
        )


def schedule(
    amount_cents: int,
    installments: int,
    plan_date: date,
    first_due: date,
    own_rate: Decimal | None = None,
    rates: tuple[tuple[date, Decimal], ...] = LEGAL_RATES,
) -> list[Installment]:
    """The installments of a plan of `amount_cents` principal; `own_rate` (percent a year) replaces
    the legal rate when the Comune's regulation sets one."""
    check_dates(plan_date, first_due)
    table = ((date.min, own_rate),) if own_rate is not None else rates
    residual, previous, plan = amount_cents, plan_date, []
    parts = principal_parts(amount_cents, installments)
    for number, (due, principal) in enumerate(zip(due_dates(first_due, installments), parts, strict=True), 1):
        interest = interest_cents(residual, rate_days(previous, due, table))
        plan.append(Installment(number, due, principal, interest))
        residual, previous = residual - principal, due
    return plan
