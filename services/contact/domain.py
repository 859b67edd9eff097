"""Pure rules of the contact work: outcomes, next status, callbacks, call windows and the debtor's
contact data (no I/O)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from services.contact.domain_conduct import ConductRules, closed_reason, refusal
from services.contact.domain_messages import MESSAGE_LABELS
from services.contracts import CONTACT_SOURCE_LABELS, NOT_CONVERSATIONS, UNANSWERED_OUTCOMES
from services.kernel.errors import DomainError
from services.kernel.limitation import barred_from
from services.kernel.money import format_euro

ROME = ZoneInfo("Europe/Rome")
LOCK_DURATION = timedelta(minutes=30)
# A callback an operator kept for themselves goes to anyone once it is this late.
CALLBACK_GRACE = timedelta(minutes=30)
# The furthest a callback may be set (about six months).
CALLBACK_DAYS = 180
# UNIREC code of conduct (domain.md §7.2): at most one conversation a day, so an unanswered call
# or a third party on the line puts the debtor back in the queue no earlier than tomorrow.
RETRY_AFTER = timedelta(days=1)


class Status(StrEnum):
    DA_LAVORARE = "da_lavorare"
    IN_LAVORAZIONE = "in_lavorazione"
    LAVORATO = "lavorato"
    DA_RICHIAMARE = "da_richiamare"
    # Waiting for the payment a promise names; back in the queue, first, if its day passes.
    PROMESSA = "promessa"
    # Calls paused until the Ufficio tributi decides (a dispute, a claim of payment, hardship).
    SOSPESO = "sospeso"
    # Calls stopped for good (the debtor died: the heirs are the Comune's to pursue).
    CHIUSO = "chiuso"
    # No working number: back when tracing brings a new one.
    DA_RINTRACCIARE = "da_rintracciare"


STATUS_LABELS: dict[str, str] = {
    Status.DA_LAVORARE: "Da lavorare",
    Status.IN_LAVORAZIONE: "In lavorazione",
    Status.LAVORATO: "Lavorato",
    Status.DA_RICHIAMARE: "Da richiamare",
    Status.PROMESSA: "Promessa di pagamento",
    Status.SOSPESO: "In verifica dell'Ufficio tributi",
    Status.CHIUSO: "Chiamate cessate",
    Status.DA_RINTRACCIARE: "Da rintracciare",
}


class Outcome(StrEnum):
    CONTATTATO = "contattato"
    PROMESSA_PAGAMENTO = "promessa_pagamento"
    RICHIAMARE = "richiamare"
    NON_RISPONDE = "non_risponde"
    NUMERO_ERRATO = "numero_errato"
    TERZO_RISPONDE = "terzo_risponde"
    RIFIUTO = "rifiuto"
    CONTESTAZIONE = "contestazione"
    OCCUPATO = "occupato"
    VUOLE_RATEIZZARE = "vuole_rateizzare"
    GIA_PAGATO = "gia_pagato"
    DIFFICOLTA = "difficolta"
    DECEDUTO = "deceduto"
    IRREPERIBILE = "irreperibile"


# A conversation is a call in which the taxpayer spoke (the conduct rules cap them per debtor); a
# relative or a stranger at a wrong number is not one (`contracts.NOT_CONVERSATIONS`).
CONVERSATIONS = frozenset(o.value for o in Outcome if o.value not in NOT_CONVERSATIONS)
# Calls a person answered, the taxpayer or not: what a reviewer of the operators' conduct samples
# (a third party told about the debt is what the Garante forbids first).
ANSWERED = frozenset(o.value for o in Outcome if o.value not in UNANSWERED_OUTCOMES)
# Outcomes that name the phone number at fault (invalidated, and the debtor traced again).
WRONG_NUMBER = frozenset({Outcome.NUMERO_ERRATO, Outcome.IRREPERIBILE})
# Outcomes the Ufficio tributi must look at: calls pause until it decides; the note says why.
FOR_THE_OFFICE = {
    Outcome.CONTESTAZIONE: "Scrivi nella nota il motivo della contestazione.",
    Outcome.GIA_PAGATO: "Scrivi nella nota quando e come il contribuente dice di aver pagato.",
    Outcome.DIFFICOLTA: "Scrivi nella nota la situazione descritta dal contribuente.",
}
# Why a callback cannot go with an outcome whose status is not a wait for the next call.
_NO_CALLBACK = {
    Status.SOSPESO: "Con questo esito le chiamate si fermano finché l'Ufficio tributi non decide:"
    " togli il richiamo.",
    Status.CHIUSO: "Con questo esito le chiamate cessano: togli il richiamo.",
    Status.DA_RINTRACCIARE: "Il numero chiamato non porta al contribuente: tornerà in coda quando"
    " se ne troverà un altro. Togli il richiamo.",
}
_FINAL_STATUS = {
    Outcome.PROMESSA_PAGAMENTO: Status.PROMESSA,
    Outcome.CONTESTAZIONE: Status.SOSPESO,
    Outcome.GIA_PAGATO: Status.SOSPESO,
    Outcome.DIFFICOLTA: Status.SOSPESO,
    Outcome.DECEDUTO: Status.CHIUSO,
    Outcome.NUMERO_ERRATO: Status.DA_RINTRACCIARE,
    Outcome.IRREPERIBILE: Status.DA_RINTRACCIARE,
}

OUTCOME_LABELS: dict[str, str] = {
    Outcome.CONTATTATO: "Contattato",
    Outcome.PROMESSA_PAGAMENTO: "Promessa di pagamento",
    Outcome.RICHIAMARE: "Da richiamare",
    Outcome.NON_RISPONDE: "Non risponde",
    Outcome.NUMERO_ERRATO: "Numero errato",
    Outcome.TERZO_RISPONDE: "Risponde un terzo",
    Outcome.RIFIUTO: "Rifiuto",
    Outcome.CONTESTAZIONE: "Contestazione",
    Outcome.OCCUPATO: "Occupato",
    Outcome.VUOLE_RATEIZZARE: "Chiede di rateizzare",
    Outcome.GIA_PAGATO: "Dice di aver già pagato",
    Outcome.DIFFICOLTA: "Difficoltà economica (tutela sociale)",
    Outcome.DECEDUTO: "Deceduto",
    Outcome.IRREPERIBILE: "Trasferito o sconosciuto a quel numero",
}

_RETRY_OUTCOMES = frozenset({Outcome.NON_RISPONDE, Outcome.TERZO_RISPONDE, Outcome.OCCUPATO})
MAX_NOTE_LENGTH = 2000


@dataclass(frozen=True)
class OutcomeDecision:
    """What recording an outcome does to the debtor."""

    outcome: Outcome
    note: str
    status: Status
    callback_at: datetime | None


def parse_outcome(raw: str) -> Outcome:
    if not raw.strip():
        raise DomainError("Scegli l'esito della chiamata.", field="outcome")
    try:
        return Outcome(raw.strip())
    except ValueError:
        raise DomainError("Esito non valido: sceglierne uno dall'elenco.", field="outcome") from None


def parse_callback(raw: str) -> datetime | None:
    """Parse a callback from an HTML datetime-local field (Europe/Rome) or an ISO string."""
    text = raw.strip()
    if not text:
        return None
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y %H.%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=ROME)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise DomainError(
            "Data di richiamo non valida (usa gg/mm/aaaa hh:mm).", field="callback_at"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ROME)


def within_call_window(moment: datetime, rules: ConductRules | None = None) -> bool:
    """Whether the calling hours of `rules` (the UNIREC defaults) are open at `moment`."""
    return closed_reason(rules or ConductRules(), moment) is None


def check_callback(callback_at: datetime, now: datetime, rules: ConductRules | None = None) -> None:
    """A callback in the future, within `CALLBACK_DAYS` (a later one is a typo, or the office's
    decision to pause, not a call to plan), at a time the conduct rules let the debtor be phoned."""
    if callback_at <= now:
        raise DomainError("La data di richiamo deve essere nel futuro.", field="callback_at")
    latest = now.astimezone(ROME).date() + timedelta(days=CALLBACK_DAYS)
    if callback_at.astimezone(ROME).date() > latest:
        raise DomainError(
            f"Il richiamo va fissato entro {CALLBACK_DAYS} giorni: al più tardi il {latest:%d/%m/%Y}.",
            field="callback_at",
        )
    closed = closed_reason(rules or ConductRules(), callback_at)
    if closed is not None:
        raise DomainError(f"Richiamo non possibile. {closed}", field="callback_at")


def check_callback_after(outcome: Outcome, callback_at: datetime, now: datetime) -> None:
    """None for today (Rome), which the queue could not keep: after a conversation (one a day,
    UNIREC), and after a call nobody answered (back from `RETRY_AFTER`)."""
    if callback_at.astimezone(ROME).date() != now.astimezone(ROME).date():
        return
    if outcome in _RETRY_OUTCOMES:
        raise DomainError(
            "Dopo questa chiamata il contribuente torna in coda da domani: fissa il richiamo da domani.",
            field="callback_at",
        )
    if outcome.value in CONVERSATIONS:
        raise DomainError(
            "Questa chiamata è la conversazione di oggi con il contribuente (al massimo una al giorno):"
            " fissa il richiamo da domani.",
            field="callback_at",
        )


def decide_outcome(
    outcome: Outcome,
    note: str,
    callback_at: datetime | None,
    now: datetime,
    rules: ConductRules | None = None,
) -> OutcomeDecision:
    """Validate an outcome and decide the debtor's next status and callback (within the calling
    hours of `rules`, the UNIREC defaults when None)."""
    clean_note = note.strip()
    if len(clean_note) > MAX_NOTE_LENGTH:
        raise DomainError(f"La nota può contenere al massimo {MAX_NOTE_LENGTH} caratteri.", field="note")
    if outcome is Outcome.RICHIAMARE:
        if callback_at is None:
            raise DomainError("Indica data e ora del richiamo.", field="callback_at")
        check_callback(callback_at, now, rules)
        check_callback_after(outcome, callback_at, now)
        return OutcomeDecision(outcome, clean_note, Status.DA_RICHIAMARE, callback_at)
    if outcome is Outcome.TERZO_RISPONDE and callback_at is not None:
        # Whoever answered said when the taxpayer is in: called then, today too (no conversation yet).
        check_callback(callback_at, now, rules)
        return OutcomeDecision(outcome, clean_note, Status.DA_RICHIAMARE, callback_at)
    if outcome in _RETRY_OUTCOMES:
        if callback_at is not None:
            check_callback(callback_at, now, rules)
            check_callback_after(outcome, callback_at, now)
        retry = max(callback_at or now, now + RETRY_AFTER)
        return OutcomeDecision(outcome, clean_note, Status.DA_RICHIAMARE, retry)
    if outcome in FOR_THE_OFFICE and len(clean_note) < 3:
        raise DomainError(FOR_THE_OFFICE[outcome], field="note")
    status = _FINAL_STATUS.get(outcome, Status.LAVORATO)
    if callback_at is None:
        return OutcomeDecision(outcome, clean_note, status, None)
    if status in _NO_CALLBACK:
        raise DomainError(_NO_CALLBACK[status], field="callback_at")
    # A callback typed with the outcome is kept: the debtor comes back then (a promise stays open).
    check_callback(callback_at, now, rules)
    check_callback_after(outcome, callback_at, now)
    return OutcomeDecision(outcome, clean_note, Status.DA_RICHIAMARE, callback_at)


TIME_BARRED = "Prescritto: da proporre per il discarico."
TIME_BARRED_CALL = (
    f"{TIME_BARRED} Ogni posizione ancora dovuta è oltre il termine di prescrizione: il Comune non"
    " può più riscuoterla e il contribuente non va chiamato."
)


def time_barred(barred_on: date | None, today: date) -> bool:
    """Every position the debtor still owes is time-barred on `today` (`barred_on`: from when the
    last of them is, `kernel.limitation`)."""
    return barred_on is not None and barred_on <= today


def position_barred(
    positions: Iterable[Any], payments: Iterable[Any], acts: Iterable[Any] = ()
) -> dict[Any, date]:
    """Each position's first time-barred day (`kernel.limitation.barred_from`), counting its
    payments that no revocation took back and the Comune's interrupting `acts` (rows with
    `position_id`, `served_on`, none withdrawn), as `repository_limitation` does in SQL."""
    paid = list(payments)
    revoked = {p.of_payment for p in paid if p.kind == "revocation"}
    days: dict[Any, list[date]] = {}
    for p in paid:
        if p.kind == "payment" and p.payment_id not in revoked:
            days.setdefault(p.position_id, []).append(p.paid_on)
    for act in acts:
        days.setdefault(act.position_id, []).append(act.served_on)
    return {p.position_id: barred_from(p.year, days.get(p.position_id, []), p.act_on) for p in positions}


def call_refusal(
    rules: ConductRules,
    moment: datetime,
    conversations: Iterable[datetime],
    do_not_call: bool,
    barred_on: date | None,
) -> str | None:
    """Why this debtor may not be phoned at `moment` (all they owe time-barred, or the conduct
    rules), or None when the call is allowed."""
    barred = TIME_BARRED_CALL if time_barred(barred_on, moment.astimezone(ROME).date()) else None
    conduct = refusal(rules, moment, conversations, do_not_call)
    return " ".join(r for r in (barred, conduct) if r) or None


def page_offset(page: int, size: int) -> int:
    return (max(page, 1) - 1) * size


# ---------------------------------------------------------------- contact data of a debtor

CONTACT_KINDS = ("phone", "email", "pec", "address")
CONTACT_KIND_LABELS: dict[str, str] = {
    "phone": "Telefono",
    "email": "E-mail",
    "pec": "PEC",
    "address": "Indirizzo",
}
SOURCE_LABELS = CONTACT_SOURCE_LABELS
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class ContactRecord:
    """A contact datum as ingest reported it; `found_on` and `confidence` may be unknown."""

    contact_id: uuid.UUID
    debtor_id: uuid.UUID
    kind: str
    value: str
    source: str
    found_on: date | None
    confidence: int | None
    active: bool


def parse_found_on(raw: str) -> date | None:
    """An ISO date from an event, or None when the producer did not know it."""
    return date.fromisoformat(raw) if raw else None


def is_e164(value: str) -> bool:
    return _E164.fullmatch(value) is not None


def card_order(kind: str, confidence: int | None) -> tuple[int, int]:
    """Phones first, then e-mail, PEC and address; the most reliable first within a kind."""
    rank = CONTACT_KINDS.index(kind) if kind in CONTACT_KINDS else len(CONTACT_KINDS)
    return rank, -(confidence or 0)


def dedupe_records(records: Iterable[ContactRecord]) -> list[ContactRecord]:
    """One record per contact (the last reported wins), so one upsert never touches a row twice."""
    return list({r.contact_id: r for r in records}.values())


@dataclass(frozen=True)
class HistoryEntry:
    """A line of the card's history: a call, a message, a plan event or a payment."""

    recorded_at: datetime
    operator: str
    outcome: str
    callback_at: datetime | None
    note: str
    # The call's id (a claim's attachments hang on it); None for a payment.
    entry_id: uuid.UUID | None = None
    # A payment: only its day is known (it is placed at noon), so only the day is shown.
    day_only: bool = False


