"""The relazione di scarico as XLSX, written by XlsxWriter in constant-memory mode (one row held at
a time, strings inline), numbers as numbers, euro with a two-decimal format, headers bold. Text a
spreadsheet would read as a formula gets the CSV's leading apostrophe (services/kernel/cells.py)
and is written with `write_string`, so it is never a formula. Sheets: Intestazione, Posizioni,
Totali, Riconciliazione.

XlsxWriter spends about 10 us of CPU per cell (100,000 positions x 15 columns: 13-16 s), more than
the PDF and the CSV together, so the worker writes the XLSX in a forked child process
(`XlsxInChild`) that receives the lines' cells through a pipe, one cursor partition at a time,
while the worker's own process writes the PDF and the CSV (README, Benchmarks).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import signal
import sys
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import BinaryIO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from services.kernel.cells import neutralise
from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting.domain import format_cents
from services.reporting.domain_aggio import format_percent

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = ("Intestazione", "Posizioni", "Totali", "Riconciliazione")
EURO_FORMAT = "#,##0.00"
CHILD_TIMEOUT_SECONDS = 900.0
LINE_WIDTHS = (18, 8, 6, 16, 12, 12, 12, 50, 10, 22, 22, 10, 14, 34, 20)


class Cents(int):
    """An amount in cents: written as euro (a number with two decimals)."""


class XlsxChildFailed(RuntimeError):
    """The child process writing the XLSX stopped without finishing it."""


def euro(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class XlsxRelazione:
    """Writes the workbook into `out` (a binary file) in this process; `close()` finishes it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        # The sheets' rows wait in temporary files until `close()` zips them: in a folder of its
        # own, removed whatever happens.
        self.folder = tempfile.TemporaryDirectory(prefix="relazione-xlsx-")
        self.book = xlsxwriter.Workbook(out, {"constant_memory": True, "tmpdir": self.folder.name})
        self.money = self.book.add_format({"num_format": EURO_FORMAT})
        self.bold = self.book.add_format({"bold": True})
        self.sheets = {name: self.book.add_worksheet(name) for name in SHEETS}
        self.row = 0

    def begin(self, header: frame.Header) -> None:
        sheet = self._sheet("Intestazione", (28, 80), ("Voce", "Valore"))
        self._write(sheet, 1, _header_rows(header))
        self._sheet("Posizioni", LINE_WIDTHS, rel.COLUMNS)
        self.row = 1

    def lines(self, lines: list[rel.Line]) -> None:
        self.cells([item.cells for item in lines])

    def cells(self, rows: Iterable[Sequence[rel.Cell]]) -> None:
        """The lines' cells in `COLUMNS` order: the hot loop (the public write_* calls, formats built
        once, no type dispatch by `write_row`)."""
        sheet, money = self.sheets["Posizioni"], self.money
        number, string, money_columns = sheet.write_number, sheet.write_string, rel.MONEY_COLUMNS
        row = self.row
        for values in rows:
            for column, value in enumerate(values):
                if column in money_columns:
                    number(row, column, Decimal(value).scaleb(-2), money)
                elif value.__class__ is int:
                    number(row, column, value)
                elif value:
                    text = neutralise(value)  # type: ignore[arg-type]  # not int: str
                    if text.startswith("<r>"):
                        _markup_safe(sheet, row, column, text)
                    else:
                        string(row, column, text)
            row += 1
        self.row = row

    def end(self, closing: frame.Closing) -> None:
        sheet = self._sheet("Totali", (34, 8, 10, 14, 14, 14, 14), TOTAL_HEADERS)
        self._write(sheet, 1, _total_rows(closing))
        sheet = self._sheet("Riconciliazione", (36, 10, 14, 12, 12, 10, 14), FLOW_HEADERS)
        self._write(sheet, 1, [_flow_row(f) for f in closing.flows])

    def close(self) -> None:
        try:
            self.book.close()
            self.out.flush()
        finally:
            self.folder.cleanup()

    def abort(self) -> None:
        """The file is thrown away: the sheets' temporary files are closed and removed."""
        for sheet in self.sheets.values():
            with contextlib.suppress(Exception):
                sheet.row_data_fh.close()
        self.folder.cleanup()

    def _sheet(self, name: str, widths: Sequence[int], headers: Sequence[str]) -> Worksheet:
        sheet = self.sheets[name]
        for column, width in enumerate(widths):
            sheet.set_column(column, column, width)
        sheet.freeze_panes(1, 0)
        self._write(sheet, 0, [headers], self.bold)
        return sheet

    def _write(
        self, sheet: Worksheet, first: int, rows: Iterable[Sequence[object]], style: Format | None = None
    ) -> None:
        for row, values in enumerate(rows, first):
            for column, value in enumerate(values):
                if isinstance(value, Cents):
                    sheet.write_number(row, column, euro(value), self.money)
                elif isinstance(value, int) and not isinstance(value, bool):
                    sheet.write_number(row, column, value, style)
                elif value != "":
                    text = neutralise(str(value))
                    if text.startswith("<r>"):
                        _markup_safe(sheet, row, column, text)
                    else:
                        sheet.write_string(row, column, text, style)


def _markup_safe(sheet: Worksheet, row: int, column: int, text: str) -> None:
    """XlsxWriter copies a string that starts with <r> and ends with </r> into the sheet unescaped
    (it takes it for a rich string it built): such text is written as a rich string of three
    fragments instead, each escaped, which reads back as the same text."""
    if len(text) > 2 and text.endswith("</r>"):
        sheet.write_rich_string(row, column, text[:1], text[1:-1], text[-1:])
    else:
        sheet.write_string(row, column, text)


# --- the child process -----------------------------------------------------------------------------


