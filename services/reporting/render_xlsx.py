"""The relazione di scarico as XLSX, written by rust_xlsxwriter (through its Python binding
rustpy-xlsxwriter) in constant-memory mode: one row held at a time, strings inline, numbers as
numbers, euro with a two-decimal format, days as dates shown dd/mm/yyyy, headers bold, the first
row frozen. Text a spreadsheet
would read as a formula gets the CSV's leading apostrophe (services/kernel/cells.py) and is always
a text cell. Sheets: Intestazione, Posizioni, Totali, Riconciliazione.

The library pulls each sheet's rows from a generator while it writes, so the workbook is written
by a thread of its own: `lines()` hands it each cursor partition through a bounded queue while the
worker renders the PDF and the CSV. XlsxWriter, used before, spent about 10 us of CPU per cell
(100,000 positions x 15 columns: 13-16 s, in a forked child to keep up); rust_xlsxwriter writes the
same cells in about 1.3 s (README, Benchmarks).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

import rustpy_xlsxwriter as xlsx

from services.kernel.cells import neutralise
from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting import domain_relazione_totals as tot

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = ("Intestazione", "Posizioni", "Totali", "Riconciliazione")
EURO_FORMAT = "#,##0.00"
DATE_FORMAT = "dd/mm/yyyy"
WRITER_TIMEOUT_SECONDS = 900.0
# Cursor partitions (2,000 lines each) waiting for the XLSX thread: it is the faster of the two,
# so the queue stays short; a full one makes the renderer wait rather than hold more rows.
QUEUE_PARTITIONS = 4
LINE_WIDTHS = (18, 8, 6, 16, 15, 12, 12, 12, 12, 50, 10, 22, 22, 10, 14, 34, 50)
HEADER_WIDTHS = (28, 80)
TOTAL_WIDTHS = (34, 8, 10, 15, 14, 14, 14, 14)
FLOW_WIDTHS = (36, 10, 14, 12, 12, 10, 14)
_END = object()
_ABORT = object()


class Cents(int):
    """An amount in cents: written as euro (a number with two decimals)."""


class XlsxFailed(RuntimeError):
    """The thread writing the XLSX stopped without finishing it."""


class _Aborted(Exception):
    """The file is thrown away: the library stops at the next row it asks for."""


def euro(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class XlsxRelazione:
    """The `Writer` of the worker: `begin()` starts the thread writing into `out` (a binary file),
    `lines()` and `end()` feed it, `close()` waits for it and raises `XlsxFailed` if it failed."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_PARTITIONS)
        self.closing: frame.Closing | None = None
        self.failure: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.aborted = False

    def begin(self, header: frame.Header) -> None:
        self.thread = threading.Thread(target=self._run, args=(header,), name="relazione-xlsx", daemon=True)
        self.thread.start()

    def lines(self, lines: list[rel.Line]) -> None:
        self._put([item.cells for item in lines])

    def end(self, closing: frame.Closing) -> None:
        self.closing = closing
        self._put(_END)

    def close(self) -> None:
        thread = self._thread()
        thread.join(WRITER_TIMEOUT_SECONDS)
        if thread.is_alive() or self.failure is not None:
            self.abort()
            raise XlsxFailed("the XLSX was not written") from self.failure

    def abort(self) -> None:
        """The file is thrown away: the thread stops at the next row the library asks for. Never
        waits (the worker may call it on its event loop); a thread past its last row finishes a
        file nobody reads."""
        self.aborted = True
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(_ABORT)

    def _thread(self) -> threading.Thread:
        if self.thread is None:
            raise XlsxFailed("the XLSX was never begun")
        return self.thread

    def _put(self, item: object) -> None:
        """Into the queue, waiting while it is full, unless the thread has stopped."""
        thread = self._thread()
        while True:
            if self.failure is not None or not thread.is_alive():
                raise XlsxFailed("the XLSX thread stopped") from self.failure
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _run(self, header: frame.Header) -> None:
        try:
            _save(self.out, header, self._positions(), self._totals(), self._flows())
        except BaseException as exc:  # reported by close(), in the worker's thread
            self.failure = exc

    def _positions(self) -> Iterator[dict[str, Any]]:
        written = False
        while True:
            item = self.queue.get()
            if item is _ABORT or self.aborted:
                raise _Aborted()
            if item is _END:
                break
            for values in item:  # type: ignore[attr-defined]  # a partition's cells
                yield _position(values)
                written = True
        if not written:  # the library writes the headers from the first record
            yield dict.fromkeys(rel.COLUMNS)

    # Read once the positions are written, which is after `end()` gave the closing.
    def _totals(self) -> Iterator[dict[str, Any]]:
        yield from _records(TOTAL_HEADERS, _total_rows(self._closing()))

    def _flows(self) -> Iterator[dict[str, Any]]:
        yield from _records(FLOW_HEADERS, [_flow_row(f) for f in self._closing().flows])

    def _closing(self) -> frame.Closing:
        if self.closing is None:
            raise XlsxFailed("the XLSX has no closing")
        return self.closing


