"""An operator's work list, set per Comune by its supervisors: which debtors of the pool the queue
offers that operator (revenue types, the years of the acts, a band of what the debtor owes). Pure.

A debtor is in a list when it has an open position (what was paid on it is less than its amount)
of one of the list's revenue types with its year within the list's years, and when what it still
owes in all (`total_due_cents`, every revenue type) is within the band, bounds included. A list
without revenue types takes every type; without years, every year; without a bound, no bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.contracts import REVENUE_TYPES
from services.kernel.errors import Conflict, DomainError, Problems
from services.kernel.money import format_euro, parse_euro

# Ingest registers acts from 2000 on; far in the future is a typing mistake.
FIRST_YEAR, LAST_YEAR = 2000, 2100
FIELDS = ("tributi", "anno_da", "anno_a", "importo_min", "importo_max")


@dataclass(frozen=True)
class WorkList:
    revenue_types: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    min_cents: int | None = None
    max_cents: int | None = None

    @property
    def reads_positions(self) -> bool:
        """Whether the list says anything of the debtor's positions (not only of the amount)."""
        return bool(self.revenue_types) or self.year_from is not None or self.year_to is not None


def check_list(
    revenue_types: Iterable[str], year_from: str, year_to: str, min_raw: str, max_raw: str
) -> WorkList:
    """A work list as the supervisor typed it; refused in Italian at every field at fault."""
    found = Problems()
    kinds = [kind.strip().upper() for kind in revenue_types if kind.strip()]
    unknown = [kind for kind in kinds if kind not in REVENUE_TYPES]
    if unknown:
        found.add("tributi", f"Tributo sconosciuto: «{unknown[0]}».")
    first, last = found.check(None, _year, year_from, "anno_da"), found.check(None, _year, year_to, "anno_a")
    if first is not None and last is not None and first > last:
        found.add("anno_a", "L'anno finale non può precedere quello iniziale.")
    low = found.check(None, _amount, min_raw, "importo_min")
    high = found.check(None, _amount, max_raw, "importo_max")
    if low is not None and high is not None and low > high:
        found.add("importo_max", "L'importo massimo non può essere minore di quello minimo.")
    found.raise_any()
    chosen = tuple(kind for kind in REVENUE_TYPES if kind in kinds)
    work_list = WorkList(chosen, first, last, low, high)
    if work_list == WorkList():
        raise DomainError(
            "Indica almeno un tributo, un anno o un importo (per togliere la lista usa «Togli la lista»).",
            field="tributi",
        )
    return work_list


def _year(raw: str, field: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise DomainError(f"Anno non valido: indica un anno dal {FIRST_YEAR} al {LAST_YEAR}.", field=field)
    return int(text)


def _amount(raw: str, field: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if text.startswith("-"):
        raise DomainError("L'importo non può essere negativo.", field=field)
    return parse_euro(text, field)


def describe(work_list: WorkList) -> str:
    """The list in words: «TARI, anni 2019–2021, dovuto da € 100,00 a € 5.000,00»."""
    parts = [" o ".join(work_list.revenue_types) if work_list.revenue_types else "tutti i tributi"]
    first, last = work_list.year_from, work_list.year_to
    if first is not None and first == last:
        parts.append(f"anno {first}")
    elif first is not None and last is not None:
        parts.append(f"anni {first}–{last}")
    elif first is not None:
        parts.append(f"anni dal {first}")
    elif last is not None:
        parts.append(f"anni fino al {last}")
    low, high = work_list.min_cents, work_list.max_cents
    if low is not None and high is not None:
        parts.append(f"dovuto da {format_euro(low)} a {format_euro(high)}")
    elif low is not None:
        parts.append(f"dovuto almeno {format_euro(low)}")
    elif high is not None:
        parts.append(f"dovuto fino a {format_euro(high)}")
    return ", ".join(parts)


def form_values(work_list: WorkList | None) -> dict[str, str]:
    """The list as the editor's fields show it (empty fields without a list)."""
    if work_list is None:
        return dict.fromkeys(FIELDS[1:], "")
    return {
        "anno_da": str(work_list.year_from or ""),
        "anno_a": str(work_list.year_to or ""),
        "importo_min": _typed(work_list.min_cents),
        "importo_max": _typed(work_list.max_cents),
    }


def _typed(cents: int | None) -> str:
    """Cents as the supervisor would type them back: «1.234,56» (without the euro sign)."""
    return format_euro(cents).removeprefix("€ ") if cents is not None else ""


# ------------------------------------------------------------ a card held by another operator


def held_by_other(
    holder: tuple[str | None, str | None, datetime | None], user_id: str, now: datetime
) -> str | None:
    """Who (by name) works the debtor now when it is another operator than `user_id` (`holder`:
    id, name, lock's end); None when nobody else does."""
    assigned_to, holder_name, locked_until = holder
    if assigned_to not in (None, user_id) and locked_until is not None and locked_until > now:
        return holder_name or "un altro operatore"
    return None


def check_can_record(
    holder: tuple[str | None, str | None, datetime | None], user_id: str, now: datetime, supervisor: bool
) -> None:
    """An operator may not record on a debtor another operator (`holder`: id, name, lock's end) is
    working now, one a supervisor handed the card to mid-call, say: the refusal names them."""
    who = held_by_other(holder, user_id, now)
    if who is not None and not supervisor:
        raise Conflict(
            f"Questo debitore è ora in lavorazione a {who} (un supervisore può aver affidato la scheda a un"
            f" collega): il tuo esito non è stato registrato. Riferiscilo a {who} o al supervisore."
        )
