"""Files we hand back to the Comune: a batch's error report (CSV, XLSX) and the cleaning report (PDF, XLSX).

The report keeps the file's own header and cells, so the Comune can correct the rows and upload
the report again; three columns at the end say why each row was not registered. Every cell that
a spreadsheet would take for a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from services.ingest.labels import CLEANING_WARNING_LABELS, CONTACT_KINDS, GRADES, verdict_label
from services.kernel.cells import neutralise
from services.kernel.formats import format_count, format_phone
from services.kernel.money import format_euro

REPORT_COLUMNS = ("ESITO", "MOTIVO", "RIGA_FILE")


def report_header(header: Sequence[str]) -> list[str]:
    return [neutralise(h) for h in header] + list(REPORT_COLUMNS)


def report_line(row: Any, width: int) -> list[str]:
    cells = list(row.cells or [])
    cells += [""] * (width - len(cells))
    reason = row.reason_it or ""
    return [neutralise(c) for c in cells] + [
        verdict_label(row.verdict),
        neutralise(reason),
        str(row.line_number),
    ]


def csv_report(header: Sequence[str], rows: Iterable[Any]) -> bytes:
    """UTF-8 with BOM and semicolons: what Excel in Italian opens correctly with a double click."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(report_header(header))
    for row in rows:
        writer.writerow(report_line(row, len(header)))
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


# The rows registered with warnings (a phone that cannot be used, an incomplete address...): not
# for uploading again, so the credit as it was read rather than the file's cells (kept only for
# the rows not registered).
WARNING_HEADER = (
    "CODICE_FISCALE",
    "NOMINATIVO",
    "TRIBUTO",
    "ANNO",
    "NUMERO_ATTO",
    "IMPORTO",
    "ESITO",
    "AVVERTENZE",
    "RIGA_FILE",
)


def warning_line(row: Any) -> list[str]:
    credit = (row.fiscal_code, row.name, row.revenue_type, row.year, row.act_number)
    amount = format_euro(row.amount_cents).replace("€ ", "") if row.amount_cents is not None else ""
    texts = [neutralise("" if v is None else str(v)) for v in credit]
    return [
        *texts,
        amount,
        verdict_label(row.verdict),
        neutralise(row.warnings_it or ""),
        str(row.line_number),
    ]


def csv_warnings(rows: Iterable[Any]) -> bytes:
    """As `csv_report`, the rows registered with warnings."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(WARNING_HEADER)
    writer.writerows(warning_line(row) for row in rows)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def xlsx_warnings(rows: Iterable[Any]) -> bytes:
    return _workbook("Righe con avvertenze", WARNING_HEADER, (warning_line(row) for row in rows))


def _workbook(title: str, header: Sequence[str], lines: Iterable[Sequence[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(list(header))
    for line in lines:
        sheet.append(list(line))
    with tempfile.TemporaryDirectory(prefix="riscossa-report-") as folder:
        path = Path(folder) / "report.xlsx"
        workbook.save(path)
        return path.read_bytes()


def xlsx_report(header: Sequence[str], rows: Iterable[Any]) -> bytes:
    return _workbook(
        "Righe da correggere", report_header(header), (report_line(row, len(header)) for row in rows)
    )


# ---------------------------------------------------------------- cleaning report


@dataclass(frozen=True)
class CleaningReport:
    """What the cleaning did for a Comune: corrected, traced, still unreachable."""

    comune: str
    generated_on: date
    normalised_phones: int
    warnings: dict[str, int]
    grades: dict[str, int]
    contact_counts: list[Any]
    traced: list[Any]
    unreachable: list[Any]


PDF_LIST_LIMIT = 500


# The debtors of each grade, as the summary counts them.
GRADE_COUNTS = {
    "phone": "Debitori raggiungibili per telefono",
    "address": "Debitori raggiungibili solo per iscritto (indirizzo o PEC)",
    "none": "Debitori senza recapiti utilizzabili",
}


def summary_rows(report: CleaningReport) -> list[tuple[str, int]]:
    """The summary's figures as numbers (the spreadsheet adds them up; the PDF writes them)."""
    rows = [("Telefoni normalizzati nel formato internazionale (E.164)", report.normalised_phones)]
    rows += [(CLEANING_WARNING_LABELS.get(k, k), v) for k, v in sorted(report.warnings.items())]
    rows += [(GRADE_COUNTS[g], report.grades.get(g, 0)) for g in GRADES]
    return rows