def _save(
    out: BinaryIO,
    header: frame.Header,
    positions: Iterator[dict[str, Any]],
    totals: Iterator[dict[str, Any]],
    flows: Iterator[dict[str, Any]],
) -> None:
    """The four sheets in order; the library reads each sheet's rows as it writes it."""
    bold = xlsx.Format().set_bold()
    money = xlsx.Format().set_num_format(EURO_FORMAT)
    day = xlsx.Format().set_num_format(DATE_FORMAT)

    def formats(width: int, money_columns: Iterable[int], date_columns: Iterable[int] = ()) -> list[Any]:
        kinds = {**dict.fromkeys(money_columns, money), **dict.fromkeys(date_columns, day)}
        return [kinds.get(column) for column in range(width)]

    book = xlsx.FastExcel(out).freeze(row=1)
    book.sheet(
        "Intestazione",
        _records(("Voce", "Valore"), _header_rows(header)),
        column_widths=list(HEADER_WIDTHS),
        column_formats=formats(2, (), (1,)),
        header_format=bold,
    )
    book.sheet(
        "Posizioni",
        positions,
        column_widths=list(LINE_WIDTHS),
        column_formats=formats(len(rel.COLUMNS), rel.MONEY_COLUMNS, rel.DATE_COLUMNS),
        header_format=bold,
    )
    book.sheet(
        "Totali",
        totals,
        column_widths=list(TOTAL_WIDTHS),
        column_formats=formats(len(TOTAL_HEADERS), TOTAL_MONEY),
        header_format=bold,
    )
    book.sheet(
        "Riconciliazione",
        flows,
        column_widths=list(FLOW_WIDTHS),
        column_formats=formats(len(FLOW_HEADERS), (2, 6), (3, 4)),
        header_format=bold,
    )
    book.save()


def _position(values: Sequence[rel.Cell]) -> dict[str, Any]:
    """A line's cells in `COLUMNS` order as the library's record: the hot loop."""
    record: dict[str, Any] = {}
    money_columns = rel.MONEY_COLUMNS
    for column, (name, value) in enumerate(zip(rel.COLUMNS, values, strict=True)):
        if column in money_columns:
            record[name] = Decimal(value).scaleb(-2)  # type: ignore[arg-type]  # cents: int
        elif value.__class__ is int or value.__class__ is date:
            record[name] = value
        else:
            record[name] = neutralise(value) if value else None  # type: ignore[arg-type]  # str
    return record


