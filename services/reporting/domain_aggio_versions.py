"""The aggio contract's versions (no I/O).

A contract is often amended during a mandate (an «atto aggiuntivo»: new rates from a month on). Each
version is a whole `Contract` from its start date until the next version's; a month is invoiced with
the version in force on its first day, so the rendiconti already sent, the dashboard and the
relazione di scarico keep the rates of their own months. The first version may start on any day (a
mandate begins when it begins); a later one starts on a month's first day, since the aggio is
computed month by month (its bands are monthly).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.kernel.errors import DomainError
from services.kernel.formats import format_day
from services.reporting.domain_aggio import AggioResult, Base, Contract, TypeLine


@dataclass(frozen=True)
class Versions:
    """A Comune's contract versions, the first first (never empty)."""

    contracts: tuple[Contract, ...]

    def __post_init__(self) -> None:
        starts = [c.start_date for c in self.contracts]
        if not starts or starts != sorted(set(starts)):
            raise ValueError("versions must be non-empty and ordered by distinct start dates")

    @property
    def first(self) -> Contract:
        return self.contracts[0]

    @property
    def latest(self) -> Contract:
        return self.contracts[-1]

    def in_force(self, day: date) -> Contract:
        """The version in force on `day` (the first one for a day before the contract began)."""
        found = self.contracts[0]
        for contract in self.contracts[1:]:
            if contract.start_date <= day:
                found = contract
        return found

    def spans(self, start: date, end: date) -> list[tuple[Contract, date, date]]:
        """The parts of [start, end] each version governs, in order (the first version also
        governs what comes before it)."""
        parts = []
        for i, contract in enumerate(self.contracts):
            begin = start if i == 0 else max(start, contract.start_date)
            following = self.contracts[i + 1].start_date if i + 1 < len(self.contracts) else None
            until = end if following is None else min(end, following - timedelta(days=1))
            if begin <= until:
                parts.append((contract, begin, until))
        return parts


def place(versions: tuple[Contract, ...], replacing: date | None, contract: Contract) -> Versions:
    """The versions once `contract` is saved, in place of the version that started on `replacing`
    (None: as a new version). Refused, naming the start date: a version that no longer exists, two
    versions from one day, a later version not starting on a month's first day."""
    kept = tuple(c for c in versions if c.start_date != replacing)
    if replacing is not None and len(kept) == len(versions):
        raise DomainError(
            f"La versione del contratto in vigore dal {format_day(replacing)} non esiste più: ricarica la pagina.",
            field="start_date",
        )
    if any(c.start_date == contract.start_date for c in kept):
        raise DomainError(
            f"Esiste già una versione del contratto in vigore dal {format_day(contract.start_date)}: "
            "modifica quella, oppure indica un'altra data.",
            field="start_date",
        )
    if replacing is None and kept and contract.start_date < kept[0].start_date:
        raise DomainError(
            f"Una nuova versione non può decorrere prima dell'inizio del contratto ({format_day(kept[0].start_date)}): "
            "per anticipare l'inizio, modifica la prima versione.",
            field="start_date",
        )
    history = tuple(sorted((*kept, contract), key=lambda c: c.start_date))
    for later in history[1:]:
        if later.start_date.day != 1:
            raise DomainError(
                f"Una versione successiva alla prima decorre dal primo giorno di un mese (l'aggio si "
                f"calcola mese per mese): il {format_day(later.start_date)} non lo è.",
                field="start_date",
            )
    return Versions(history)


def without(versions: tuple[Contract, ...], start: date) -> Versions:
    """The versions once a later one (an amendment entered by mistake), which started on `start`,
    is removed: its months go back to the version before it. The first version is corrected, never
    removed (the contract's start would move)."""
    kept = tuple(c for c in versions if c.start_date != start)
    if len(kept) == len(versions):
        raise DomainError(
            f"La versione del contratto in vigore dal {format_day(start)} non esiste più: ricarica la pagina.",
            field="version",
        )
    if versions[0].start_date == start:
        raise DomainError(
            "La prima versione del contratto non si elimina (l'inizio del contratto si sposterebbe): "
            "correggila con «Modifica».",
            field="version",
        )
    return Versions(kept)


def combine(results: list[AggioResult], vat_rate_bp: int) -> AggioResult:
    """Periods added up (months, or the parts of a period under different versions): per revenue
    type, and VAT as each period rounded it. `vat_rate_bp` is the rate the total is shown with."""
    by_type: dict[str, tuple[Base, int, str]] = {}
    for result in results:
        for line in result.lines:
            base, cents, table = by_type.get(line.revenue_type, (Base(), 0, line.table))
            by_type[line.revenue_type] = (_add(base, line.base), cents + line.aggio_cents, table)
    lines = tuple(TypeLine(t, base, cents, table) for t, (base, cents, table) in sorted(by_type.items()))
    totals = Base()
    for result in results:
        totals = _add(totals, result.totals)
    return AggioResult(lines, vat_rate_bp, sum(r.vat_cents for r in results), totals)


def vat_bp(contract: Contract) -> int:
    return contract.vat_rate_bp if contract.vat_applies else 0


def shown_vat(applied: list[Contract], otherwise: Contract) -> int:
    """The VAT rate periods added up are shown with: the highest of the versions applied (a VAT
    charged in some months is not called «non applicata»); `otherwise`'s when none applied."""
    return max((vat_bp(c) for c in applied), default=vat_bp(otherwise))


def _add(a: Base, b: Base) -> Base:
    return Base(
        a.collected_cents + b.collected_cents,
        a.refunded_cents + b.refunded_cents,
        a.revoked_cents + b.revoked_cents,
    )
