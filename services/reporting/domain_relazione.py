"""The relazione di scarico: what it covers, one line per position with the reason it was not
collected and the proposed next step, and the cells of its files (totals:
`domain_relazione_totals`). No I/O.

Interim and final (`Scope`):
- a *final* relazione covers every position ever assigned and every payment and refund received;
- an *interim* relazione covers the positions registered up to `period_to` (inclusive) and the
  payments and refunds dated within the period (`period_from` to `period_to`, inclusive).
Revoked payments never count. The limitation date is judged at `period_to` (interim) or at the day
of generation (final).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from services.contracts import OUTCOME_LABELS
from services.kernel.cells import neutralise
from services.kernel.limitation import barred_from
from services.reporting.domain import format_cents

KINDS = {"interim": "intermedia", "final": "finale"}
FORMATS = ("pdf", "xlsx", "csv")
# Limitation (prescrizione): five years from the act's day in the Comune's file (else from the end
# of its reference year), started again by every payment on the position while it ran
# (`kernel.limitation`). Acts the Comune served after its file (c.c. art. 2943) are not known to
# reporting: the office checks a position marked time-barred before discharging it.


class Reason(StrEnum):
    """Why a position with something still due was not collected, in order of precedence."""

    CANCELLED = "annullata"
    PAID_BEFORE = "pagata_prima"
    TIME_BARRED = "prescritta"
    DECEASED = "deceduto"
    UNTRACEABLE = "irreperibile"
    DISPUTED = "contestata"
    HARDSHIP = "difficolta"
    REFUSED = "rifiuto"
    PROMISED = "promessa"
    PLAN_LAPSED = "piano_decaduto"
    IN_PLAN = "in_piano"
    NOT_WORKED = "non_lavorata"
    IN_PROGRESS = "in_lavorazione"


REASON_LABELS: dict[Reason, str] = {
    Reason.CANCELLED: "Annullata dall'ufficio (sgravio)",
    Reason.PAID_BEFORE: "Pagamento prima dell'affidamento dichiarato dal contribuente",
    Reason.TIME_BARRED: "Prescritta",
    Reason.DECEASED: "Contribuente deceduto",
    Reason.UNTRACEABLE: "Irreperibile",
    Reason.DISPUTED: "Contestata",
    Reason.HARDSHIP: "Difficoltà economica",
    Reason.REFUSED: "Rifiuto di pagare",
    Reason.PROMISED: "Promessa di pagamento in corso",
    Reason.PLAN_LAPSED: "Piano di rateizzazione decaduto",
    Reason.IN_PLAN: "In rateizzazione (piano in corso)",
    Reason.NOT_WORKED: "Non ancora lavorata",
    Reason.IN_PROGRESS: "In lavorazione, senza esito",
}


class NextStep(StrEnum):
    NONE = "nessuno"
    ENFORCE = "riscossione_coattiva"
    DISCHARGE = "discarico"
    TO_WORK = "da_lavorare"
    RETURNED = "riconsegna_non_lavorata"
    AWAIT_PROMISE = "attesa_promessa"
    HARDSHIP_REVIEW = "tutela_sociale_in_esame"
    HARDSHIP_UPHELD = "tutela_sociale_accolta"
    DISPUTE_REVIEW = "contestazione_in_esame"
    CLAIM_REVIEW = "pagamento_dichiarato_in_esame"
    CONTINUE = "proseguire_contatti"


NEXT_STEP_LABELS: dict[NextStep, str] = {
    NextStep.NONE: "Nessuno",
    NextStep.ENFORCE: "Riscossione coattiva",
    NextStep.DISCHARGE: "Discarico",
    NextStep.TO_WORK: "Da lavorare",
    NextStep.RETURNED: "Riconsegna al Comune: mai lavorata",
    NextStep.AWAIT_PROMISE: "In attesa del pagamento promesso",  # + " entro il <day>" (`step_text`)
    NextStep.HARDSHIP_REVIEW: "Sospesa: tutela sociale in esame dall'Ufficio",
    NextStep.HARDSHIP_UPHELD: "Sospesa: tutela sociale accolta dall'Ufficio",
    NextStep.DISPUTE_REVIEW: "Sospesa: contestazione in esame dall'Ufficio",
    NextStep.CLAIM_REVIEW: "Sospesa: pagamento dichiarato in esame dall'Ufficio",
    NextStep.CONTINUE: "Proseguire i contatti (mandato in corso)",
}
# The proposed next step, stated once (`next_step`): discharge when the credit is no longer due or
# cannot be pursued (cancelled, time-barred, deceased, untraceable, or a dispute or a payment
# declared before the assignment that the office upheld); nothing while it is collected in full or
# an active plan runs; wait for an open promise until its day; suspended while the office examines
# a dispute, a declared payment or a hardship (no answer yet, or «sospesa») and after it upheld a
# hardship (the Comune's social services take it); «da lavorare» for a position never worked (in a
# final relazione, returned to the Comune: no enforced collection without a call); enforced collection otherwise (refused, plan
# lapsed: L.160/2019 c.800 makes the residue due at once; worked without result; a claim the office
# rejected or answered by correcting or cancelling: the claim no longer gives the reason).
_STEPS: dict[Reason, NextStep] = {
    **dict.fromkeys(
        (Reason.CANCELLED, Reason.TIME_BARRED, Reason.DECEASED, Reason.UNTRACEABLE),
        NextStep.DISCHARGE,
    ),
    Reason.PAID_BEFORE: NextStep.CLAIM_REVIEW,
    Reason.IN_PLAN: NextStep.NONE,
    Reason.PROMISED: NextStep.AWAIT_PROMISE,
    Reason.NOT_WORKED: NextStep.TO_WORK,
    Reason.DISPUTED: NextStep.DISPUTE_REVIEW,
    Reason.HARDSHIP: NextStep.HARDSHIP_REVIEW,
}
_UPHELD_STEPS = {
    Reason.DISPUTED: NextStep.DISCHARGE,
    Reason.PAID_BEFORE: NextStep.DISCHARGE,
    Reason.HARDSHIP: NextStep.HARDSHIP_UPHELD,
}
# The same rule as the PDF states it under its totals, a line each.
NEXT_STEP_RULE = (
    "Prossimo passo proposto: discarico se annullata, prescritta, contribuente deceduto o irreperibile, o "
    "contestazione o pagamento dichiarato accolti; nessuno se riscossa o piano in corso;",
    "in attesa se c'è una promessa di pagamento non scaduta; sospesa se l'Ufficio esamina una contestazione, "
    "un pagamento dichiarato o una difficoltà economica, o ha accolto la tutela sociale;",
    "se mai lavorata, da lavorare in una relazione intermedia e riconsegna al Comune nella finale; in una "
    "relazione intermedia, proseguire i contatti se lavorata senza esito; altrimenti riscossione coattiva.",
)
# The office's answers (`domain_cases`) after which a claim no longer explains what is still due.
RESUMING_ANSWERS = frozenset({"rejected", "corrected", "cancelled"})
UPHELD = "upheld"
# A promise to pay is open until it is kept or broken (`contact.promise_*` events).
PROMISE_OPEN = "made"
# The contact outcome codes that decide a reason (the contact service's `Outcome` values).
_BY_OUTCOME = {
    "deceduto": Reason.DECEASED,
    "irreperibile": Reason.UNTRACEABLE,
    "contestazione": Reason.DISPUTED,
    "difficolta": Reason.HARDSHIP,
    "rifiuto": Reason.REFUSED,
}
GRADE_LABELS = {
    "phone": "Telefono",
    "address": "Indirizzo o PEC",
    "none": "Nessun recapito",
    "": "Non rilevato",
}


@dataclass(frozen=True)
class Scope:
    kind: str
    period_from: date
    period_to: date
    as_of: date

    @property
    def interim(self) -> bool:
        return self.kind == "interim"

    @property
    def label(self) -> str:
        return f"Relazione {KINDS[self.kind]}"


class Receipt(NamedTuple):
    """A payment that counts (not revoked), with its pagoPA references when known."""

    iuv: str
    paid_on: date
    flow_id: str
    amount_cents: int


# Built 100,000 times for a relazione of 100,000 positions: slots and no frozen __setattr__ (a
# history is never changed once built; `dataclasses.replace` makes another).
@dataclass(slots=True)
class History:
    """What reporting knows of one position, as the relazione reads it."""

    fiscal_code: str
    revenue_type: str
    year: int
    act_number: str
    assigned_cents: int
    registered_on: date
    state: str = "open"
    receipts: tuple[Receipt, ...] = ()
    refunded_cents: int = 0
    revoked_cents: int = 0
    attempts: int = 0
    last_outcome: str = ""
    grade: str = ""
    traced: int = 0
    plan_installments: int | None = None
    plan_lapsed_on: date | None = None
    # How much the office's corrections took off the amount first assigned: `assigned_cents` is the
    # amount after them, so the load handed over (carico affidato) is assigned + corrected.
    corrected_cents: int = 0
    # The office's answer to the claim of the last call (dispute, already paid, hardship), "" while
    # it has none (`RESUMING_ANSWERS`: the claim no longer explains what is still due).
    claim_answer: str = ""
    # The debtor's latest promise to pay: open, kept or broken ("" without one), and its day.
    promise_state: str = ""
    promise_due_on: date | None = None
    # Every day a payment was made on the position up to the judged day (whatever the period),
    # none revoked by then, and every day an interrupting act the office recorded was served:
    # each one while the limitation ran started it again.
    paid_days: tuple[date, ...] = ()
    act_on: date | None = None  # the act's day in the Comune's file: the limitation runs from it
    # Derived once (read by every rule and format): collected net of refunds; what the office
    # cancelled (sgravio: the whole amount of a cancelled position); what is still due. Every line
    # and every total keeps: carico affidato - sgravi - rettifiche - riscosso = residuo.
    collected_cents: int = field(init=False)
    cancelled_cents: int = field(init=False)
    residual_cents: int = field(init=False)
    # The first day time-barred, its payments counted (`kernel.limitation.barred_from`).
    barred_on: date = field(init=False)

    def __post_init__(self) -> None:
        collected = -self.refunded_cents
        for receipt in self.receipts:
            collected += receipt.amount_cents
        self.collected_cents = collected
        self.cancelled_cents = self.assigned_cents if self.state == "cancelled" else 0
        self.residual_cents = self.assigned_cents - self.cancelled_cents - collected
        self.barred_on = barred_from(self.year, self.paid_days, self.act_on)

    @property
    def cancelled(self) -> bool:
        return self.state == "cancelled"

    @property
    def original_cents(self) -> int:
        """The load handed over (carico affidato), before the office's cancellation or corrections."""
        return self.assigned_cents + self.corrected_cents

    @property
    def claim_overruled(self) -> bool:
        return self.claim_answer in RESUMING_ANSWERS

    def promise_open_on(self, day: date) -> bool:
        """Whether an open promise falls due on `day` or later."""
        due = self.promise_due_on
        return self.promise_state == PROMISE_OPEN and due is not None and due >= day


