"""The PDF of a pagoPA payment notice (avviso di pagamento), drawn with reportlab.

It carries what the notice must show: the creditor and its fiscal code, the CBILL code, the notice
number in groups of four, the amount, the due date, the payee, the reason, and the QR code
`PAGOPA|002|<NAV>|<creditor fiscal code>|<cents>` (segno's symbol, error correction M, 25 mm,
vector; `qr_matrix` chooses its mask faster) and,
when the Comune has a postal account, the Poste DataMatrix (`domain_datamatrix`, pyStrich, vector).

Both codes are written as one PDF path of horizontal runs in module units under a scaling transform:
one operator per run instead of one formatted rectangle per module keeps a notice cheap to render.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pystrich.datamatrix import DataMatrixData, DataMatrixEncoder
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from services.contracts import REVENUE_TYPE_NAMES
from services.payments import qr_matrix
from services.payments.domain import format_cents
from services.payments.domain_datamatrix import poste_payload
from services.payments.domain_notices import printed, qr_payload

QR_SIDE = 25 * mm
QR_BORDER = 4  # modules of quiet zone, inside the 25 mm
_DARK = re.compile(rb"\x01+")
DATAMATRIX_SIDE = 30 * mm


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
    # The Comune's postal account: the notice then carries the Poste DataMatrix.
    postal_account: str | None = None
    # The payee's postal address, printed under the name when the notice goes by post.
    payee_address: str = ""


def _runs(rows: Sequence[bytes | bytearray], border: int) -> list[tuple[int, int, int, int]]:
    """The dark horizontal runs of a matrix (top row first, one byte per module, 1 dark) as
    rectangles (column, row from the bottom, length, 1), inside a quiet zone of `border` modules."""
    height = len(rows) + 2 * border
    return [
        (border + run.start(), height - 1 - border - row, run.end() - run.start(), 1)
        for row, line in enumerate(rows)
        for run in _DARK.finditer(line)
    ]


def _draw_matrix(
    canvas: Canvas, marks: list[tuple[int, int, int, int]], modules: int, x: float, y: float, side: float
) -> None:
    """Draws the dark rectangles (module units, y up) of a `modules`-wide symbol as one filled vector
    path in a `side` square at (x, y)."""
    module = side / modules
    path = " ".join(f"{col} {row} {width} {height} re" for col, row, width, height in marks)
    canvas.saveState()
    canvas.transform(module, 0, 0, module, x, y)
    canvas.addLiteral(f"{path} f")
    canvas.restoreState()


def _qr(canvas: Canvas, payload: str, x: float, y: float) -> None:
    """The QR code, quiet zone included in the 25 mm."""
    rows, _ = qr_matrix.matrix(payload)
    _draw_matrix(canvas, _runs(rows, QR_BORDER), len(rows) + 2 * QR_BORDER, x, y, QR_SIDE)


def _datamatrix(canvas: Canvas, payload: str, x: float, y: float) -> None:
    """The Poste DataMatrix (ECC 200, ASCII), quiet zone included in the 30 mm."""
    marks = DataMatrixEncoder(DataMatrixData(payload, encoding="ascii")).get_rect_marks()
    rects = [(mx, marks.height - my - h, w, h) for mx, my, w, h in marks.marks]
    _draw_matrix(canvas, rects, marks.width, x, y, DATAMATRIX_SIDE)


def _postal(canvas: Canvas, notice: Notice, left: float, y: float) -> None:
    """The postal bulletin part: the account and the DataMatrix that Poste's counters read."""
    assert notice.postal_account is not None
    payload = poste_payload(
        notice.nav,
        notice.postal_account,
        notice.amount_cents,
        notice.creditor_fiscal_code,
        notice.payee_fiscal_code,
        notice.payee_name,
        notice.reason,
    )
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(left, y, "BOLLETTINO POSTALE PA")
    canvas.setFont("Helvetica", 9)
    canvas.drawString(left, y - 6 * mm, f"Conto corrente postale n. {notice.postal_account}")
    canvas.drawString(
        left, y - 11 * mm, "Tipo documento P.A. (896). Può pagare negli uffici postali con il DataMatrix."
    )
    _datamatrix(canvas, payload, A4[0] - 20 * mm - DATAMATRIX_SIDE, y - DATAMATRIX_SIDE + 4 * mm)


def render(notice: Notice) -> bytes:
    """One A4 page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=0)
    canvas.setTitle(f"Avviso di pagamento {printed(notice.nav)}")
    left, top = 20 * mm, A4[1] - 25 * mm
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(left, top, "AVVISO DI PAGAMENTO pagoPA")
    lines = [
        ("Ente creditore", notice.creditor_name),
        ("Codice fiscale ente creditore", notice.creditor_fiscal_code),
        ("Destinatario", f"{notice.payee_name} ({notice.payee_fiscal_code})"),
        *((("Indirizzo", notice.payee_address),) if notice.payee_address else ()),
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
        left,
        y - 4 * mm,
        "Può pagare con l'app IO, sul sito o nell'app della sua banca (circuito CBILL) o presso i",
    )
    canvas.drawString(
        left,
        y - 9 * mm,
        "prestatori di servizi di pagamento aderenti a pagoPA, con il codice avviso o il QR code.",
    )
    if notice.postal_account:
        _postal(canvas, notice, left, y - 24 * mm)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def notice_of(creditor: Any, option: Any) -> Notice:
    """What an option's notice prints (a plan's option names its installment)."""
    name = REVENUE_TYPE_NAMES.get(option.revenue_type, option.revenue_type)
    if option.plan_id is None:
        reason = f"{name} {option.year}, atto {option.act_number}"
    elif option.kind == "charges":
        reason = f"{name}: oneri di riscossione (L. 160/2019 c. 803)"
    elif option.installment is None:
        reason = f"{name}: saldo unico, in alternativa alle rate"
    else:
        reason = f"{name}: rata {option.installment} del piano di rateizzazione"
    return Notice(
        creditor_name=creditor.name,
        creditor_fiscal_code=creditor.fiscal_code,
        cbill=creditor.cbill,
        nav=option.nav,
        amount_cents=option.amount_cents,
        due_date=option.due_date,
        payee_name=option.debtor_name,
        payee_fiscal_code=option.fiscal_code,
        reason=reason,
        postal_account=creditor.postal_account,
    )
