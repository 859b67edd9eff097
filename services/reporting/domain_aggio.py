"""The aggio contract and its arithmetic (no I/O).

A Comune's contract names its rates in a table of rows: each row is a band of the collected amount
(`from_cents` inclusive, `to_cents` exclusive, None = no upper limit) with a rate in basis points
(1850 = 18,50%), for one revenue type or for every type not named (`ALL_TYPES`). One row for
`ALL_TYPES` from 0 with no limit is a flat rate; one row per type is a rate by revenue type; several
rows of a type are bands ("scaglioni"); both together are bands by type.

Bands are MARGINAL, like tax brackets: each band's rate applies only to the part of the base that
falls inside it (a base of 15.000 € with 10% up to 10.000 and 5% beyond gives 1.000 + 250). The
base the bands are applied to is the period's: a type's net collected for a table of its own, the
sum of the net collected of every type not named for the `ALL_TYPES` table. The rendiconto's period
is a month, so the bands are monthly.

The base is what was actually collected: payments of the period not revoked, minus refunds of the
period. A negative base (refunds above the month's collections) gives a negative aggio at the first
band's rate: a credit to the Comune.

Rounding, once: each table's aggio exactly (Decimal), rounded half-up to the cent; a table shared
by several types splits it in proportion to their base (largest remainders: the lines add up to
it). VAT on the total aggio, rounded half-up to the cent. The invoice basis is aggio plus VAT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from itertools import pairwise

from services.kernel.errors import DomainError, Problems
from services.kernel.money import format_euro, parse_euro
from services.kernel.working_days import next_working_day

ALL_TYPES = "*"
BASIS_POINTS = 10_000
DEFAULT_VAT_BP = 2_200
MAX_ROWS = 20
EARLIEST_START = date(2000, 1, 1)
ONE = Decimal(1)


@dataclass(frozen=True)
class Band:
    revenue_type: str
    from_cents: int
    to_cents: int | None
    rate_bp: int


@dataclass(frozen=True)
class Contract:
    reference: str
    start_date: date
    bands: tuple[Band, ...]
    vat_applies: bool
    vat_rate_bp: int = DEFAULT_VAT_BP

    @property
    def basis(self) -> str:
        """flat | by_type | bands | by_type_bands."""
        by_type = any(b.revenue_type != ALL_TYPES for b in self.bands)
        banded = any(b.to_cents is not None for b in self.bands)
        return {(False, False): "flat", (True, False): "by_type", (False, True): "bands"}.get(
            (by_type, banded), "by_type_bands"
        )

    def table(self, revenue_type: str) -> tuple[Band, ...]:
        return tuple(b for b in self.bands if b.revenue_type == revenue_type)

    @property
    def terms(self) -> str:
        """How the aggio is computed, in a word: its rate when flat («18,50%»), else its basis."""
        return format_percent(self.bands[0].rate_bp) if self.basis == "flat" else BASIS_LABELS[self.basis]


BASIS_LABELS = {
    "flat": "Aliquota unica",
    "by_type": "Aliquota per tipo di entrata",
    "bands": "A scaglioni di riscosso (marginali)",
    "by_type_bands": "Per tipo di entrata, a scaglioni di riscosso (marginali)",
}


@dataclass(frozen=True)
class Base:
    """What one revenue type collected in the period, in cents."""

    collected_cents: int = 0
    refunded_cents: int = 0
    revoked_cents: int = 0

    @property
    def taxable_cents(self) -> int:
        return self.collected_cents - self.refunded_cents


@dataclass(frozen=True)
class TypeLine:
    revenue_type: str
    base: Base
    aggio_cents: int
    table: str  # the table applied: the type's own, or ALL_TYPES


@dataclass(frozen=True)
class AggioResult:
    lines: tuple[TypeLine, ...]
    vat_rate_bp: int
    vat_cents: int
    totals: Base = field(default_factory=Base)

    @property
    def aggio_cents(self) -> int:
        return sum(line.aggio_cents for line in self.lines)

    @property
    def invoice_cents(self) -> int:
        return self.aggio_cents + self.vat_cents


# --- arithmetic ------------------------------------------------------------------------------


def round_cents(value: Decimal) -> int:
    """Half-up to the cent (away from zero on .5, the usual reading for invoices)."""
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


def exact_aggio(base_cents: int, table: tuple[Band, ...]) -> Decimal:
    """Marginal bands: each band's rate on the part of the base inside it, exactly (cents)."""
    if base_cents < 0:
        return Decimal(base_cents) * table[0].rate_bp / BASIS_POINTS
    total = Decimal(0)
    for band in table:
        top = base_cents if band.to_cents is None else min(base_cents, band.to_cents)
        if top > band.from_cents:
            total += Decimal(top - band.from_cents) * band.rate_bp / BASIS_POINTS
    return total


