"""Events of the payments service (re-exported by `services.contracts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from services.contracts_base import ChunkedFacts, Event, _typed_fields


@dataclass(frozen=True)
class PaymentReceived(Event):
    """A payment on a position was recorded (`paid_on`: ISO date); amounts in cents.

    `source` is "manual", "receipt" (a pagoPA receipt) or "flow" (known from a reporting flow);
    pagoPA payments carry their IUV, the PSP's receipt reference and the flow id when known. Events
    written before these fields decode as a manual payment with "" for the others.
    """

    TYPE: ClassVar[str] = "payments.payment_received"
    VERSION: ClassVar[int] = 1
    payment_id: str
    position_id: str
    debtor_id: str
    amount_cents: int
    paid_on: str
    recorded_by: str
    source: str = "manual"
    iuv: str = ""
    receipt_ref: str = ""
    flow_id: str = ""
    # What of it paid a plan's interest, owed on top of the position's amount (events before it: 0).
    interest_cents: int = 0


@dataclass(frozen=True)
class PaymentRevoked(Event):
    """A pagoPA payment was revoked (outcome 3 in a reporting flow): its amount is owed again."""

    TYPE: ClassVar[str] = "payments.payment_revoked"
    VERSION: ClassVar[int] = 1
    payment_id: str
    position_id: str
    debtor_id: str
    amount_cents: int
    iuv: str
    receipt_ref: str
    flow_id: str


@dataclass(frozen=True)
class PaymentRefunded(Event):
    """The Comune refunded `amount_cents` of a payment to the taxpayer on `refunded_on` (ISO date),
    e.g. a payment made twice: that amount no longer counts as collected (nor in the aggio's base)."""

    TYPE: ClassVar[str] = "payments.payment_refunded"
    VERSION: ClassVar[int] = 1
    refund_id: str
    payment_id: str
    position_id: str
    debtor_id: str
    amount_cents: int
    refunded_on: str
    reason: str
    recorded_by: str


@dataclass(frozen=True)
class ChargesPaid(Event):
    """A debtor paid the c.803 collection charges of a plan (L. 160/2019, art. 1 c. 803) through
    their own pagoPA notice (`paid_on`: ISO date). They are the debtor's, not the credit: they
    reduce no position and stay out of the aggio's base."""

    TYPE: ClassVar[str] = "payments.charges_paid"
    VERSION: ClassVar[int] = 1
    payment_id: str
    plan_id: str
    debtor_id: str
    revenue_type: str
    amount_cents: int
    paid_on: str
    iuv: str
    receipt_ref: str
    flow_id: str


@dataclass(frozen=True)
class ChargesRevoked(Event):
    """The pagoPA payment of a plan's c.803 charges was revoked (outcome 3 in a reporting flow)."""

    TYPE: ClassVar[str] = "payments.charges_revoked"
    VERSION: ClassVar[int] = 1
    payment_id: str
    plan_id: str
    debtor_id: str
    amount_cents: int
    flow_id: str


@dataclass(frozen=True)
class ChargesRecomputed(Event):
    """The Ufficio tributi's corrections took `corrected_cents` off the positions of a plan: its
    c.803 charges now stand at `charges_cents` (they were `charges_before_cents`), and the notice
    for the old figure was replaced by `nav` (empty when none was issued, or no pagoPA data)."""

    TYPE: ClassVar[str] = "payments.charges_recomputed"
    VERSION: ClassVar[int] = 1
    plan_id: str
    debtor_id: str
    corrected_cents: int
    charges_before_cents: int
    charges_cents: int
    nav: str


@dataclass(frozen=True)
class PositionSettled(Event):
    """A position is paid in full (`settled_on`: ISO date of the payment that settled it)."""

    TYPE: ClassVar[str] = "payments.position_settled"
    VERSION: ClassVar[int] = 1
    position_id: str
    debtor_id: str
    amount_cents: int
    settled_on: str


@dataclass(frozen=True)
class NoticeIssued(Event):
    """A pagoPA notice (one payment option) was issued; `due_date` is an ISO date.

    The option is a position's (`position_id`), or a plan's (`plan_id`; `installment` 0 for the
    plan's single payment, 1..N for an installment; `position_id` is then ""; `kind` "charges" for
    the notice of the plan's c.803 charges). Events written before plans had options decode with
    `plan_id` "" and `installment` 0, before charges with `kind` "debt".
    """

    TYPE: ClassVar[str] = "payments.notice_issued"
    VERSION: ClassVar[int] = 1
    nav: str
    iuv: str
    position_id: str
    debtor_id: str
    amount_cents: int
    due_date: str
    issued_by: str
    plan_id: str = ""
    installment: int = 0
    # "charges": the notice of a plan's c.803 collection charges (installment 0).
    kind: str = "debt"


@dataclass(frozen=True)
class PlanCreated(Event):
    """An installment plan was granted to a debtor for these positions; dates are ISO dates."""

    TYPE: ClassVar[str] = "payments.plan_created"
    VERSION: ClassVar[int] = 1
    plan_id: str
    debtor_id: str
    position_ids: tuple[str, ...]
    revenue_type: str
    amount_cents: int
    installments: int
    first_due_date: str
    created_by: str
    # Who granted it, as shown (events before it decode with "": the history then shows `created_by`).
    created_by_name: str = ""

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> PlanCreated:
        fields = _typed_fields(cls, payload)
        fields["position_ids"] = tuple(str(p) for p in payload["position_ids"])
        return cls(**fields)


@dataclass(frozen=True)
class PlanExtended(Event):
    """A plan was extended once (L. 160/2019 c.798): its unpaid installments were replaced by a new
    schedule for the residual principal; `installments_before`/`after` count the plan's installments,
    `first_due_date` is the new schedule's first ISO due date. The declared reason stays in payments."""

    TYPE: ClassVar[str] = "payments.plan_extended"
    VERSION: ClassVar[int] = 1
    plan_id: str
    debtor_id: str
    installments_before: int
    installments_after: int
    residual_principal_cents: int
    first_due_date: str
    extended_by: str


@dataclass(frozen=True)
class PlanReamounted(Event):
    """The Ufficio tributi corrected the amount of a position of an active plan, or cancelled
    (sgravio) some of its positions (`position_id`: the first; `cut_cents` off the plan in all):
    what was paid stays, the residual principal (`residual_principal_cents`) is spread again over
    the open installments' due dates; the plan now has `installments_after` installments, paid
    ones included (none: every position was cancelled before anything was paid, the plan is
    cancelled)."""

    TYPE: ClassVar[str] = "payments.plan_reamounted"
    VERSION: ClassVar[int] = 1
    plan_id: str
    debtor_id: str
    position_id: str
    cut_cents: int
    residual_principal_cents: int
    installments_after: int


@dataclass(frozen=True)
class PlanLapsed(Event):
    """A plan lapsed (c.800, or art. 202-bis for CDS fines) on `lapsed_on` (ISO date): the residue is
    due at once in one payment and these positions can no longer be put in a plan."""

    TYPE: ClassVar[str] = "payments.plan_lapsed"
    VERSION: ClassVar[int] = 1
    plan_id: str
    debtor_id: str
    position_ids: tuple[str, ...]
    revenue_type: str
    residual_cents: int
    lapsed_on: str

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> PlanLapsed:
        fields = _typed_fields(cls, payload)
        fields["position_ids"] = tuple(str(p) for p in payload["position_ids"])
        return cls(**fields)


@dataclass(frozen=True)
class NoticeSent(Event):
    """A message about a debtor's notices went out (or, on the development platform, was only kept):
    `channel` is email or sms, `kind` notice or installment_reminder; `plan_id` is "" and
    `installment` 0 when not about a plan; `sent_at` is an aware ISO instant."""

    TYPE: ClassVar[str] = "payments.notice_sent"
    VERSION: ClassVar[int] = 1
    message_id: str
    debtor_id: str
    channel: str
    kind: str
    position_ids: tuple[str, ...]
    plan_id: str
    installment: int
    sent_at: str
    sent_by: str
    delivered: bool
    # Who sent it, as shown (events before it decode with "": the history then shows `sent_by`).
    sent_by_name: str = ""
    # The e-mail address or mobile number it went to (events before it decode with "").
    recipient: str = ""

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> NoticeSent:
        fields = _typed_fields(cls, payload)
        fields["position_ids"] = tuple(str(p) for p in payload["position_ids"])
        return cls(**fields)


@dataclass(frozen=True)
class JobRequested(Event):
    """The payments service's own work item: an import or a bulk job waits for its worker.
    `kind` is "receipts", "fdr" or "notices_zip"."""

    TYPE: ClassVar[str] = "payments.job_requested"
    VERSION: ClassVar[int] = 1
    job_id: str
    kind: str


MOST_PAYMENTS_PER_EVENT = 500


@dataclass(frozen=True)
class PaymentFact:
    """A pagoPA payment applied to a position (`paid_on`: ISO date); `settled`: the position is now
    paid in full (what `PositionSettled` says of a single payment)."""

    payment_id: str
    position_id: str
    debtor_id: str
    amount_cents: int
    paid_on: str
    source: str
    iuv: str
    receipt_ref: str
    flow_id: str
    settled: bool
    # What of it paid a plan's interest, owed on top of the position's amount (facts before it: 0).
    interest_cents: int = 0


@dataclass(frozen=True)
class PaymentsReceived(ChunkedFacts):
    """The payments one reconciliation import applied (`batch_id`: the import's id), at most 500
    per event: a flow of 100,000 payments is 200 events, not 100,000."""

    TYPE: ClassVar[str] = "payments.payments_received"
    VERSION: ClassVar[int] = 1
    FACTS: ClassVar[str] = "payments"
    FACT: ClassVar[type] = PaymentFact
    MOST: ClassVar[int] = MOST_PAYMENTS_PER_EVENT
    payments: tuple[PaymentFact, ...]


@dataclass(frozen=True)
class ReportedFact:
    """A payment known from its pagoPA receipt that a reporting flow now reports."""

    payment_id: str
    position_id: str


@dataclass(frozen=True)
class PaymentsReported(ChunkedFacts):
    """The payments a reporting flow (FdR `flow_id`) reported that were already known from their
    receipts (`batch_id`: the flow's id), at most 500 per event: the Comune's documents name the
    flow each payment reached the treasury with."""

    TYPE: ClassVar[str] = "payments.payments_reported"
    VERSION: ClassVar[int] = 1
    FACTS: ClassVar[str] = "payments"
    FACT: ClassVar[type] = ReportedFact
    MOST: ClassVar[int] = MOST_PAYMENTS_PER_EVENT
    flow_id: str
    payments: tuple[ReportedFact, ...]
