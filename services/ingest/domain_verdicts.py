"""Pure rules of a row's verdict: its credit or why it is rejected, then duplicates and conflicts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from services.ingest.domain import (
    NOTHING_DUE,
    CellError,
    Credit,
    Rejection,
    act_day,
    normalise_header,
    normalise_revenue_type,
    parse_act_number,
    parse_amount,
    parse_taxpayer,
    parse_year,
)
from services.ingest.domain_contacts import Contacts, contacts_of, row_warnings
from services.ingest.domain_mapping import ColumnMapping, row_values
from services.kernel.limitation import Cutoffs


def debtor_name(values: dict[str, str]) -> str:
    name = values.get("name") or values.get("company")
    if not name:
        name = " ".join(p for p in (values.get("surname"), values.get("first_name")) if p)
    return " ".join(name.split())[:300]


def amount_due(values: dict[str, str]) -> int:
    if "amount" in values:
        return parse_amount(values["amount"])
    due = parse_amount(values.get("amount_due", ""))
    paid_text = values.get("amount_paid", "")
    paid = parse_amount(paid_text, allow_zero=True) if paid_text else 0
    if due - paid <= 0:
        raise CellError("nothing_due", NOTHING_DUE)
    return due - paid


def parse_row(cells: Sequence[str], mapping: ColumnMapping, current_year: int) -> Credit | Rejection:
    return parse_values(row_values(cells, mapping), current_year)


def parse_values(values: dict[str, str], current_year: int) -> Credit | Rejection:
    field_name = "taxpayer"
    try:
        fiscal_code = parse_taxpayer(values.get("taxpayer", ""))
        field_name = "revenue_type"
        revenue_type = normalise_revenue_type(values.get("revenue_type", ""))
        field_name = "year"
        year = parse_year(values.get("year", ""), current_year)
        field_name = "act_number"
        act = parse_act_number(values.get("act_number", ""))
        field_name = "amount"
        amount = amount_due(values)
    except CellError as err:
        return Rejection(field_name, err.reason, err.message)
    return Credit(fiscal_code, debtor_name(values), revenue_type, year, act, amount, act_day(values))


def is_blank(cells: Sequence[str]) -> bool:
    return all(not c.strip() for c in cells)


def is_totals(cells: Sequence[str], mapping: ColumnMapping) -> bool:
    """A summary line ("TOTALE", "Totale generale"), with no taxpayer or with the word in the
    taxpayer's column, is not a credit."""
    taxpayer = mapping.cell(cells, "taxpayer")
    if taxpayer and not normalise_header(taxpayer).startswith("total"):
        return False
    return any(normalise_header(c).startswith("total") for c in cells)


# ---------------------------------------------------------------- verdicts


@dataclass(slots=True)
class RowVerdict:
    row_number: int
    line_number: int
    verdict: str
    field: str | None = None
    reason_it: str | None = None
    credit: Credit | None = None
    warnings: tuple[tuple[str, str], ...] = ()
    contacts: Contacts | None = None
    cells: tuple[str, ...] = ()


