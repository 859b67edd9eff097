"""What the reporting service's platypus documents share (the aggio's rendiconto): the table style.
The relazione di scarico is drawn page by page on a canvas instead (`render_pdf`)."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.platypus import TableStyle

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
