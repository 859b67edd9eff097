"""The relazione di scarico as PDF: a pure function from `ReportData` to bytes.

The document is written uncompressed and invariant (no random ids, fixed timestamps) so the same
data gives the same bytes and the text can be searched in the raw file by tests and auditors.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.reporting.domain import ROME, ReportData, format_cents, format_rate

TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ecf2")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("ALIGN", (-3, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
)


def euro(cents: int) -> str:
    return f"€ {format_cents(cents)}"


def render(report: ReportData) -> bytes:
    """Build the PDF; tables repeat their header on every page and split across pages."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"Relazione di scarico - {report.ente}",
        author="Riscossa",
        subject=str(report.report_id),
        invariant=1,
        pageCompression=0,
    )
    doc.build(_story(report), onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def _story(report: ReportData) -> list[object]:
    styles = getSampleStyleSheet()
    return [
        Paragraph("Relazione di scarico", styles["Title"]),
        _header_table(report),
        Spacer(1, 6 * mm),
        Paragraph("Riepilogo", styles["Heading2"]),
        _totals_table(report),
        Spacer(1, 6 * mm),
        Paragraph("Totali per tipo di entrata e anno", styles["Heading2"]),
        _groups_table(report),
        Spacer(1, 6 * mm),
        Paragraph("Dettaglio delle posizioni", styles["Heading2"]),
        _positions_table(report),
    ]


def _header_table(report: ReportData) -> Table:
    start = report.period_start.strftime("%d/%m/%Y") if report.period_start else "-"
    rows = [
        ["Ente", report.ente],
        ["Data di generazione", report.generated_at.astimezone(ROME).strftime("%d/%m/%Y %H:%M")],
        ["Periodo", f"dal {start} al {report.period_end.strftime('%d/%m/%Y')}"],
        ["Generata da", report.generated_by],
        ["Identificativo", str(report.report_id)],
    ]
    return _plain(rows, [50 * mm, 180 * mm])


def _totals_table(report: ReportData) -> Table:
    t = report.totals
    rows = [
        ["Carico affidato", euro(t.assigned_cents)],
        ["Riscosso", euro(t.collected_cents)],
        ["Residuo", euro(t.residual_cents)],
        ["Percentuale riscossa", f"{str(t.collected_percent).replace('.', ',')}%"],
        [f"Aggio ({format_rate(report.aggio_rate_bp)} sul riscosso)", euro(report.aggio_cents)],
    ]
    return _plain(rows, [80 * mm, 50 * mm], align_right=True)


def _groups_table(report: ReportData) -> Table:
    header = ["Tipo di entrata", "Anno", "Posizioni", "Carico", "Riscosso", "Residuo"]
    body = [
        [
            g.revenue_type,
            str(g.year),
            str(g.positions),
            euro(g.totals.assigned_cents),
            euro(g.totals.collected_cents),
            euro(g.totals.residual_cents),
        ]
        for g in report.by_type_year
    ]
    return _grid([header, *body], [45 * mm, 20 * mm, 25 * mm, 40 * mm, 40 * mm, 40 * mm])


def _positions_table(report: ReportData) -> Table:
    header = [
        "Codice fiscale",
        "Nominativo",
        "Tipo",
        "Anno",
        "Atto",
        "Importo originario",
        "Riscosso",
        "Residuo",
    ]
    body = [
        [
            p.fiscal_code,
            p.debtor_name[:40],
            p.revenue_type,
            str(p.year),
            p.act_number[:24],
            euro(p.amount_cents),
            euro(p.collected_cents),
            euro(p.residual_cents),
        ]
        for p in report.positions
    ]
    widths = [40 * mm, 60 * mm, 20 * mm, 14 * mm, 38 * mm, 34 * mm, 34 * mm, 34 * mm]
    return _grid([header, *body], widths, long=True)


def _grid(rows: list[list[str]], widths: list[float], long: bool = False) -> Table:
    if len(rows) == 1:
        rows = [*rows, ["Nessuna posizione", *[""] * (len(rows[0]) - 1)]]
    table = (LongTable if long else Table)(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TABLE_STYLE)
    return table


def _plain(rows: list[list[str]], widths: list[float], align_right: bool = False) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    style: list[Any] = [
        ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
        ("FONT", (1, 0), (1, -1), "Helvetica", 9),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
    ]
    if align_right:
        style.append(("ALIGN", (1, 0), (1, -1), "RIGHT"))
    table.setStyle(TableStyle(style))
    return table


def _footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7)
    canvas.drawString(12 * mm, 7 * mm, "Riscossa · relazione di scarico")
    canvas.drawRightString(landscape(A4)[0] - 12 * mm, 7 * mm, f"Pagina {doc.page}")
    canvas.restoreState()