class XlsxInChild:
    """The `Writer` of the worker: a child process forked now writes the XLSX into `out` (the
    same open file) from the messages this one sends; `close()` waits for it and raises
    `XlsxChildFailed` if it did not finish. Forked, not spawned: the child imports nothing and
    never touches the parent's event loop, connections or threads (it only reads its pipe)."""

    def __init__(self, out: BinaryIO) -> None:
        context = multiprocessing.get_context("fork")
        receive, self.pipe = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_child, args=(receive, self.pipe, out), name="relazione-xlsx", daemon=True
        )
        self.process.start()
        receive.close()

    def _send(self, kind: str, payload: object) -> None:
        try:
            self.pipe.send((kind, payload))
        except OSError as exc:  # the child is gone
            raise self._failed() from exc

    def begin(self, header: frame.Header) -> None:
        self._send("begin", header)

    def lines(self, lines: list[rel.Line]) -> None:
        self._send("cells", [item.cells for item in lines])

    def end(self, closing: frame.Closing) -> None:
        self._send("end", closing)

    def close(self) -> None:
        self.pipe.close()
        self.process.join(CHILD_TIMEOUT_SECONDS)
        if self.process.exitcode != 0:
            self.abort()
            raise self._failed()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.close()
        if self.process.exitcode is None:
            self.process.terminate()
            self.process.join()

    def _failed(self) -> XlsxChildFailed:
        self.process.join(5.0)
        return XlsxChildFailed(f"the XLSX process ended with exit code {self.process.exitcode}")


def _child(receive: Connection, parents_end: Connection, out: BinaryIO) -> None:
    """Runs in the forked child: its exit code tells the parent whether the file is complete."""
    # The parent's event loop is left alone: a signal here must not reach its wakeup fd.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
    signal.signal(signal.SIGTERM, _stop)  # terminated by the parent: remove the temporary files
    parents_end.close()  # so a parent that dies ends `recv` with EOFError
    gc.freeze()  # the parent's objects are never collected here, so their pages stay shared
    writer: XlsxRelazione | None = None
    try:
        writer = XlsxRelazione(out)
        while True:
            kind, payload = receive.recv()
            if kind == "cells":
                writer.cells(payload)
            elif kind == "begin":
                writer.begin(payload)
            else:
                writer.end(payload)
                writer.close()
                return
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


def _stop(signum: int, frame: object) -> None:
    sys.exit(1)


# --- the small sheets ------------------------------------------------------------------------------

TOTAL_HEADERS = ("Entrata / voce", "Anno", "Posizioni", "Carico", "Annullato", "Riscosso", "Residuo")
FLOW_HEADERS = ("Flusso", "Pagamenti", "Importo", "Dal", "Al", "Revocati", "Importo revocato")


def _header_rows(h: frame.Header) -> list[Sequence[object]]:
    rows: list[Sequence[object]] = [
        ("Documento", f"{h.scope.label} di scarico, versione {h.version}"),
        ("Ente", h.ente),
        ("Contratto", h.contract),
        ("Periodo", f"dal {rel.format_date(h.scope.period_from)} al {rel.format_date(h.scope.period_to)}"),
        ("Copertura", _coverage(h.scope)),
        ("Generata il", h.generated_at),
        ("Richiesta da", h.generated_by),
        ("Identificativo", h.report_id),
    ]
    for b in h.batches:
        text = f"{b.filename} del {rel.format_date(b.accepted_on)}: {b.accepted} posizioni"
        rows.append(("Carico", f"{text}, {format_cents(b.accepted_total_cents)} euro"))
    return rows


def _coverage(scope: rel.Scope) -> str:
    if scope.interim:
        return (
            "Posizioni affidate fino alla data finale; pagamenti e rimborsi con data nel periodo; "
            "prescrizione valutata alla data finale."
        )
    return "Tutte le posizioni affidate e tutti i pagamenti; prescrizione valutata alla data di generazione."


def _group_row(label: str, year: object, g: rel.Group) -> Sequence[object]:
    money = (g.assigned_cents, g.cancelled_cents, g.collected_cents, g.residual_cents)
    return (label, year, g.positions, *(Cents(c) for c in money))


def _total_rows(closing: frame.Closing) -> list[Sequence[object]]:
    t = closing.totals
    rows = [_group_row(rtype, year, g) for rtype, year, g in t.type_year_rows()]
    rows.append(_group_row("Totale", "", t.overall))
    rows.append(("",))
    rows.append(("Motivo mancata riscossione", "", "Posizioni", "", "", "", "Residuo"))
    rows += [
        (rel.REASON_LABELS[r], "", g.positions, "", "", "", Cents(g.residual_cents))
        for r, g in t.reason_rows()
    ]
    rows.append(("",))
    a = closing.aggio
    vat = f"IVA {format_percent(a.vat_rate_bp)}"
    rows.append(("Regola dell'aggio", closing.aggio_label))
    amounts: list[tuple[str, int]] = [
        ("Base imponibile (riscosso al netto di rimborsi)", a.totals.taxable_cents),
        ("Rimborsi", a.totals.refunded_cents),
        ("Pagamenti revocati (esclusi)", a.totals.revoked_cents),
        ("Aggio", a.aggio_cents),
        (vat, a.vat_cents),
        ("Totale da fatturare", a.invoice_cents),
    ]
    rows += [(label, "", "", "", "", Cents(cents)) for label, cents in amounts]
    return rows


def _flow_row(f: frame.Flow) -> Sequence[object]:
    name = f.flow_id or "Senza flusso (pagamenti registrati a mano o da ricevuta)"
    first, last = rel.format_date(f.first_paid_on), rel.format_date(f.last_paid_on)
    return (name, f.payments, Cents(f.amount_cents), first, last, f.revoked, Cents(f.revoked_cents))