@dataclass(frozen=True)
class Line:
    """A position's line: its reason and next step, and its cells (`COLUMNS` order) as values and
    as text, computed once and read by every format."""

    history: History
    reason: Reason | None
    next_step: NextStep
    cells: tuple[Cell, ...]
    texts: tuple[str, ...]


def reason(h: History, as_of: date) -> Reason | None:
    """The reason it was not collected, or None when nothing is due (see `Reason` for precedence)."""
    if h.cancelled:
        return Reason.CANCELLED
    if h.residual_cents <= 0:
        return None
    # The taxpayer says they paid before the assignment (a payment of theirs the receipts do not
    # show): the office checks it. A receipt dated before the assignment that leaves a residual is
    # a part payment: the rest is still due, and pursued as any other.
    if h.last_outcome == "gia_pagato" and not h.claim_overruled:
        return Reason.PAID_BEFORE
    if as_of >= h.barred_on:
        return Reason.TIME_BARRED
    by_outcome = None if h.claim_overruled else _BY_OUTCOME.get(h.last_outcome)
    if by_outcome is None and h.grade == "none":
        by_outcome = Reason.UNTRACEABLE
    if by_outcome is not None:
        return by_outcome
    if h.promise_open_on(as_of):
        return Reason.PROMISED
    if h.plan_installments is not None:
        return Reason.PLAN_LAPSED if h.plan_lapsed_on is not None else Reason.IN_PLAN
    return Reason.NOT_WORKED if h.attempts == 0 else Reason.IN_PROGRESS