def _split(amount: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split `amount` cents in proportion to `weights` by largest remainders (shares add up)."""
    whole = sum(weights.values())
    if whole == 0:
        return {name: (amount if i == 0 else 0) for i, name in enumerate(weights)}
    exact = {name: Decimal(amount) * w / whole for name, w in weights.items()}
    shares = {name: int(v.to_integral_value(rounding=ROUND_FLOOR)) for name, v in exact.items()}
    left = amount - sum(shares.values())
    for name in sorted(exact, key=lambda n: (shares[n] - exact[n], n))[:left]:
        shares[name] += 1
    return shares


def compute(contract: Contract, bases: Mapping[str, Base]) -> AggioResult:
    """The aggio of every revenue type with a base in the period, VAT and totals."""
    own = {t for t in bases if contract.table(t)}
    pooled = sorted(t for t in bases if t not in own)
    aggio: dict[str, int] = {
        t: round_cents(exact_aggio(bases[t].taxable_cents, contract.table(t))) for t in own
    }
    if pooled:
        shared = contract.table(ALL_TYPES)
        if not shared:
            raise DomainError(
                f"Il contratto non prevede un'aliquota per: {', '.join(pooled)}.", field="bands"
            )
        pool_base = sum(bases[t].taxable_cents for t in pooled)
        pool_aggio = round_cents(exact_aggio(pool_base, shared))
        aggio.update(_split(pool_aggio, {t: bases[t].taxable_cents for t in pooled}))
    lines = tuple(TypeLine(t, bases[t], aggio[t], t if t in own else ALL_TYPES) for t in sorted(bases))
    total_aggio = sum(aggio.values())
    vat_bp = contract.vat_rate_bp if contract.vat_applies else 0
    vat = round_cents(Decimal(total_aggio) * vat_bp / BASIS_POINTS)
    totals = Base(
        sum(b.collected_cents for b in bases.values()),
        sum(b.refunded_cents for b in bases.values()),
        sum(b.revoked_cents for b in bases.values()),
    )
    return AggioResult(lines, vat_bp, vat, totals)


# --- validation --------------------------------------------------------------------------------


def check_table(revenue_type: str, table: list[tuple[int, Band]]) -> None:
    """A type's bands, in the order typed (row numbers for the messages): from 0, no gap, no
    overlap, the last without a limit."""
    name = "tutte le entrate" if revenue_type == ALL_TYPES else revenue_type
    ordered = sorted(table, key=lambda rb: rb[1].from_cents)
    first_row, first = ordered[0]
    if first.from_cents != 0:
        raise DomainError(f"Le fasce di {name} devono partire da € 0,00.", field=f"row-{first_row}-from")
    for (row, band), (next_row, following) in pairwise(ordered):
        if band.to_cents is None or following.from_cents < band.to_cents:
            raise DomainError(
                f"Le fasce di {name} si sovrappongono (righe {row} e {next_row}).",
                field=f"row-{next_row}-from",
            )
        if following.from_cents > band.to_cents:
            raise DomainError(
                f"Tra le fasce di {name} c'è un buco da {format_euro(band.to_cents)} a "
                f"{format_euro(following.from_cents)} (righe {row} e {next_row}): ogni fascia parte "
                "dall'importo «fino a» della precedente, che ne è escluso.",
                field=f"row-{next_row}-from",
            )
    last_row, last = ordered[-1]
    if last.to_cents is not None:
        raise DomainError(
            f"L'ultima fascia di {name} deve restare senza limite superiore (lascia vuoto «fino a»).",
            field=f"row-{last_row}-to",
        )


def check_bands(rows: list[tuple[int, Band]], revenue_types: Iterable[str]) -> tuple[Band, ...]:
    """Every table valid, every revenue type covered (by its own table or by the shared one)."""
    if not rows:
        raise DomainError("Indica almeno un'aliquota.", field="row-1-rate")
    known = tuple(revenue_types)
    tables: dict[str, list[tuple[int, Band]]] = {}
    for row, band in rows:
        tables.setdefault(band.revenue_type, []).append((row, band))
    for revenue_type, table in tables.items():
        check_table(revenue_type, table)
    missing = [t for t in known if t not in tables]
    if missing and ALL_TYPES not in tables:
        raise DomainError(
            f"Nessuna aliquota per: {', '.join(missing)}. Aggiungi le loro righe o una riga «Tutte le altre entrate».",
            field="row-1-type",
        )
    return tuple(band for _, band in sorted(rows, key=lambda rb: (rb[1].revenue_type, rb[1].from_cents)))


# --- parsing what the platform admin typed ---------------------------------------------------------


def parse_percent(raw: str, field_name: str) -> int:
    """ "18,5", "18.50 %", "0" -> basis points; from 0 to 100 with at most two decimals."""
    text = raw.strip().replace(" ", "").removesuffix("%").replace(",", ".")
    try:
        value = Decimal(text) if text else Decimal("NaN")
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or abs(value) > 1000 or value != value.quantize(Decimal("0.01")):
        raise DomainError("Indica un'aliquota in percentuale con al massimo due decimali.", field=field_name)
    if not 0 <= value <= 100:
        raise DomainError("L'aliquota deve essere tra 0% e 100%.", field=field_name)
    return int(value * 100)


def _amount(raw: str, field_name: str, zero_ok: bool) -> int:
    text = raw.strip()
    if zero_ok and text.replace(",", "").replace(".", "").strip("0€ ") == "":
        return 0
    return parse_euro(text, field_name, "Indica l'importo.")


def parse_row(row: int, fields: Mapping[str, str], revenue_types: Iterable[str]) -> Band | None:
    """One row of the rates table (None when left empty), refused with its number («Riga 2: …»)."""
    try:
        return _row(row, fields, revenue_types)
    except DomainError as problem:
        raise DomainError(f"Riga {row}: {problem.message}", field=problem.field) from None


def _row(row: int, fields: Mapping[str, str], revenue_types: Iterable[str]) -> Band | None:
    get = {k: fields.get(f"row-{row}-{k}", "").strip() for k in ("type", "from", "to", "rate")}
    if not get["rate"] and not get["to"] and get["from"] in ("", "0", "0,00"):
        return None
    revenue_type = get["type"] or ALL_TYPES
    if revenue_type not in (ALL_TYPES, *revenue_types):
        raise DomainError(f"Tipo di entrata sconosciuto: «{revenue_type}».", field=f"row-{row}-type")
    start = _amount(get["from"] or "0", f"row-{row}-from", zero_ok=True)
    end = _amount(get["to"], f"row-{row}-to", zero_ok=False) if get["to"] else None
    if end is not None and end <= start:
        raise DomainError("Il limite «fino a» deve superare «da».", field=f"row-{row}-to")
    return Band(revenue_type, start, end, parse_percent(get["rate"], f"row-{row}-rate"))


def parse_contract(fields: Mapping[str, str], revenue_types: Iterable[str], today: date) -> Contract:
    """The contract form: reference, start date, VAT, and up to MAX_ROWS rows of rates; every field
    at fault is named at once (`FieldErrors`), the tables' own rules once each row reads."""
    known, found = tuple(revenue_types), Problems()
    reference = fields.get("reference", "").strip()
    if not 1 <= len(reference) <= 200:
        found.add("reference", "Indica il riferimento del contratto (fino a 200 caratteri).")
    start = found.check(
        None, parse_day, fields.get("start_date", ""), "start_date", "la data di inizio del contratto"
    )
    if start is not None and (start < EARLIEST_START or start > today + timedelta(days=366)):
        found.add("start_date", "La data di inizio non è plausibile.")
    vat_applies = fields.get("vat_applies") == "1"
    vat = (
        found.check(0, parse_percent, fields.get("vat_percent", "") or "22", "vat_percent")
        if vat_applies
        else DEFAULT_VAT_BP
    )
    rows: list[tuple[int, Band]] = []
    for row in range(1, MAX_ROWS + 1):
        band = found.check(None, parse_row, row, fields, known)
        if band is not None:
            rows.append((row, band))
    empty: tuple[Band, ...] = ()
    bands = empty if found.found else found.check(empty, check_bands, rows, known)
    found.raise_any()
    assert start is not None
    return Contract(reference, start, bands, vat_applies, vat)


def parse_day(raw: str, field_name: str, what: str) -> date:
    """dd/mm/yyyy or ISO yyyy-mm-dd."""
    text = raw.strip()
    if not text:
        raise DomainError(f"Indica {what}.", field=field_name)
    try:
        if "/" in text:
            d, m, y = (int(part) for part in text.split("/"))
        else:
            return date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"Data non valida: «{text}» (usa gg/mm/aaaa).", field=field_name) from None
    try:
        return date(y, m, d)
    except ValueError:
        raise DomainError(f"Il giorno «{text}» non esiste nel calendario.", field=field_name) from None


