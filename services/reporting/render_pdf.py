"""The relazione di scarico as PDF, drawn page by page on a reportlab canvas as the lines stream.

Platypus tables would measure and hold every row (100,000 positions); here each page is one text
object of fixed-width lines (Courier, so the columns align without measuring), the column header
repeated on every page, the page number in the footer. The document is invariant (no random ids,
no clock) so the same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting import domain_relazione_totals as tot
from services.reporting.domain import format_cents

WIDTH, HEIGHT = landscape(A4)
MARGIN = 12 * mm
TOP, BOTTOM = HEIGHT - 14 * mm, 14 * mm
MONO, MONO_BOLD, SANS, SANS_BOLD = "Courier", "Courier-Bold", "Helvetica", "Helvetica-Bold"
# 5.6 pt Courier: 230 characters across the landscape page, every label whole.
SIZE, LEADING = 5.6, 7.6
# (header, width in characters, right-aligned) of the positions' table, in `rel.COLUMNS` order
# but for the payments and the verdict (the reason not collected and the proposed next step), which
# go on lines of their own under their position.
TABLE: tuple[tuple[str, int, bool], ...] = (
    ("Codice fiscale", 16, False),
    ("Entrata", 7, False),
    ("Anno", 4, False),
    ("Atto", 16, False),
    *((header, 15, True) for header in rel.MONEY_HEADERS),
    ("Tent.", 5, True),
    ("Ultimo esito", 26, False),
    ("Rintraccio", 31, False),
    ("Rate", 4, True),
    ("Decaduto", 10, False),
)
PAYMENTS_COLUMN = rel.COLUMNS.index("Pagamenti (IUV, data, flusso)")
REASON_COLUMN = rel.COLUMNS.index("Motivo mancata riscossione")
INDENT = " " * 19


TABLE_FORMAT = " ".join(f"{{:{'>' if right else '<'}{w}.{w}}}" for _, w, right in TABLE)
TABLE_HEADER = TABLE_FORMAT.format(*(h for h, _, _ in TABLE))
VERDICT_HEADER = f"{INDENT}motivo mancata riscossione; prossimo passo proposto"
# A PDF string escapes its backslashes and parentheses; a byte above 127 is written in octal.
_OCTAL = {i: f"\\{i:03o}" for i in range(128, 256)}
_OCTAL.update({ord("\\"): "\\\\", ord("("): "\\(", ord(")"): "\\)"})


def pdf_string(line: str) -> str:
    """`line` as the body of a PDF string in WinAnsi (the standard fonts' encoding), as reportlab's
    `textLine` writes it for them; what WinAnsi lacks becomes "?"."""
    if line.isascii():
        if "(" in line or ")" in line or "\\" in line:
            return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return line
    return line.encode("cp1252", "replace").decode("latin-1").translate(_OCTAL)


def position_lines(item: rel.Line) -> list[str]:
    """A position's line (columns cut to their width), its verdict when something explains it (the
    reason not collected and the next step), then one line per payment counted."""
    texts = item.texts
    lines = [TABLE_FORMAT.format(*texts[:PAYMENTS_COLUMN], *texts[PAYMENTS_COLUMN + 1 : REASON_COLUMN])]
    if item.reason is not None:
        lines.append(f"{INDENT}motivo: {texts[REASON_COLUMN]}; prossimo passo: {texts[REASON_COLUMN + 1]}")
    lines += [f"{INDENT}pagamento {rel.receipt_text(r)}" for r in item.history.receipts]
    return lines


class PdfRelazione:
    """Draws into `out` (a binary file); `close()` writes the document."""

    def __init__(self, out: BinaryIO) -> None:
        self.canvas = Canvas(out, pagesize=(WIDTH, HEIGHT), invariant=1, pageCompression=1)
        self.page = 1
        self.text: PDFTextObject | None = None
        self.y = TOP
        self.footer = "Riscossa - relazione di scarico"
        self.repeat: tuple[str, ...] = ()

    # --- page mechanics ---------------------------------------------------------------------------

    def _text(self) -> PDFTextObject:
        if self.text is None:
            self.text = self.canvas.beginText(MARGIN, self.y)
            self.text.setFont(SANS, SIZE, LEADING)  # a known leading for the first T*
            for line in self.repeat:
                self._emit(line, MONO_BOLD, SIZE, LEADING)
        return self.text

    def _emit(self, line: str, font: str, size: float, leading: float) -> None:
        text = self.text
        assert text is not None
        if (text._fontname, text._fontsize, text._leading) != (font, size, leading):
            text.setFont(font, size, leading)
        # What `textLine` writes for a standard font, without its per-call work (130,000 lines), but
        # moving down by this line's own leading before it is shown: a larger line after a smaller
        # one gets the room it needs (after the move, not before, it overlapped the line above).
        text._code.append(f"T* ({pdf_string(line)}) Tj")
        self.y -= leading

    def write(self, line: str, font: str = MONO, size: float = SIZE, leading: float = LEADING) -> None:
        if self.y - leading < BOTTOM:
            self._turn()
        self._text()
        self._emit(line, font, size, leading)

    def _turn(self) -> None:
        if self.text is not None:
            self.canvas.drawText(self.text)
        self.canvas.setFont(SANS, 7)
        self.canvas.drawString(MARGIN, 7 * mm, self.footer)
        self.canvas.drawRightString(WIDTH - MARGIN, 7 * mm, f"Pagina {self.page}")
        self.canvas.showPage()
        self.page, self.text, self.y = self.page + 1, None, TOP

    def gap(self, points: float = 6) -> None:
        self.y -= points
        if self.text is not None:
            self.text.moveCursor(0, points)

    # --- sections ---------------------------------------------------------------------------------

    def begin(self, header: frame.Header) -> None:
        title = f"{header.scope.label} di scarico - {header.ente}"
        self.footer = f"Riscossa - {title} - versione {header.version}"
        self.canvas.setTitle(title)
        self.canvas.setAuthor("Riscossa")
        self.canvas.setSubject(header.report_id)
        self.write(f"{header.scope.label} di scarico", SANS_BOLD, 16, 22)
        scope = header.scope
        period = f"dal {rel.format_date(scope.period_from)} al {rel.format_date(scope.period_to)}"
        for label, value in (
            ("Ente", header.ente),
            ("Contratto", header.contract),
            ("Periodo", period),
            ("Versione", str(header.version)),
            ("Generata il", header.generated_at),
            ("Richiesta da", header.generated_by),
            ("Identificativo", header.report_id),
        ):
            self.write(f"{label}: {value}", SANS, 9, 12)
        self.write(_coverage(scope), SANS, 8, 11)
        self.gap()
        self.write(f"Carichi affidati ({len(header.batches)})", SANS_BOLD, 10, 14)
        for b in header.batches:
            self.write(b.described())
        self.write(frame.batches_total(header.batches), SANS_BOLD, 9, 12)
        self.gap()
        self.write("Dettaglio delle posizioni", SANS_BOLD, 10, 14)
        self.write(rel.IDENTITY_NOTE, SANS, 8, 11)
        self.repeat = (TABLE_HEADER, VERDICT_HEADER)
        for line in self.repeat:
            self.write(line, MONO_BOLD)

    def lines(self, lines: list[rel.Line]) -> None:
        for item in lines:
            for text in position_lines(item):
                self.write(text)

    def end(self, closing: frame.Closing) -> None:
        self.repeat = ()
        self._turn()
        self._totals(closing)
        self._aggio(closing)
        self._flows(closing.flows)

    def _totals(self, closing: frame.Closing) -> None:
        self.write("Totali per tipo di entrata e anno", SANS_BOLD, 12, 16)
        head = f"{'Entrata':<10} {'Anno':>4} {'Posizioni':>9} " + " ".join(
            f"{h:>15}" for h in rel.MONEY_HEADERS
        )
        self.write(head, MONO_BOLD, 8, 10)
        t = closing.totals
        for label, year, g in [*t.type_year_rows(), ("Totale", "", t.overall)]:
            figures = " ".join(f"{format_cents(c):>15}" for c in tot.group_amounts(g))
            self.write(f"{label[:10]:<10} {year!s:>4} {g.positions:>9} {figures}", MONO, 8, 10)
        self.write(rel.IDENTITY_NOTE, SANS, 8, 11)
        self.gap(10)
        self.write("Posizioni non riscosse per motivo", SANS_BOLD, 12, 16)
        width = max(len(label) for label in rel.REASON_LABELS.values())
        self.write(f"{'Motivo':<{width}} {'Posizioni':>9} {'Residuo':>15}", MONO_BOLD, 8, 10)
        for why, g in t.reason_rows():
            label = rel.REASON_LABELS[why]
            self.write(f"{label:<{width}} {g.positions:>9} {format_cents(g.residual_cents):>15}", MONO, 8, 10)
        for rule in rel.NEXT_STEP_RULE:
            self.write(rule, SANS, 8, 11)

    def _aggio(self, closing: frame.Closing) -> None:
        a = closing.aggio
        self.gap(10)
        self.write("Aggio", SANS_BOLD, 12, 16)
        self.write(closing.aggio_label, SANS, 9, 12)
        vat = frame.vat_label(a.vat_rate_bp)
        for label, cents in (
            ("Riscosso lordo", a.totals.collected_cents),
            ("Rimborsi", a.totals.refunded_cents),
            ("Pagamenti revocati (esclusi)", a.totals.revoked_cents),
            ("Base imponibile", a.totals.taxable_cents),
            ("Aggio", a.aggio_cents),
            (vat, a.vat_cents),
            ("Totale da fatturare", a.invoice_cents),
        ):
            self.write(f"{label:<36} {format_cents(cents):>15}", MONO, 8, 10)
        self.write(
            f"{'Oneri c. 803 dei debitori (a parte)':<36} {format_cents(closing.charges_cents):>15}",
            MONO,
            8,
            10,
        )

    def _flows(self, flows: Sequence[frame.Flow]) -> None:
        self.gap(10)
        self.write("Allegato: riconciliazione dei flussi di rendicontazione", SANS_BOLD, 12, 16)
        self.write(
            f"{'Flusso (identificativo)':<36} {'Pagamenti':>9} {'Importo':>15} {'Dal':<10} {'Al':<10} "
            f"{'Revocati':>8} {'Importo revocato':>16}",
            MONO_BOLD,
            8,
            10,
        )
        for f in flows:
            name = f.flow_id or "Senza flusso (manuali o ricevute)"
            dates = f"{rel.format_date(f.first_paid_on):>10} {rel.format_date(f.last_paid_on):>10}"
            self.write(
                f"{name[:36]:<36} {f.payments:>9} {format_cents(f.amount_cents):>15} {dates} "
                f"{f.revoked:>8} {format_cents(f.revoked_cents):>16}",
                MONO,
                8,
                10,
            )
        if not flows:
            self.write("Nessun pagamento nel periodo.", SANS, 9, 12)

    def close(self) -> None:
        self._turn()
        self.canvas.save()

    def abort(self) -> None:
        """Nothing held open but memory: the file is thrown away."""


def _coverage(scope: rel.Scope) -> str:
    if scope.interim:
        return (
            "Relazione intermedia: posizioni affidate fino alla data finale del periodo; pagamenti e "
            "rimborsi con data nel periodo; prescrizione valutata alla data finale."
        )
    return (
        "Relazione finale: tutte le posizioni affidate e tutti i pagamenti e rimborsi; "
        "prescrizione valutata alla data di generazione."
    )
