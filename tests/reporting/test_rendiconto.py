"""The rendiconto's documents, from data to bytes (no I/O): totals, the c.803 note, every movement,
and text a spreadsheet would run as a formula kept as text."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from services.reporting import domain_aggio as rules
from services.reporting.rendiconto import CHARGES_NOTE, RendicontoData, render_pdf, render_xlsx
from services.reporting.repository_aggio import Movement


def data() -> RendicontoData:
    contract = rules.Contract(
        "Rep. 9", date(2026, 1, 1), (rules.Band(rules.ALL_TYPES, 0, None, 1850),), vat_applies=True
    )
    moves = [
        Movement(
            "pagamento",
            date(2026, 10, 5),
            "RSSMRA80A01H501U",
            "IMU",
            2021,
            '=HYPERLINK("x")',
            "01",
            "R1",
            "F1",
            123_456,
        ),
        Movement(
            "rimborso", date(2026, 10, 20), "RSSMRA80A01H501U", "IMU", 2021, "ACC-1", "01", "R1", "F1", 23_456
        ),
    ]
    result = rules.compute(contract, {"IMU": rules.Base(123_456, 23_456)})
    return RendicontoData(
        "Comune di Prova",
        date(2026, 10, 1),
        1,
        contract,
        result,
        moves,
        datetime(2026, 11, 2, tzinfo=UTC),
        "sistema",
    )


def test_the_pdf_shows_the_invoice_basis_and_the_charges_note() -> None:
    body = render_pdf(data())
    assert body.startswith(b"%PDF") and render_pdf(data()) == body  # invariant: same data, same bytes
    # 1.000,00 × 18,5% = 185,00; VAT 22% = 40,70; invoice 225,70
    for text in (
        b"Comune di Prova",
        b"ottobre 2026",
        b"1.000,00",
        b"185,00",
        b"40,70",
        b"225,70",
        b"RSSMRA80A01H501U",
    ):
        assert text in body
    assert CHARGES_NOTE[:42].encode() in body  # "Oneri di riscossione a carico del debitore"
    assert b"rendiconto dell" in body and b"relazione di scarico" not in body


def test_the_xlsx_lists_every_movement_with_formulas_neutralised() -> None:
    book = load_workbook(io.BytesIO(render_xlsx(data())), read_only=True)
    rows = [(*r, None, None)[:11] for r in book["Movimenti"].iter_rows(values_only=True)]
    assert rows[0][:3] == ("Data", "Movimento", "Codice fiscale")
    assert [r[1] for r in rows[1:]] == ["Pagamento", "Rimborso"]
    assert rows[1][5] == '\'=HYPERLINK("x")'
    assert (round(rows[1][9] * 100), rows[1][10]) == (123_456, None)
    assert (rows[2][9], round(rows[2][10] * 100)) == (None, 23_456)
    summary = [r for r in book["Riepilogo"].iter_rows(values_only=True) if r and r[0]]
    figures = {r[0]: r[1] for r in summary if len(r) > 1}
    # Numbers the sheet adds up (they were text: «225,70 €»).
    assert (round(figures["Totale da fatturare"] * 100), round(figures["Aggio"] * 100)) == (22_570, 18_500)