class RowJudge:
    """Judges data rows one at a time, in file order; blank lines and a final totals line are skipped.

    Duplicates and conflicts need every row, so they are settled afterwards (`settle` in memory,
    or in SQL by the repository for big files): an accepted verdict here means "candidate".
    """

    def __init__(self, mapping: ColumnMapping, current_year: int, today: date) -> None:
        self.mapping = mapping
        self.current_year = current_year
        self.today = today
        self.rows = 0
        self.limit = Cutoffs.on(today)
        self._pending: list[tuple[int, list[str]]] = []

    def feed(self, line: int, cells: list[str]) -> Iterator[RowVerdict]:
        for data_line, data_cells in self.admit(line, cells):
            yield self.judge(data_line, data_cells)

    @property
    def pending(self) -> bool:
        """Whether a totals lookalike waits for the rows after it (`admit`)."""
        return bool(self._pending)

    def admit(self, line: int, cells: list[str]) -> Iterator[tuple[int, list[str]]]:
        """The data rows among the lines fed so far, in file order, without judging them."""
        if is_blank(cells):
            return
        if is_totals(cells, self.mapping):
            self._pending.append((line, cells))
            return
        # A "totals" lookalike followed by more data was a data row after all.
        yield from self._pending
        self._pending.clear()
        yield line, cells

    def judge(self, line: int, cells: list[str]) -> RowVerdict:
        """The verdict of the next data row (rows are numbered in the order they are judged)."""
        self.rows += 1
        return self.judge_numbered(self.rows, line, cells)

    def judge_numbered(self, row_number: int, line: int, cells: list[str]) -> RowVerdict:
        values = row_values(cells, self.mapping)
        outcome = parse_values(values, self.current_year)
        contacts = contacts_of(values)
        warnings = tuple(row_warnings(values, contacts, self.limit))
        if isinstance(outcome, Rejection):
            verdict = RowVerdict(
                row_number, line, f"rejected:{outcome.reason}", outcome.field, outcome.message
            )
        else:
            verdict = RowVerdict(row_number, line, "accepted", credit=outcome)
        verdict.warnings, verdict.contacts, verdict.cells = warnings, contacts, tuple(cells)
        return verdict


CONFLICT_REASON = "Stesso contribuente, entrata, anno e atto con importi diversi: posizione sospesa."
DUPLICATE_REASON = "Riga identica a una precedente."
REGISTERED_CONFLICT_REASON = (
    "Credito già registrato da un caricamento precedente con un importo diverso: riga sospesa, da "
    "verificare (resta in carico l'importo del primo caricamento)."
)


def settle(verdicts: list[RowVerdict]) -> None:
    """Exact repeats become duplicates; same key with different amounts are all conflicts."""
    seen_exact: set[tuple[str, str, int, str, int]] = set()
    by_key: dict[tuple[str, str, int, str], list[RowVerdict]] = {}
    for v in verdicts:
        if v.verdict != "accepted" or v.credit is None:
            continue
        exact = (*v.credit.key, v.credit.amount_cents)
        if exact in seen_exact:
            v.verdict, v.reason_it = "duplicate", DUPLICATE_REASON
            continue
        seen_exact.add(exact)
        by_key.setdefault(v.credit.key, []).append(v)
    for group in by_key.values():
        if len(group) > 1:
            for v in group:
                v.verdict, v.field, v.reason_it = "conflict", "amount", CONFLICT_REASON


@dataclass
class Report:
    header_line: int
    verdicts: list[RowVerdict] = field(default_factory=list)

    @property
    def data_rows(self) -> int:
        return len(self.verdicts)

    @property
    def accepted_credits(self) -> list[Credit]:
        return [v.credit for v in self.verdicts if v.verdict == "accepted" and v.credit is not None]

    def count(self, verdict: str) -> int:
        return sum(1 for v in self.verdicts if v.verdict == verdict)

    @property
    def accepted_total_cents(self) -> int:
        return sum(c.amount_cents for c in self.accepted_credits)

    @property
    def rejected(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for v in self.verdicts:
            if v.verdict.startswith("rejected:"):
                reason = v.verdict.split(":", 1)[1]
                counts[reason] = counts.get(reason, 0) + 1
        return counts


def validate(
    rows: Iterable[tuple[int, list[str]]],
    mapping: ColumnMapping,
    header_line: int,
    current_year: int,
    today: date | None = None,
) -> Report:
    """Verdict of every data row after the header, all in memory (small files, previews, tests)."""
    judge = RowJudge(mapping, current_year, today or date(current_year, 12, 31))
    report = Report(header_line)
    for line, cells in rows:
        report.verdicts.extend(judge.feed(line, cells))
    settle(report.verdicts)
    return report
