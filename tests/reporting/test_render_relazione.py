"""The relazione's three formats written as the lines stream: the CSV read back by `csv`, the XLSX
by openpyxl (typed cells, formulas neutralised), the PDF's text inflated from its page streams."""

from __future__ import annotations

import base64
import csv
import io
import re
import tempfile
import uuid
import zlib
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.escape import unescape
from reportlab.pdfbase.pdfmetrics import stringWidth

from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting import domain_relazione_totals as tot
from services.reporting import render_xlsx
from services.reporting.domain import format_cents
from services.reporting.domain_aggio import ALL_TYPES, Band, Contract, compute, flat
from services.reporting.render_csv import CsvRelazione
from services.reporting.render_pdf import PdfRelazione
from services.reporting.render_xlsx import XlsxFailed, XlsxRelazione

SCOPE = rel.Scope("interim", date(2025, 1, 1), date(2025, 6, 30), date(2025, 6, 30))
HEADER = frame.Header(
    str(uuid.UUID(int=7)),
    "Comune di Prova",
    SCOPE,
    2,
    "30/06/2025 12:00",
    "Anna Bianchi",
    "Aggio 3,50%",
    (frame.BatchInfo("crediti.csv", 3, 30_000, date(2025, 1, 2)),),
)


FORMULAS = ("=SUM(A1:A9)", "+39 333", "-5", "@SUM(1)", "\tTAB", "\rCR")
MARKUP = "<r><t>finto</t></r>"


def lines(n: int, acts: tuple[str, ...] = ("=SUM(A1:A9)",)) -> list[rel.Line]:
    out = []
    for i in range(n):
        receipts = (rel.Receipt(f"IUV{i:014d}", date(2025, 3, 1), "FDR-1", 1_234),) if i % 2 else ()
        h = rel.History(
            f"CF{i:014d}",
            "TARI" if i % 3 else "IMU",
            2022,
            acts[i] if i < len(acts) else f"ATTO-{i}",
            100_000 + i,
            date(2025, 1, 2),
            receipts=receipts,
            attempts=i % 4,
            last_outcome="rifiuto" if i % 5 == 0 else "",
        )
        out.append(rel.line(h, SCOPE))
    return out


def render(writer_class: type, items: list[rel.Line], header: frame.Header = HEADER) -> bytes:
    if writer_class is XlsxRelazione:  # as the worker does: into a real open file
        with tempfile.TemporaryFile() as spool:
            _write(writer_class(spool), items, header)
            spool.seek(0)
            return spool.read()
    out = io.BytesIO()
    _write(writer_class(out), items, header)
    return out.getvalue()


def _write(writer: Any, items: list[rel.Line], header: frame.Header = HEADER) -> None:
    totals = tot.Totals()
    writer.begin(header)
    for start in range(0, len(items), 50):
        batch = items[start : start + 50]
        for item in batch:
            totals.add(item)
        writer.lines(batch)
    aggio = compute(flat(350, SCOPE.period_from), totals.aggio_bases())
    flows = (frame.Flow("FDR-1", 1, 1_234, date(2025, 3, 1), date(2025, 3, 1), 0, 0),)
    writer.end(frame.Closing(totals, aggio, "Aggio 3,50% sul riscosso", flows, 4_321))
    writer.close()


