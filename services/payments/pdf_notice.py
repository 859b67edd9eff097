"""The PDF of a pagoPA payment notice (avviso di pagamento), drawn with reportlab.

It carries what the notice must show: the creditor and its fiscal code, the CBILL code, the notice
number in groups of four, the amount, the due date, the payee, the reason, and the QR code
`PAGOPA|002|<NAV>|<creditor fiscal code>|<cents>` (segno, error correction M, 25 mm, vector).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from services.payments.domain import format_cents
from services.payments.domain_notices import printed, qr_payload

QR_SIDE = 25 * mm


@dataclass(frozen=True)
class Notice:
    creditor_name: str
    creditor_fiscal_code: str
    cbill: str
    nav: str
    amount_cents: int
    due_date: date
    payee_name: str
    payee_fiscal_code: str
    reason: str


def _qr(canvas: Canvas, payload: str, x: float, y: float) -> None:
    """The QR code as vector squares, quiet zone included in the 25 mm."""
    code = segno.make(payload, error="m", micro=False, boost_error=False)
    matrix = list(code.matrix_iter(scale=1, border=4))
    module = QR_SIDE / len(matrix)
    for row, line in enumerate(matrix):
        for col, dark in enumerate(line):
            if dark:
                canvas.rect(
                    x + col * module, y + QR_SIDE - (row + 1) * module, module, module, stroke=0, fill=1
                )


def render(notice: Notice) -> bytes:
    """One A4 page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"Avviso di pagamento {printed(notice.nav)}")
    left, top = 20 * mm, A4[1] - 25 * mm
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(left, top, "AVVISO DI PAGAMENTO pagoPA")
    lines = [
        ("Ente creditore", notice.creditor_name),
        ("Codice fiscale ente creditore", notice.creditor_fiscal_code),
        ("Destinatario", f"{notice.payee_name} ({notice.payee_fiscal_code})"),
        ("Oggetto del pagamento", notice.reason),
        ("Importo", format_cents(notice.amount_cents)),
        ("Entro il", notice.due_date.strftime("%d/%m/%Y")),
        ("Codice avviso", printed(notice.nav)),
        ("Codice CBILL", notice.cbill),
    ]
    y = top - 14 * mm
    for label, value in lines:
        canvas.setFont("Helvetica", 9)
        canvas.drawString(left, y, label.upper())
        canvas.setFont("Helvetica-Bold", 12)
        canvas.drawString(left, y - 5 * mm, value[:90])
        y -= 13 * mm
    payload = qr_payload(notice.nav, notice.creditor_fiscal_code, notice.amount_cents)
    _qr(canvas, payload, A4[0] - 20 * mm - QR_SIDE, top - 14 * mm - QR_SIDE)
    canvas.setFont("Helvetica", 9)
    canvas.drawString(
        left, y - 4 * mm, "Paga con l'app IO, sul sito o nell'app della tua banca (circuito CBILL) o presso i"
    )
    canvas.drawString(
        left,
        y - 9 * mm,
        "prestatori di servizi di pagamento aderenti a pagoPA, con il codice avviso o il QR code.",
    )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