def parse_period(raw_from: str | None, raw_to: str | None) -> tuple[date, date]:
    """The API's period, both ends included (ISO dates); it may not end before it starts."""
    days = []
    for name, raw in (("period_from", raw_from), ("period_to", raw_to)):
        if not raw:
            raise DomainError(f"Indica «{name}» (AAAA-MM-GG).", field=name)
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            raise DomainError(f"«{name}» non è una data valida (AAAA-MM-GG).", field=name) from None
    if days[1] < days[0]:
        raise DomainError("Il periodo termina prima di iniziare.", field="period_to")
    return days[0], days[1]


def euro(cents: int) -> str:
    """«1.234,56 €», as the rendiconto's tables put amounts (the unit after the figure)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", ".") + f",{rest:02d} €"


def format_percent(bp: int) -> str:
    whole, rest = divmod(bp, 100)
    return f"{whole},{rest:02d}%"


def flat(rate_bp: int, start: date, reference: str = "") -> Contract:
    """The simplest contract: one rate on everything collected, no VAT (what the old setting meant)."""
    return Contract(reference, start, (Band(ALL_TYPES, 0, None, rate_bp),), vat_applies=False)


# --- months and working days ---------------------------------------------------------------------


def month_bounds(first: date) -> tuple[date, date]:
    start = first.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following - timedelta(days=1)


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def parse_month(raw: str, today: date) -> date:
    """ "2026-10" (the month input's value) -> its first day; a past month only."""
    try:
        year, month = (int(p) for p in raw.strip().split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise DomainError("Indica il mese (AAAA-MM).", field="month") from None
    if first >= today.replace(day=1):
        raise DomainError("Il rendiconto si genera per un mese già concluso.", field="month")
    if first < EARLIEST_START:
        raise DomainError("Il mese non è plausibile.", field="month")
    return first


def first_working_day(first: date) -> date:
    return next_working_day(first.replace(day=1))


def rendiconto_due(today: date) -> bool:
    """From the month's first working day on (and by the 10th at the latest, when the firm sends its
    invoice: L.160/2019 c.790), the previous month's rendiconto is due."""
    return today >= first_working_day(today)
