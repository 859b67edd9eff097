"""What the reporting service's platypus documents share (the aggio's rendiconto, the digest): the
table style, the two-column table of labels and values, the footer. The relazione di scarico is
drawn page by page on a canvas instead (`render_pdf`)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

PageDrawer = Callable[[Canvas, SimpleDocTemplate], None]
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


def plain_table(rows: list[list[str]], widths: list[float], align_right: bool = False) -> Table:
    """Labels in bold beside their values, a thin line under each row."""
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


def portrait_pdf(story: list[Any], title: str, draw_footer: PageDrawer, subject: str = "") -> bytes:
    """An A4 portrait document of these flowables, uncompressed and invariant (the same content
    gives the same bytes), the footer on every page."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=title,
        author="Riscossa",
        subject=subject,
        invariant=1,
        pageCompression=0,
    )
    doc.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer, canvasmaker=NumberedCanvas)
    return buffer.getvalue()


class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no types
    """A canvas that holds its pages until the document ends, so that each footer can say
    «Pagina N di M» (the footer leaves the place of the number in `page_label_at`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_label_at: tuple[float, float] | None = None
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for state in self._held:
            self.__dict__.update(state)
            if self.page_label_at is not None:
                self.setFont("Helvetica", 7)
                x, y = self.page_label_at
                self.drawRightString(x, y, f"Pagina {self._pageNumber} di {total}")
            super().showPage()
        super().save()


def footer(title: str, page_width: float, margin: float) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """The footer of every page: what the document is, and «Pagina N di M» on a `NumberedCanvas`
    («Pagina N» on any other)."""

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(margin, 7 * mm, title)
        if isinstance(canvas, NumberedCanvas):
            canvas.page_label_at = (page_width - margin, 7 * mm)
        else:
            canvas.drawRightString(page_width - margin, 7 * mm, f"Pagina {doc.page}")
        canvas.restoreState()

    return draw
