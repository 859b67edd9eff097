"""The digest for the Ufficio tributi as PDF: a pure function from `Digest` to bytes.

Like the relazione (`pdf.py`), written uncompressed and invariant, so the same digest gives the same
bytes and its text can be searched in the raw file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, Spacer, Table, TableStyle

from services.kernel.money import format_euro
from services.reporting.domain_digest import ROME, Digest, figure_rows
from services.reporting.pdf import footer, plain_table, portrait_pdf

FOOTER = footer("Riscossa · riepilogo per l'Ufficio tributi", A4[0], 12 * mm)

GRID: list[Any] = [
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
    ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ecf2")),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
]


_CELL = getSampleStyleSheet()["BodyText"].clone("cell", fontSize=8, leading=10)


def render(digest: Digest) -> bytes:
    """Build the PDF; long lists split across pages and repeat their header."""
    title = f"Riepilogo della riscossione - {digest.ente}"
    return portrait_pdf(_story(digest), title, FOOTER, subject=digest.period.label())


def _story(digest: Digest) -> list[object]:
    styles = getSampleStyleSheet()
    header = [
        ["Ente", digest.ente],
        ["Periodo", digest.period.label()],
        ["Generato il", digest.generated_at.astimezone(ROME).strftime("%d/%m/%Y %H:%M")],
    ]
    return [
        Paragraph("Riepilogo della riscossione", styles["Title"]),
        plain_table(header, [40 * mm, 140 * mm]),
        Spacer(1, 6 * mm),
        Paragraph("Dati del periodo", styles["Heading2"]),
        plain_table([list(row) for row in figure_rows(digest.figures)], [90 * mm, 50 * mm], align_right=True),
        Spacer(1, 6 * mm),
        Paragraph("Riscosso nel periodo per tipo di entrata", styles["Heading2"]),
        _by_type(digest),
        Spacer(1, 6 * mm),
        Paragraph(f"Pratiche in attesa di risposta dell'ufficio: {len(digest.pending)}", styles["Heading2"]),
        _pending(digest),
    ]


def _by_type(digest: Digest) -> Table:
    header = ["Tipo di entrata", "Pagamenti", "Riscosso", "Rimborsi", "Riscosso netto"]
    body = [
        [
            line.revenue_type,
            str(line.payments),
            format_euro(line.collected_cents),
            format_euro(line.refunded_cents),
            format_euro(line.net_cents),
        ]
        for line in digest.by_type
    ]
    if body:
        f = digest.figures
        total = sum(line.payments for line in digest.by_type)
        body.append(
            [
                "Totale",
                str(total),
                *(format_euro(c) for c in (f.collected_cents, f.refunded_cents, f.net_cents)),
            ]
        )
    widths = [50 * mm, 25 * mm, 35 * mm, 35 * mm, 40 * mm]
    return _grid([header, *body], widths, "Nessun incasso nel periodo", right_from=1)


def _pending(digest: Digest) -> Table:
    header = ["Aperta il", "Giorni", "Tipo", "Stato", "Contribuente", "Codice fiscale"]
    body = [
        [
            p.opened_on.strftime("%d/%m/%Y"),
            str(p.age_days),
            Paragraph(p.kind_label, _CELL),
            "Sospesa" if p.suspended else "Da decidere",
            (p.debtor_name or "-")[:40],
            p.fiscal_code or "-",
        ]
        for p in digest.pending
    ]
    widths = [22 * mm, 15 * mm, 45 * mm, 24 * mm, 45 * mm, 35 * mm]
    return _grid([header, *body], widths, "Nessuna pratica in attesa", right_from=1, right_to=1, long=True)


def _grid(
    rows: Sequence[Sequence[object]],
    widths: list[float],
    empty: str,
    right_from: int,
    right_to: int = -1,
    long: bool = False,
) -> Table:
    if len(rows) == 1:
        rows = [*rows, [empty, *[""] * (len(rows[0]) - 1)]]
    table = (LongTable if long else Table)(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([*GRID, ("ALIGN", (right_from, 1), (right_to, -1), "RIGHT")]))
    return table