def pdf_text(body: bytes) -> str:
    """The text of every page stream (ASCII85 then Flate, as reportlab writes them)."""
    texts = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", body, re.S):
        data = stream.strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data, adobe=True)
        try:
            texts.append(zlib.decompress(data).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(texts)


def test_csv_has_the_required_columns_italian_money_and_no_formula() -> None:
    body = render(CsvRelazione, lines(3))
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    for column in ("Codice fiscale", "Entrata", "Anno", "Atto", *rel.MONEY_HEADERS):
        assert column in header
    assert "Motivo mancata riscossione" in header
    first = dict(zip(header, rows[1], strict=True))
    assert first["Atto"] == "'=SUM(A1:A9)"
    assert (first["Carico affidato"], first["Riscosso"], first["Residuo"]) == ("1.000,00", "0,00", "1.000,00")
    second = dict(zip(header, rows[2], strict=True))
    assert second["Riscosso"] == "12,34" and "IUV00000000000001" in second["Pagamenti (IUV, data, flusso)"]
    assert len(rows) == 4


def test_xlsx_is_readable_typed_and_neutralised() -> None:
    body = render(XlsxRelazione, lines(120, (*FORMULAS, MARKUP)))
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["Intestazione", "Posizioni", "Totali", "Riconciliazione"]
    sheet = book["Posizioni"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == rel.COLUMNS
    assert all(cell.font.b for cell in sheet[1])
    assert len(rows) == 121
    first = dict(zip(rel.COLUMNS, rows[1], strict=True))
    assert first["Anno"] == 2022 and first["Carico affidato"] == 1000
    assert isinstance(first["Carico affidato"], int | float)
    assert sheet["E2"].number_format == "#,##0.00" and sheet["E2"].data_type == "n"
    second = dict(zip(rel.COLUMNS, rows[2], strict=True))
    assert second["Riscosso"] == 12.34 and second["Residuo"] == 987.67
    assert isinstance(second["Riscosso"], float) and second["Tentativi di contatto"] == 1
    assert sheet["K3"].data_type == "n" and sheet.freeze_panes == "A2"
    # Text a spreadsheet would run gets the CSV's apostrophe and stays text, never a formula.
    acts = [sheet.cell(row=2 + i, column=4) for i in range(len(FORMULAS) + 1)]
    # (a carriage return is stored as the spec's _x000D_, which openpyxl leaves escaped)
    assert [unescape(a.value) for a in acts] == [*("'" + f for f in FORMULAS), MARKUP]
    assert all(a.data_type == "s" for a in acts)
    csv_acts = [rel.csv_cells(item)[3] for item in lines(len(FORMULAS), FORMULAS)]
    assert csv_acts == [unescape(a.value) for a in acts[: len(FORMULAS)]]
    header = dict(book["Intestazione"].iter_rows(values_only=True))
    assert header["Ente"] == "Comune di Prova" and "versione 2" in header["Documento"]
    totals = list(book["Totali"].iter_rows(values_only=True))
    [charged] = [r for r in totals if str(r[0]).startswith("Oneri c. 803")]
    assert charged[5] == 43.21
    [overall] = [r for r in totals if r[0] == "Totale"]
    assert overall[2] == 120 and overall[3] == sum(100_000 + i for i in range(120)) / 100
    flows = list(book["Riconciliazione"].iter_rows(values_only=True))
    assert flows[1][:3] == ("FDR-1", 1, 12.34)


def test_xlsx_days_are_dates_and_every_amount_is_euro() -> None:
    lapsed = rel.History(
        "CF0",
        "TARI",
        2022,
        "ATTO-L",
        50_000,
        date(2025, 1, 2),
        plan_installments=6,
        plan_lapsed_on=date(2025, 5, 31),
    )
    book = openpyxl.load_workbook(io.BytesIO(render(XlsxRelazione, [*lines(3), rel.line(lapsed, SCOPE)])))
    positions = book["Posizioni"]
    column = rel.COLUMNS.index("Piano decaduto il") + 1
    day = positions.cell(row=5, column=column)
    assert (day.value, day.data_type, day.number_format) == (datetime(2025, 5, 31), "d", "dd/mm/yyyy")
    assert positions.cell(row=2, column=column).value is None
    flow = next(book["Riconciliazione"].iter_rows(min_row=2))
    assert [(c.value, c.number_format) for c in flow[3:5]] == [(datetime(2025, 3, 1), "dd/mm/yyyy")] * 2
    header = {r[0].value: r[1] for r in book["Intestazione"].iter_rows(min_row=2)}
    assert (header["Periodo dal"].value, header["Periodo dal"].number_format) == (
        datetime(2025, 1, 1),
        "dd/mm/yyyy",
    )
    assert header["Periodo al"].value == datetime(2025, 6, 30)
    # Every number of the Totali sheet that is an amount (Residuo, the reasons', the aggio's) is euro.
    amounts = [
        cell
        for row in book["Totali"].iter_rows(min_row=2)
        for cell in row[3:]
        if isinstance(cell.value, int | float)
    ]
    assert len(amounts) > 20 and {c.number_format for c in amounts} == {"#,##0.00"}
    [overall] = [r for r in book["Totali"].iter_rows(min_row=2) if r[0].value == "Totale"]
    residual = overall[render_xlsx.TOTAL_HEADERS.index("Residuo")]
    assert residual.number_format == "#,##0.00" and residual.value > 0


def test_the_csv_says_which_relazione_and_version_it_is_on_every_row() -> None:
    items = lines(3)
    second = render(CsvRelazione, items)
    _write(CsvRelazione(third := io.BytesIO()), items, replace(HEADER, version=3))
    assert third.getvalue() != second
    rows = list(csv.reader(io.StringIO(third.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-4:] == ["Relazione", "Periodo dal", "Periodo al", "Versione"]
    assert {tuple(r[-4:]) for r in rows[1:]} == {("intermedia", "01/01/2025", "30/06/2025", "3")}
    assert rows[0][: len(rel.COLUMNS)] == list(rel.COLUMNS)


def test_the_contract_is_named_once() -> None:
    by_type = Contract(
        "rep. 45/2026",
        date(2026, 1, 1),
        (Band("IMU", 0, None, 1_000), Band(ALL_TYPES, 0, None, 500)),
        vat_applies=True,
        vat_rate_bp=2_200,
    )
    heading, rule = frame.contract_texts(by_type)
    assert heading == "rep. 45/2026, dal 01/01/2026, aggio aliquota per tipo di entrata, IVA 22,00%"
    assert rule.startswith("Contratto rep. 45/2026 dal 01/01/2026: aggio Aliquota per tipo di entrata")
    flat_one = Contract("", date(2026, 2, 1), (Band(ALL_TYPES, 0, None, 350),), vat_applies=False)
    assert frame.contract_texts(flat_one)[0] == "dal 01/02/2026, aggio 3,50%, IVA non applicata"
    # The same name in the header and in the closing of the PDF and the XLSX (they differed).
    assert (frame.vat_label(0), frame.vat_label(2_200)) == ("IVA non applicata", "IVA 22,00%")
    assert not frame.contract_texts(None)[0].lower().startswith("contratto")
    text = pdf_text(render(PdfRelazione, lines(1), replace(HEADER, contract=heading)))
    assert "Contratto: rep. 45/2026, dal 01/01/2026" in text and "Contratto: Contratto" not in text
    book = openpyxl.load_workbook(
        io.BytesIO(render(XlsxRelazione, lines(1), replace(HEADER, contract=heading)))
    )
    assert dict(book["Intestazione"].iter_rows(values_only=True))["Contratto"] == heading


def test_an_empty_relazione_still_has_every_sheet_with_its_headers() -> None:
    book = openpyxl.load_workbook(io.BytesIO(render(XlsxRelazione, [])))
    assert book.sheetnames == list(render_xlsx.SHEETS)
    rows = list(book["Posizioni"].iter_rows(values_only=True))
    assert rows[0] == rel.COLUMNS and all(v is None for r in rows[1:] for v in r)
    assert next(book["Riconciliazione"].iter_rows(values_only=True)) == render_xlsx.FLOW_HEADERS


def _library_fails(*_: object) -> None:
    raise RuntimeError("disk full")


def test_a_failed_xlsx_thread_fails_the_writer_and_an_aborted_one_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tempfile.TemporaryFile() as spool:
        writer = XlsxRelazione(spool)
        writer.begin(HEADER)
        writer.lines(lines(10))
        writer.abort()  # returns at once; the thread stops at its next row
        assert writer.thread is not None
        writer.thread.join(10)
        assert not writer.thread.is_alive()
        assert isinstance(writer.failure, render_xlsx._Aborted)
    monkeypatch.setattr(render_xlsx, "_save", _library_fails)
    with tempfile.TemporaryFile() as spool:
        writer = XlsxRelazione(spool)
        writer.begin(HEADER)
        with pytest.raises(XlsxFailed):
            for _ in range(100):  # the thread may take a moment to fail
                writer.lines(lines(50))
                writer.thread.join(0.05)  # type: ignore[union-attr]
            writer.end(frame.Closing(tot.Totals(), compute(flat(350, SCOPE.period_from), {}), "", ()))
            writer.close()


def test_pdf_streams_every_line_with_its_payments_and_repeats_the_header() -> None:
    body = render(PdfRelazione, lines(400))
    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    pages = len(re.findall(rb"/Type /Page\b(?!s)", body))
    assert pages >= 6
    assert "Relazione intermedia di scarico" in text and "Comune di Prova" in text
    assert "dal 01/01/2025 al 30/06/2025" in text and "crediti.csv" in text
    assert "CF00000000000000" in text and "CF00000000000399" in text
    assert "pagamento IUV IUV00000000000001 del 01/03/2025, flusso FDR-1: 12,34" in text
    assert text.count("Codice fiscale") >= pages - 1
    assert "Rifiuto di pagare" in text and "Riscossione coattiva" in text
    assert "Allegato: riconciliazione" in text and "FDR-1" in text
    assert "Oneri c. 803 dei debitori" in text and "43,21" in text
    assert f"Pagina {pages}" in text


def test_same_lines_give_the_same_pdf() -> None:
    assert render(PdfRelazione, lines(5)) == render(PdfRelazione, lines(5))


def test_every_label_fits_its_column_of_the_pdf_and_the_table_fits_the_page() -> None:
    from services.contracts import OUTCOME_LABELS
    from services.reporting import render_pdf

    widths = {header: width for header, width, _ in render_pdf.TABLE}
    tracing = [
        rel.tracing_text(rel.History("X", "IMU", 2024, "A", 1, date(2025, 1, 1), grade=g, traced=t))
        for g in rel.GRADE_LABELS
        for t in (0, 1)
    ]
    assert max(map(len, OUTCOME_LABELS.values())) <= widths["Ultimo esito"]
    assert max(map(len, tracing)) <= widths["Rintraccio"]
    assert all(len(format_cents(99_999_999_999)) <= widths[h] for h in rel.MONEY_HEADERS)
    usable = render_pdf.WIDTH - 2 * render_pdf.MARGIN
    promised = rel.History("X", "IMU", 2024, "A", 1, date(2025, 1, 1), promise_due_on=date(2025, 12, 31))
    steps = [rel.step_text(step, promised) for step in rel.NextStep]
    longest = max(rel.REASON_LABELS.values(), key=len), max(steps, key=len)
    verdict = f"{render_pdf.INDENT}motivo: {longest[0]}; prossimo passo: {longest[1]}"
    for line in (render_pdf.TABLE_HEADER, verdict):
        assert len(line) * 0.6 * render_pdf.SIZE <= usable  # Courier: 0.6 em a character
    for sentence in (rel.IDENTITY_NOTE, *rel.NEXT_STEP_RULE):
        assert stringWidth(sentence, render_pdf.SANS, 8) <= usable


def baselines(stream: str) -> list[tuple[float, float]]:
    """(distance from the line above, font size) of every line a text object of `stream` shows."""
    shown: list[tuple[float, float]] = []
    size = leading = y = 0.0
    last: float | None = None
    tokens = re.findall(r"\((?:\\.|[^\\()])*\)|\S+", stream)
    for i, token in enumerate(tokens):
        if token == "BT":
            y, last = 0.0, None
        elif token == "Tf":
            size = float(tokens[i - 1])
        elif token == "TL":
            leading = float(tokens[i - 1])
        elif token == "T*":
            y -= leading
        elif token == "Td":
            y += float(tokens[i - 1])
        elif token == "Tj":
            if last is not None:
                shown.append((last - y, size))
            last = y
    return shown


def test_no_line_of_the_pdf_overlaps_the_one_above() -> None:
    body = render(PdfRelazione, lines(40))
    shown = baselines(pdf_text(body))
    assert len(shown) > 100
    # A line's baseline sits at least its own font size below the line above: a bold 9-point total
    # under the 5.6-point list of the loads was drawn 7.6 points below it, across its letters.
    cramped = [(round(d, 1), s) for d, s in shown if d < s]
    assert cramped == []
