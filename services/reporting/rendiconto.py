"""The monthly rendiconto of the aggio as PDF and XLSX: pure functions from `RendicontoData` to bytes.

Both list every movement that makes up the base (payments collected in the month, refunds of the
month), the totals by revenue type, the taxable base, the aggio, VAT and the invoice basis. The PDF
is written uncompressed and invariant, like the relazione (`pdf.py`), so its text can be searched.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, LongTable, Paragraph, SimpleDocTemplate, Spacer

from services.kernel.formats import format_month
from services.reporting.domain import ROME
from services.reporting.domain_aggio import (
    ALL_TYPES,
    BASIS_LABELS,
    AggioResult,
    Contract,
    euro,
    format_percent,
)
from services.reporting.pdf import TABLE_STYLE, NumberedCanvas, footer, plain_table
from services.reporting.repository_aggio import Movement

FOOTER = footer("Riscossa · rendiconto dell'aggio", landscape(A4)[0], 10 * mm)

# The c.803 charges are paid with a pagoPA notice of their own (payments) and arrive apart.
CHARGES_NOTE = (
    "Oneri di riscossione a carico del debitore (L. 160/2019, art. 1 c. 803): il debitore li paga "
    "con un avviso pagoPA a parte; spettano al Comune, non sono riscosso del carico e non entrano "
    "nella base dell'aggio, quindi sono indicati qui a parte."
)
CHARGES_HEADER = ("Entrata", "Oneri c. 803 incassati")
MOVEMENT_HEADER = (
    "Data",
    "Movimento",
    "Codice fiscale",
    "Entrata",
    "Anno",
    "Atto",
    "IUV",
    "Ricevuta",
    "Flusso",
    "Riscosso",
    "Rimborso",
)


@dataclass(frozen=True)
class RendicontoData:
    ente: str
    month: date
    version: int
    contract: Contract
    result: AggioResult
    movements: list[Movement]
    generated_at: datetime
    generated_by: str
    # The c.803 charges paid in the month, per revenue type (not revoked), in cents.
    charges: dict[str, int] = field(default_factory=dict)


def month_label(month: date) -> str:
    return format_month(month)


def file_stem(month: date, version: int) -> str:
    return f"rendiconto-aggio-{month:%Y-%m}-v{version}"


def _type_name(revenue_type: str) -> str:
    return "Tutte le altre entrate" if revenue_type == ALL_TYPES else revenue_type


def rates_rows(contract: Contract) -> list[list[str]]:
    return [
        [
            _type_name(b.revenue_type),
            euro(b.from_cents),
            "oltre" if b.to_cents is None else euro(b.to_cents),
            format_percent(b.rate_bp),
        ]
        for b in contract.bands
    ]


def type_rows(result: AggioResult, money: Callable[[int], Any] = euro) -> list[list[Any]]:
    """Per revenue type and in total: collected, refunds, taxable base, aggio, revoked (`money`
    writes each amount: text for the PDF, a number cell for the XLSX)."""
    t = result.totals
    lines = [(line.revenue_type, line.base, line.aggio_cents) for line in result.lines]
    return [
        [
            label,
            *(
                money(c)
                for c in (b.collected_cents, b.refunded_cents, b.taxable_cents, aggio, b.revoked_cents)
            ),
        ]
        for label, b, aggio in [*lines, ("Totale", t, result.aggio_cents)]
    ]


def charges_rows(charges: dict[str, int]) -> list[list[str]]:
    """The month's c.803 charges by revenue type, with their total (none: one line saying so)."""
    if not charges:
        return [["Nessun onere incassato nel mese", euro(0)]]
    return [[t, euro(c)] for t, c in sorted(charges.items())] + [["Totale", euro(sum(charges.values()))]]


def invoice_rows(data: RendicontoData, money: Callable[[int], Any] = euro) -> list[list[Any]]:
    r = data.result
    vat = f"IVA ({format_percent(r.vat_rate_bp)})" if data.contract.vat_applies else "IVA (non applicata)"
    return [
        ["Riscosso nel mese (pagamenti non revocati)", money(r.totals.collected_cents)],
        ["Rimborsi del mese", money(r.totals.refunded_cents)],
        ["Base imponibile dell'aggio", money(r.totals.taxable_cents)],
        ["Aggio", money(r.aggio_cents)],
        [vat, money(r.vat_cents)],
        ["Totale da fatturare", money(r.invoice_cents)],
    ]


def movement_row(m: Movement) -> list[Any]:
    paid = m.amount_cents if m.kind == "pagamento" else None
    back = m.amount_cents if m.kind == "rimborso" else None
    return [
        m.day,
        "Pagamento" if paid is not None else "Rimborso",
        m.fiscal_code,
        m.revenue_type,
        m.year,
        m.act_number,
        m.iuv,
        m.receipt_ref,
        m.flow_id,
        paid,
        back,
    ]


# --- PDF -----------------------------------------------------------------------------------------


def render_pdf(data: RendicontoData) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=f"Rendiconto aggio {month_label(data.month)} - {data.ente}",
        author="Riscossa",
        invariant=1,
        pageCompression=0,
    )
    doc.build(_story(data), onFirstPage=FOOTER, onLaterPages=FOOTER, canvasmaker=NumberedCanvas)
    return buffer.getvalue()


