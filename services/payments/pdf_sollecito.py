"""The PDF of the reminder (sollecito) of a plan with a missed installment, drawn with reportlab.

It names the Comune and the taxpayer, lists the missed installments and what is unpaid of each, the
residue of the plan, and warns of the lapse of L. 160/2019, art. 1 c. 800.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from services.payments.domain import format_cents
from services.payments.domain_lapse import InstallmentState

WARNING = (
    "Ai sensi dell'art. 1, comma 800, della Legge 27 dicembre 2019, n. 160, in caso di mancato "
    "pagamento, dopo questo sollecito, di due rate anche non consecutive nell'arco di sei mesi, "
    "decadrà automaticamente dal beneficio della rateizzazione: l'intero importo residuo sarà "
    "immediatamente riscuotibile in un'unica soluzione e non potrà più essere rateizzato."
)

# One page: the first missed installments are listed, the others counted.
# The reopened installments explained one per line, at most (the page has room for these).
MOST_NOTES = 3
MOST_ROWS = 18


@dataclass(frozen=True)
class Sollecito:
    creditor_name: str
    debtor_name: str
    fiscal_code: str
    acts: tuple[str, ...]
    plan_date: date
    installments: int
    missed: tuple[InstallmentState, ...]
    residual_cents: int
    issued_on: date


def _wrap(text: str, width: int = 95) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def _table(canvas: Canvas, left: float, y: float, rows: tuple[InstallmentState, ...]) -> float:
    columns = (0, 22 * mm, 62 * mm, 102 * mm, 142 * mm)
    canvas.setFont("Helvetica-Bold", 9)
    for x, title in zip(columns, ("Rata", "Scadenza", "Importo", "Pagato", "Da pagare"), strict=True):
        canvas.drawString(left + x, y, title)
    canvas.setFont("Helvetica", 9)
    for row in rows[:MOST_ROWS]:
        y -= 5 * mm
        values = (
            str(row.number),
            row.falls_due.strftime("%d/%m/%Y") + ("*" if row.reopened_note else ""),
            format_cents(row.amount_cents),
            format_cents(row.paid_cents),
            format_cents(row.unpaid_cents),
        )
        for x, value in zip(columns, values, strict=True):
            canvas.drawString(left + x, y, value)
    if len(rows) > MOST_ROWS:
        y -= 5 * mm
        canvas.drawString(left, y, f"… e altre {len(rows) - MOST_ROWS} rate scadute non pagate.")
    reopened = [r for r in rows[:MOST_ROWS] if r.reopened_note]
    for row in reopened[:MOST_NOTES]:
        y -= 5 * mm
        canvas.drawString(left, y, f"* Rata {row.number}: {row.reopened_note}.")
    if len(reopened) > MOST_NOTES:
        y -= 5 * mm
        more = len(reopened) - MOST_NOTES
        canvas.drawString(
            left, y, f"* … e altre {more} rate di nuovo dovute per un rimborso o un pagamento revocato."
        )
    return y


def render(sollecito: Sollecito) -> bytes:
    """One A4 page, in Italian."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle("Sollecito di pagamento delle rate")
    left, y = 20 * mm, A4[1] - 25 * mm
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(left, y, sollecito.creditor_name[:90])
    canvas.setFont("Helvetica-Bold", 15)
    canvas.drawString(left, y - 12 * mm, "SOLLECITO DI PAGAMENTO")
    canvas.setFont("Helvetica", 10)
    y -= 22 * mm
    intro = [
        f"Gentile {sollecito.debtor_name} (codice fiscale {sollecito.fiscal_code}),",
        *_wrap(
            f"con riferimento al piano di rateizzazione concesso il "
            f"{sollecito.plan_date.strftime('%d/%m/%Y')} in {sollecito.installments} rate mensili "
            f"(atti: {', '.join(sollecito.acts)}), non risultano pagate per intero le seguenti rate scadute:"
        ),
    ]
    for line in intro:
        canvas.drawString(left, y, line[:110])
        y -= 5 * mm
    y = _table(canvas, left, y - 3 * mm, sollecito.missed) - 10 * mm
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(left, y, f"Residuo del piano: {format_cents(sollecito.residual_cents)}")
    canvas.setFont("Helvetica", 10)
    y -= 10 * mm
    closing = [
        *_wrap(
            "La invitiamo a pagare al più presto le rate scadute con gli avvisi pagoPA che ha ricevuto. "
            "Se ha già pagato, non tenga conto di questo sollecito."
        ),
        "",
        *_wrap(WARNING),
    ]
    for line in closing:
        canvas.drawString(left, y, line)
        y -= 5 * mm
    canvas.drawString(left, y - 5 * mm, f"Data: {sollecito.issued_on.strftime('%d/%m/%Y')}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