def _records(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[dict[str, Any]]:
    """The small sheets' rows as records (a short row padded with empty cells; an empty sheet one
    empty record, so the library still writes its headers)."""
    written = False
    for values in rows:
        padded = (*values, *([""] * (len(headers) - len(values))))
        yield {name: _small_cell(value) for name, value in zip(headers, padded, strict=True)}
        written = True
    if not written:
        yield dict.fromkeys(headers)


def _small_cell(value: object) -> object:
    if isinstance(value, Cents):
        return euro(value)
    if isinstance(value, int | date) and not isinstance(value, bool):
        return value
    return neutralise(str(value)) if value != "" else None


# --- the small sheets ------------------------------------------------------------------------------

TOTAL_HEADERS = ("Entrata / voce", "Anno", "Posizioni", *rel.MONEY_HEADERS)
# Every amount of the sheet (the aggio's too) sits in one of these columns, formatted as euro.
TOTAL_MONEY = range(TOTAL_HEADERS.index(rel.MONEY_HEADERS[0]), len(TOTAL_HEADERS))
FLOW_HEADERS = ("Flusso", "Pagamenti", "Importo", "Dal", "Al", "Revocati", "Importo revocato")


def _header_rows(h: frame.Header) -> list[Sequence[object]]:
    rows: list[Sequence[object]] = [
        ("Documento", f"{h.scope.label} di scarico, versione {h.version}"),
        ("Ente", h.ente),
        ("Contratto", h.contract),
        ("Periodo dal", h.scope.period_from),
        ("Periodo al", h.scope.period_to),
        ("Copertura", _coverage(h.scope)),
        ("Generata il", h.generated_at),
        ("Richiesta da", h.generated_by),
        ("Identificativo", h.report_id),
        ("Importi", rel.IDENTITY_NOTE),
    ]
    rows.extend(("Carico", b.described()) for b in h.batches)
    rows.append(("Carichi", frame.batches_total(h.batches)))
    return rows


def _coverage(scope: rel.Scope) -> str:
    if scope.interim:
        return (
            "Posizioni affidate fino alla data finale; pagamenti e rimborsi con data nel periodo; "
            "prescrizione valutata alla data finale."
        )
    return "Tutte le posizioni affidate e tutti i pagamenti; prescrizione valutata alla data di generazione."


def _group_row(label: str, year: object, g: tot.Group) -> Sequence[object]:
    return (label, year, g.positions, *(Cents(c) for c in tot.group_amounts(g)))


def _total_rows(closing: frame.Closing) -> list[Sequence[object]]:
    t = closing.totals
    rows = [_group_row(rtype, year, g) for rtype, year, g in t.type_year_rows()]
    rows.append(_group_row("Totale", "", t.overall))
    rows.append((rel.IDENTITY_NOTE,))
    rows.append(("",))
    rows.append(("Motivo mancata riscossione", "", "Posizioni", "", "", "", "", "Residuo"))
    rows += [
        (rel.REASON_LABELS[r], "", g.positions, "", "", "", "", Cents(g.residual_cents))
        for r, g in t.reason_rows()
    ]
    rows.append(("",))
    a = closing.aggio
    vat = frame.vat_label(a.vat_rate_bp)
    rows.append(("Regola dell'aggio", closing.aggio_label))
    amounts: list[tuple[str, int]] = [
        ("Base imponibile (riscosso al netto di rimborsi)", a.totals.taxable_cents),
        ("Rimborsi", a.totals.refunded_cents),
        ("Pagamenti revocati (esclusi)", a.totals.revoked_cents),
        ("Aggio", a.aggio_cents),
        (vat, a.vat_cents),
        ("Totale da fatturare", a.invoice_cents),
        ("Oneri c. 803 a carico dei debitori, incassati a parte (fuori dalla base)", closing.charges_cents),
    ]
    rows += [(label, "", "", "", "", Cents(cents)) for label, cents in amounts]
    return rows


def _flow_row(f: frame.Flow) -> Sequence[object]:
    name = f.flow_id or "Senza flusso (pagamenti registrati a mano o da ricevuta)"
    first, last = f.first_paid_on or "", f.last_paid_on or ""
    return (name, f.payments, Cents(f.amount_cents), first, last, f.revoked, Cents(f.revoked_cents))