def _story(data: RendicontoData) -> list[object]:
    styles = getSampleStyleSheet()
    c = data.contract
    header = [
        ["Ente", data.ente],
        ["Mese", month_label(data.month)],
        ["Contratto", f"{c.reference} (dal {c.start_date:%d/%m/%Y}) - {BASIS_LABELS[c.basis]}"],
        ["Versione", str(data.version)],
        ["Generato il", f"{data.generated_at.astimezone(ROME):%d/%m/%Y %H:%M} da {data.generated_by}"],
    ]
    rows = [_text_row(m) for m in data.movements]
    return [
        Paragraph(f"Rendiconto dell'aggio - {month_label(data.month)}", styles["Title"]),
        plain_table(header, [45 * mm, 200 * mm]),
        Spacer(1, 4 * mm),
        Paragraph("Base di fatturazione", styles["Heading2"]),
        plain_table(invoice_rows(data), [90 * mm, 45 * mm], align_right=True),
        Spacer(1, 4 * mm),
        Paragraph("Per tipo di entrata", styles["Heading2"]),
        _grid(
            [
                ["Entrata", "Riscosso", "Rimborsi", "Base imponibile", "Aggio", "Revocato (escluso)"],
                *type_rows(data.result),
            ],
            money_from=1,
        ),
        Spacer(1, 4 * mm),
        Paragraph("Aliquote del contratto (scaglioni marginali)", styles["Heading2"]),
        _grid([["Entrata", "Da", "Fino a", "Aliquota"], *rates_rows(c)]),
        Spacer(1, 3 * mm),
        # The heading stays with its note and table (it was left alone at the foot of a page).
        KeepTogether(
            [
                Paragraph(
                    "Oneri di riscossione a carico dei debitori (fuori dalla base)", styles["Heading2"]
                ),
                Paragraph(CHARGES_NOTE, styles["Normal"]),
                _grid([list(CHARGES_HEADER), *charges_rows(data.charges)], money_from=1),
            ]
        ),
        Spacer(1, 4 * mm),
        Paragraph("Movimenti che compongono la base", styles["Heading2"]),
        _grid(
            [list(MOVEMENT_HEADER), *rows]
            if rows
            else [list(MOVEMENT_HEADER), ["Nessun movimento nel mese", *[""] * 10]]
        ),
    ]


def _text_row(m: Movement) -> list[str]:
    values = movement_row(m)
    money = [euro(v) if v is not None else "" for v in values[9:]]
    return [f"{m.day:%d/%m/%Y}", *(str(v) for v in values[1:9]), *money]


def _grid(rows: list[list[str]], money_from: int | None = None) -> LongTable:
    """A table with its header repeated on each page; `money_from`: the first column of amounts,
    all right-aligned (else the last three are)."""
    table = LongTable(rows, repeatRows=1, hAlign="LEFT")
    table.setStyle(TABLE_STYLE)
    if money_from is not None:
        table.setStyle([("ALIGN", (money_from, 1), (-1, -1), "RIGHT")])
    return table


# --- XLSX ----------------------------------------------------------------------------------------


def _safe(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def render_xlsx(data: RendicontoData) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet("Riepilogo")
    summary.append([f"Rendiconto dell'aggio - {month_label(data.month)}", data.ente])
    summary.append(["Contratto", data.contract.reference, BASIS_LABELS[data.contract.basis]])
    summary.append(["Versione", data.version])
    summary.append([])

    def amount(cents: int) -> Any:  # a number the sheet can add up, shown as euro
        cell = WriteOnlyCell(summary, value=Decimal(cents) / 100)
        cell.number_format = "#,##0.00"
        return cell

    for label, value in invoice_rows(data, amount):
        summary.append([label, value])
    summary.append([])
    summary.append(["Entrata", "Riscosso", "Rimborsi", "Base imponibile", "Aggio", "Revocato (escluso)"])
    for row in type_rows(data.result, amount):
        summary.append(row)
    summary.append([])
    summary.append([CHARGES_NOTE])
    summary.append(list(CHARGES_HEADER))
    lines = sorted(data.charges.items()) or [("Nessun onere incassato nel mese", 0)]
    if data.charges:
        lines.append(("Totale", sum(data.charges.values())))
    for label, cents in lines:
        charge = WriteOnlyCell(summary, value=Decimal(cents) / 100)
        charge.number_format = "#,##0.00"
        summary.append([label, charge])
    sheet = workbook.create_sheet("Movimenti")
    sheet.append(list(MOVEMENT_HEADER))

    for m in data.movements:
        values = movement_row(m)
        cells: list[Any] = []
        for i, value in enumerate(values):
            if i >= 9 and value is not None:
                money = WriteOnlyCell(sheet, value=Decimal(value) / 100)
                money.number_format = "#,##0.00"
                cells.append(money)
            elif isinstance(value, date):
                day = WriteOnlyCell(sheet, value=value)
                day.number_format = "DD/MM/YYYY"
                cells.append(day)
            else:
                cells.append(_safe(value))
        sheet.append(cells)
    with tempfile.TemporaryDirectory(prefix="riscossa-rendiconto-") as folder:
        path = Path(folder) / "rendiconto.xlsx"
        workbook.save(path)
        return path.read_bytes()
