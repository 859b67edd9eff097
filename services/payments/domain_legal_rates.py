"""The legal interest rate table (art. 1284 c.c.): reading a rate typed as Italians write it and
checking a new rate before it is added. Pure: no I/O.

The table is national (a MEF decree each December) and kept in `payments.legal_rates`; the schedule
takes it as a tuple of (valid_from, percent a year) sorted by date (`domain_schedule.schedule`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.kernel.errors import DomainError, Problems

RateTable = tuple[tuple[date, Decimal], ...]
MAX_RATE = Decimal(20)
# "1,60", "1.6", "2", "0,125": at most two integer digits and three decimals; the % sign optional.
_RATE = re.compile(r"(\d{1,2})(?:[.,](\d{1,3}))?")


@dataclass(frozen=True)
class NewRate:
    valid_from: date
    rate: Decimal
    decree: str


def table_of(rows: Iterable[tuple[date, Decimal]]) -> RateTable:
    """The (valid_from, rate) pairs sorted by date, as `schedule` takes them."""
    return tuple(sorted((day, Decimal(rate)) for day, rate in rows))


def parse_rate(raw: str) -> Decimal:
    """A rate in percent typed as "1,60" (or "1.60", "1,6 %"): from 0 to 20, at most three decimals."""
    text = raw.strip().removesuffix("%").strip()
    match = _RATE.fullmatch(text)
    rate = Decimal(f"{match[1]}.{match[2] or '0'}") if match else None
    if rate is None or rate > MAX_RATE:
        raise DomainError(
            "Tasso non valido: indica una percentuale da 0 a 20, con al massimo tre decimali (es. 1,60).",
            field="rate",
        )
    return rate


def parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise DomainError("Indica la data da cui vale il tasso.", field="valid_from") from None


def read_new_rate(fields: Mapping[str, str], today: date, known: Iterable[date]) -> NewRate:
    """The form's rate (`valid_from` ISO, `rate`, `decree`), every field at fault named at once
    (`FieldErrors`), by the rules of `check_new_rate`."""
    found = Problems()
    day = found.check(None, parse_day, fields.get("valid_from", ""))
    rate = found.check(None, parse_rate, fields.get("rate", ""))
    new = NewRate(day or today, Decimal(0) if rate is None else rate, fields.get("decree", ""))
    if day is not None:
        found.check(None, _check_day, new, today, known)
    found.check(None, _check_decree, new)
    found.raise_any()
    return new


def check_new_rate(new: NewRate, today: date, known: Iterable[date]) -> None:
    """A rate is added from today or a later day (plans already made used the rates of the days
    before), on a day that has no rate yet, with the decree that set it."""
    _check_day(new, today, known)
    _check_decree(new)
    if not Decimal(0) <= new.rate <= MAX_RATE:
        raise DomainError("Tasso non valido: indica una percentuale da 0 a 20.", field="rate")


def _check_day(new: NewRate, today: date, known: Iterable[date]) -> None:
    if new.valid_from < today:
        raise DomainError(
            "Il tasso vale da oggi o da una data futura: i piani già concessi hanno usato i tassi "
            "dei giorni passati.",
            field="valid_from",
        )
    # The decree fixing a year's rate comes out in December: a rate is entered at most a year
    # ahead (1 January 2099 is a slip, and would stand unnoticed until then).
    latest = date(today.year + 1, 12, 31)
    if new.valid_from > latest:
        raise DomainError(
            f"Il tasso si inserisce quando il decreto è uscito: al più tardi dal {latest:%d/%m/%Y}.",
            field="valid_from",
        )
    if new.valid_from in set(known):
        raise DomainError(
            f"Esiste già un tasso dal {new.valid_from.strftime('%d/%m/%Y')}: il tasso di un giorno "
            "non si modifica.",
            field="valid_from",
        )


def _check_decree(new: NewRate) -> None:
    if not new.decree.strip():
        raise DomainError("Indica il decreto che fissa il tasso (es. D.M. 10/12/2025).", field="decree")
    if len(new.decree) > 200:
        raise DomainError(
            "Il riferimento al decreto è troppo lungo (al massimo 200 caratteri).", field="decree"
        )


def rate_text(rate: Decimal) -> str:
    """A rate as Italians write it, two decimals at least: 1.600 -> "1,60"; 0.125 -> "0,125"."""
    shown = rate.quantize(Decimal("0.01")) if rate == rate.quantize(Decimal("0.01")) else rate.normalize()
    return format(shown, "f").replace(".", ",")