def _contact_value(kind: str, value: str, cell: Callable[[str], str]) -> str:
    """A phone as people dial it (checked digits: nothing a spreadsheet would run); any other
    datum through `cell`."""
    return format_phone(value) if kind == "phone" else cell(value)


def traced_rows(report: CleaningReport, cell: Callable[[str], str] = neutralise) -> list[list[str]]:
    """The traced contacts; `cell` makes the Comune's texts safe for the file (a spreadsheet: the
    formula neutralised; a PDF runs nothing)."""
    return [
        [
            c.fiscal_code,
            cell(c.name),
            CONTACT_KINDS.get(c.kind, c.kind),
            _contact_value(c.kind, c.value, cell),
            cell(c.source),
            c.found_on.strftime("%d/%m/%Y"),
            str(c.confidence),
            "attivo" if c.active else "segnalato errato",
        ]
        for c in report.traced
    ]


def unreachable_rows(report: CleaningReport, cell: Callable[[str], str] = neutralise) -> list[list[str]]:
    return [[d.fiscal_code, cell(d.name), format_euro(d.due_cents)] for d in report.unreachable]


TRACED_HEADER = ["Codice fiscale", "Nominativo", "Tipo", "Recapito", "Fonte", "Data", "Affidabilità", "Stato"]
UNREACHABLE_HEADER = ["Codice fiscale", "Nominativo", "Importo dovuto"]


def cleaning_xlsx(report: CleaningReport) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet("Riepilogo")
    summary.append(
        [f"Bonifica dei dati – {neutralise(report.comune)}", report.generated_on.strftime("%d/%m/%Y")]
    )
    for label, count in summary_rows(report):
        summary.append([label, count])
    traced = [[*r[:6], c.confidence, r[7]] for r, c in zip(traced_rows(report), report.traced, strict=True)]
    # Amounts as numbers in euro, which the spreadsheet sums (they were text: «€ 2.320,60»).
    unreachable = [
        [d.fiscal_code, neutralise(d.name), Decimal(d.due_cents).scaleb(-2)] for d in report.unreachable
    ]
    for title, header, rows in (
        ("Rintracciati", TRACED_HEADER, traced),
        ("Irraggiungibili", [*UNREACHABLE_HEADER[:2], "Importo dovuto (€)"], unreachable),
    ):
        sheet = workbook.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    with tempfile.TemporaryDirectory(prefix="riscossa-report-") as folder:
        path = Path(folder) / "report.xlsx"
        workbook.save(path)
        return path.read_bytes()


def cleaning_pdf(report: CleaningReport) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), title="Rapporto di bonifica dei dati")
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 8)])

    def table(header: list[str], rows: list[list[str]]) -> list[Any]:
        shown = rows[:PDF_LIST_LIMIT]
        parts: list[Any] = [Table([header, *shown], repeatRows=1, style=grid)] if shown else []
        if not rows:
            parts.append(Paragraph("Nessuno.", styles["Normal"]))
        if len(rows) > PDF_LIST_LIMIT:
            note = (
                f"Elenco limitato ai primi {PDF_LIST_LIMIT} di {len(rows)}: il file Excel li contiene tutti."
            )
            parts.append(Paragraph(note, styles["Italic"]))
        return parts

    title = f"Rapporto di bonifica dei dati – {escape(report.comune)}"
    story: list[Any] = [
        Paragraph(title, styles["Title"]),
        Paragraph(f"Generato il {report.generated_on:%d/%m/%Y}", styles["Normal"]),
        Spacer(1, 12),
        Paragraph("Dati corretti e segnalati", styles["Heading2"]),
        Table([[label, format_count(n)] for label, n in summary_rows(report)], style=grid),
        Paragraph("Recapiti rintracciati", styles["Heading2"]),
        *table(TRACED_HEADER, [[escape(c) for c in r] for r in traced_rows(report, str)]),
        Paragraph("Debitori ancora irraggiungibili", styles["Heading2"]),
        *table(UNREACHABLE_HEADER, [[escape(c) for c in r] for r in unreachable_rows(report, str)]),
    ]
    document.build(story)
    return buffer.getvalue()