def next_step(why: Reason | None, h: History, interim: bool = False) -> NextStep:
    """The proposed next step for a position of history `h` not collected for `why` (rule stated
    at `_STEPS`); while the mandate runs (an `interim` relazione), work without result goes on."""
    if why is None:
        return NextStep.NONE
    if interim and why is Reason.IN_PROGRESS:
        return NextStep.CONTINUE
    if why is Reason.NOT_WORKED and not interim:  # the mandate's end: the Comune decides, not us
        return NextStep.RETURNED
    if h.claim_answer == UPHELD and why in _UPHELD_STEPS:
        return _UPHELD_STEPS[why]
    return _STEPS.get(why, NextStep.ENFORCE)


def step_text(step: NextStep, h: History) -> str:
    """The next step as the files write it (an open promise with its day)."""
    label = NEXT_STEP_LABELS[step]
    return f"{label} entro il {format_date(h.promise_due_on)}" if step is NextStep.AWAIT_PROMISE else label


def line(h: History, scope: Scope) -> Line:
    why = reason(h, scope.as_of)
    step = next_step(why, h, scope.interim)
    values = cells(h, why, step)
    texts = (
        *(str(v) for v in values[:_FIRST_MONEY]),
        *(format_cents(cents) for cents in amounts(h)),
        *(format_date(v) if isinstance(v, date) else str(v) for v in values[_AFTER_MONEY:]),
    )
    return Line(h, why, step, values, texts)


