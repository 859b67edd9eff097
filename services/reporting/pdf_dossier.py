"""The debtor's file («fascicolo del contribuente») as PDF: what the Comune hands over with a
credit it sends on to enforced collection (ingiunzione, accertamento esecutivo) or to discharge.
It shows what was done to recover it, as the portal's debtor page does: the positions with their
amounts and the day each becomes time-barred (`kernel.limitation`), the contact attempts and their
outcomes, the promise, the plans, the payments with their pagoPA references and the office's
cases. A pure function of what the ledger holds; uncompressed, so its text can be searched."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, Spacer

from services.kernel.limitation import ACT_KINDS
from services.kernel.money import format_euro
from services.reporting import domain_portal as dp
from services.reporting.domain_cases import ANSWER_LABELS, KIND_LABELS
from services.reporting.pdf import TABLE_STYLE, footer, plain_table, portrait_pdf

if TYPE_CHECKING:
    from services.reporting.handlers_portal import DebtorFile

ROME = ZoneInfo("Europe/Rome")
FOOTER = footer(
    "Riscossa · fascicolo del contribuente (dati personali: uso riservato all'ente)", A4[0], 12 * mm
)
_STYLES = getSampleStyleSheet()
_CELL = _STYLES["BodyText"].clone("dossier-cell", fontSize=7.5, leading=9)
_AMOUNT = _CELL.clone("dossier-amount", alignment=TA_RIGHT)


def render(debtor: DebtorFile, ente: str, generated_at: datetime, by: str) -> bytes:
    """The file of `debtor` for the Comune `ente`, generated at `generated_at` by `by`."""
    title = f"Fascicolo del contribuente - {debtor.name or debtor.fiscal_code}"
    return portrait_pdf(_story(debtor, ente, generated_at, by), title, FOOTER, subject=ente)


def _day(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def _moment(value: datetime | None) -> str:
    return value.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if value else "—"


def _section(
    title: str, rows: list[list[Any]], widths: Sequence[float], empty: str, amounts: Sequence[int] = ()
) -> list[Any]:
    """A heading and its table (header row first), or a sentence when there is nothing; the
    columns numbered in `amounts` aligned to the right."""
    heading = Paragraph(title, _STYLES["Heading2"])
    if len(rows) == 1:
        return [heading, Paragraph(empty, _STYLES["BodyText"]), Spacer(1, 3 * mm)]
    # Paragraphs read markup: what a file or a person wrote is escaped.
    cells = [
        [Paragraph(escape(str(c)), _AMOUNT if n in amounts else _CELL) for n, c in enumerate(row)]
        for row in rows
    ]
    table = LongTable(cells, colWidths=[w * mm for w in widths], repeatRows=1, hAlign="LEFT")
    table.setStyle(TABLE_STYLE)
    return [heading, table, Spacer(1, 3 * mm)]


def _story(debtor: DebtorFile, ente: str, generated_at: datetime, by: str) -> list[Any]:
    due = [p for p in debtor.positions if p.state != "cancelled"]
    assigned = sum(p.amount_cents for p in due)
    collected = sum(p.collected_cents for p in due)
    header = [
        ["Ente", ente],
        ["Contribuente", debtor.name or "Nominativo mancante"],
        ["Codice fiscale", debtor.fiscal_code],
        [
            "Carico / riscosso / residuo",
            " / ".join(format_euro(c) for c in (assigned, collected, assigned - collected)),
        ],
        ["Generato il", f"{_moment(generated_at)} da {by}"],
    ]
    return [
        Paragraph("Fascicolo del contribuente", _STYLES["Title"]),
        plain_table(header, [48 * mm, 138 * mm]),
        Spacer(1, 4 * mm),
        *_positions(debtor, generated_at.astimezone(ROME).date()),
        *_acts(debtor),
        *_contacts(debtor),
        *_plans(debtor),
        *_payments(debtor),
        *_cases(debtor),
        Paragraph(
            "Prescrizione: cinque anni dalla data dell'atto indicata nel file dell'ente (la notifica o, se "
            "manca, la scadenza; senza l'una e l'altra, dalla fine dell'anno di riferimento); ogni "
            "pagamento sulla posizione fatto prima della scadenza la interrompe e il termine riparte dal "
            "suo giorno (art. 2944 c.c.), come ogni atto interruttivo notificato dall'ente che l'Ufficio "
            "tributi ha registrato (art. 2943 c.c., elencati sopra); gli atti non registrati qui non "
            "sono contati.",
            _CELL,
        ),
    ]


def _limitation(debtor: DebtorFile, p: Any, today: date) -> str:
    """The day the position becomes time-barred, «(prescritta)» once past; «—» for a position
    cancelled or paid off (as the debtor's page says it)."""
    if p.state == "cancelled" or p.collected_cents >= p.amount_cents:
        return "—"
    until = debtor.barred_on(p)
    return f"{until:%d/%m/%Y}" + (" (prescritta)" if until <= today else "")


def _positions(debtor: DebtorFile, today: date) -> list[Any]:
    rows: list[list[Any]] = [
        [
            "Entrata",
            "Anno",
            "Atto",
            "Stato",
            "Carico",
            "Riscosso",
            "Residuo",
            "Si prescrive dal",
            "Saldata il",
        ]
    ]
    for p in debtor.positions:
        state = dp.POSITION_STATE_LABELS.get(p.state, p.state)
        if p.original_cents is not None:
            state += f" (importo corretto; era {format_euro(p.original_cents)})"
        residual = "—" if p.state == "cancelled" else format_euro(p.amount_cents - p.collected_cents)
        rows.append(
            [
                p.revenue_type,
                p.year,
                p.act_number,
                state,
                format_euro(p.amount_cents),
                format_euro(p.collected_cents),
                residual,
                _limitation(debtor, p, today),
                _day(p.settled_on),
            ]
        )
    widths = (14, 11, 30, 33, 20, 20, 20, 19, 19)
    return _section("Posizioni affidate", rows, widths, "Nessuna posizione.", amounts=(4, 5, 6))


def _contacts(debtor: DebtorFile) -> list[Any]:
    c = debtor.contact
    summary = ""
    if c is not None:
        summary = f"Contatti tentati: {c.attempts}, di cui conversazioni: {c.conversations}."
        if c.promises:
            state = dp.PROMISE_LABELS.get(c.promise_state, "")
            summary += f" Promessa di pagamento: {format_euro(c.promised_cents)}"
            summary += f" entro il {_day(c.promise_due_on)}" if c.promise_due_on else ""
            summary += f" ({state.lower()})." if state else "."
    rows: list[list[Any]] = [["Data e ora", "Esito"]]
    rows += [[_moment(o.recorded_at), dp.outcome_label(o.outcome)] for o in debtor.outcomes]
    heading, *rest = _section("Contatti telefonici", rows, (40, 146), "Nessun esito registrato.")
    if c is None:
        return [heading, *rest]
    return [heading, Paragraph(escape(summary), _STYLES["BodyText"]), *rest]


def _plans(debtor: DebtorFile) -> list[Any]:
    rows: list[list[Any]] = [["Entrata", "Importo", "Rate", "Dal", "Stato"]]
    for plan in debtor.plans:
        if plan.installments == 0:
            state = "Annullato: l'Ufficio tributi ha annullato (sgravio) le posizioni che copriva"
        elif plan.lapsed_on:
            state = f"Decaduto il {_day(plan.lapsed_on)}"
            if plan.residual_cents is not None:
                state += f" (residuo {format_euro(plan.residual_cents)})"
        else:
            state = "In corso"
        if plan.corrected_cents and plan.installments:
            state += f"; rate ricalcolate su {format_euro(plan.amount_cents - plan.corrected_cents)}"
        if plan.extensions:
            state += f"; proroghe: {plan.extensions}"
        rows.append(
            [
                plan.revenue_type,
                format_euro(plan.amount_cents),
                plan.installments,
                _day(plan.first_due_date),
                state,
            ]
        )
    widths = (18, 24, 12, 22, 110)
    return _section("Piani di rateizzazione", rows, widths, "Nessun piano di rateizzazione.", amounts=(1, 2))


def _payments(debtor: DebtorFile) -> list[Any]:
    rows: list[list[Any]] = [["Data", "Importo", "IUV", "Flusso di rendicontazione", "Stato"]]
    for pay in debtor.payments:
        if pay.revoked_on:
            state = f"Revocato il {_day(pay.revoked_on)}"
        elif pay.refunded_cents:
            state = f"Rimborsati {format_euro(pay.refunded_cents)}"
        else:
            state = "Valido"
        amount = format_euro(pay.amount_cents)
        if pay.interest_cents:  # a plan's interest is on top of the debt: not in «Riscosso»
            amount += f" (interessi {format_euro(pay.interest_cents)})"
        rows.append([_day(pay.paid_on), amount, pay.iuv or "—", pay.flow_id or "—", state])
    return _section("Pagamenti", rows, (20, 22, 40, 64, 40), "Nessun pagamento ricevuto.", amounts=(1,))


def _cases(debtor: DebtorFile) -> list[Any]:
    rows: list[list[Any]] = [["Aperta il", "Tipo", "Nota dell'operatore", "Risposta dell'Ufficio tributi"]]
    for case in debtor.cases:
        answer = "In attesa di risposta"
        if case.answer:
            answer = f"{ANSWER_LABELS.get(case.answer, case.answer)} ({_moment(case.answered_at)}"
            answer += f", {case.answered_by_name})" if case.answered_by_name else ")"
            answer += f": {case.answer_note}" if case.answer_note else ""
        rows.append([_moment(case.opened_at), KIND_LABELS.get(case.kind, case.kind), case.note, answer])
    return _section("Pratiche dell'Ufficio tributi", rows, (28, 30, 60, 68), "Nessuna pratica.")


def _acts(debtor: DebtorFile) -> list[Any]:
    acts = {p.position_id: p.act_number for p in debtor.positions}
    too_late = debtor.acts_too_late()
    rows: list[list[Any]] = [["Notificato il", "Atto", "Posizioni", "Registrato"]]
    for act in debtor.acts:
        said = ACT_KINDS.get(act.kind, act.kind) + (f" ({act.reference})" if act.reference else "")
        named = ", ".join(acts.get(p, "?") for p in act.position_ids or ())
        recorded = f"{_moment(act.recorded_at)}, {act.recorded_by_name}"
        if act.withdrawn_at is not None:
            recorded += f"; annullato il {_moment(act.withdrawn_at)} ({act.withdrawn_by_name}): non conta"
        elif act.act_id in too_late:
            late = ", ".join(p.act_number for p in too_late[act.act_id])
            recorded += f"; non interrompe la prescrizione di {late}, già compiuta alla notifica"
        rows.append([_day(act.served_on), said, named, recorded])
    return _section(
        "Atti interruttivi della prescrizione", rows, (26, 60, 45, 55), "Nessun atto interruttivo registrato."
    )