PAYMENT_ENTRY = "pagamento"
# The history's line for each kind of row of `debtor_payments`.
PAYMENT_ENTRIES = {"payment": PAYMENT_ENTRY, "refund": "rimborso", "revocation": "pagamento_revocato"}


def who(entry: Any) -> str:
    """Who a history line is by, as people read it: the operator's name; the payments service for
    its messages and plan events (their ids are another service's); the id of an older call."""
    if entry.operator_name:
        return str(entry.operator_name)
    if entry.outcome in MESSAGE_LABELS:
        return "Servizio pagamenti" if entry.operator != "sistema" else "Riscossa (automatico)"
    return str(entry.operator)


def _noted(call: Any) -> str:
    """A call's note, with the supervisor's written reason when it was recorded outside the rules."""
    reason = getattr(call, "override_reason", None)
    if not reason:
        return str(call.note or "")
    return " ".join(part for part in (call.note, f"Deroga del supervisore: {reason}") if part)


def timeline(calls: Iterable[Any], payments: Iterable[Any]) -> list[HistoryEntry]:
    """Calls, messages and plan events with the payments received, newest first; a payment counts
    at noon of its day (Rome), the day is all the payments service tells."""
    entries = [
        HistoryEntry(c.recorded_at, c.operator_name or c.operator, c.outcome, c.callback_at, _noted(c), c.id)
        for c in calls
    ]
    for p in payments:
        moment = datetime.combine(p.paid_on, time(12), ROME)
        kind = PAYMENT_ENTRIES.get(getattr(p, "kind", "payment"), PAYMENT_ENTRY)
        entries.append(HistoryEntry(moment, "—", kind, None, format_euro(abs(p.amount_cents)), day_only=True))
    return sorted(entries, key=lambda e: e.recorded_at, reverse=True)