# --- cells -----------------------------------------------------------------------------------------

# The amounts of a line and of every total, in this order: the load handed over, what the office
# cancelled (sgravi) and took off by correcting the amount (rettifiche), what was collected (net of
# refunds, revoked payments left out) and what is left: the first less the next three.
MONEY_HEADERS = ("Carico affidato", "Sgravi", "Rettifiche", "Riscosso", "Residuo")
IDENTITY = "Residuo = carico affidato - sgravi - rettifiche - riscosso"
IDENTITY_NOTE = (
    f"{IDENTITY}, per ogni posizione e per i totali. Sgravi: posizioni annullate dall'Ufficio; "
    "rettifiche: importi ridotti dall'Ufficio; riscosso al netto di rimborsi e revoche."
)
COLUMNS: tuple[str, ...] = (
    "Codice fiscale",
    "Entrata",
    "Anno",
    "Atto",
    *MONEY_HEADERS,
    "Pagamenti (IUV, data, flusso)",
    "Tentativi di contatto",
    "Ultimo esito",
    "Esito rintraccio",
    "Piano (rate)",
    "Piano decaduto il",
    "Motivo mancata riscossione",
    "Prossimo passo",
)
_FIRST_MONEY = COLUMNS.index(MONEY_HEADERS[0])
_AFTER_MONEY = _FIRST_MONEY + len(MONEY_HEADERS)
MONEY_COLUMNS = frozenset(range(_FIRST_MONEY, _AFTER_MONEY))
DATE_COLUMNS = frozenset({COLUMNS.index("Piano decaduto il")})

Cell = str | int | date


def format_date(day: date | None) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}" if day else ""


def receipt_text(r: Receipt) -> str:
    flow = f", flusso {r.flow_id}" if r.flow_id else ""
    iuv = f"IUV {r.iuv}" if r.iuv else "senza IUV"
    return f"{iuv} del {format_date(r.paid_on)}{flow}: {format_cents(r.amount_cents)}"


def tracing_text(h: History) -> str:
    grade = GRADE_LABELS.get(h.grade, h.grade)
    return f"{grade} (da rintraccio)" if h.traced else grade


def amounts(h: History) -> tuple[int, int, int, int, int]:
    """A line's amounts in cents, in `MONEY_HEADERS` order."""
    return (h.original_cents, h.cancelled_cents, h.corrected_cents, h.collected_cents, h.residual_cents)


def cells(h: History, why: Reason | None, step: NextStep) -> tuple[Cell, ...]:
    """A line's cells in `COLUMNS` order: money in cents (int), counts as int, days as date (or ""),
    the rest text (not yet neutralised: each format does that)."""
    return (
        h.fiscal_code,
        h.revenue_type,
        h.year,
        f"{h.act_number} del {format_date(h.act_on)}" if h.act_on else h.act_number,  # the term's start
        *amounts(h),
        " | ".join(receipt_text(r) for r in h.receipts),
        h.attempts,
        OUTCOME_LABELS.get(h.last_outcome, h.last_outcome),
        tracing_text(h),
        h.plan_installments if h.plan_installments is not None else "",
        h.plan_lapsed_on or "",
        REASON_LABELS[why] if why else "",
        step_text(step, h),
    )


def csv_cells(item: Line) -> list[str]:
    """A line's cells as the CSV writes them: euro as 1.234,56, days as dd/mm/yyyy, text neutralised."""
    return [
        text if isinstance(value, int | date) else neutralise(text)
        for value, text in zip(item.cells, item.texts, strict=True)
    ]
