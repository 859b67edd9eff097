"""Event contracts of the contact service beyond `OutcomeRecorded`: promises to pay, cases for the
Ufficio tributi (with the evidence of a payment claimed), contact data found wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.contracts_base import Event


@dataclass(frozen=True)
class PromiseMade(Event):
    """In a call the debtor promised to pay `amount_cents` by `due_on` (ISO date)."""

    TYPE: ClassVar[str] = "contact.promise_made"
    VERSION: ClassVar[int] = 1
    promise_id: str
    debtor_id: str
    contact_id: str
    amount_cents: int
    due_on: str
    operator: str
    made_at: str


@dataclass(frozen=True)
class PromiseKept(Event):
    """The payments received for the debtor since the promise reached its amount (`kept_on`: the
    ISO date of the payment that did)."""

    TYPE: ClassVar[str] = "contact.promise_kept"
    VERSION: ClassVar[int] = 1
    promise_id: str
    debtor_id: str
    amount_cents: int
    paid_cents: int
    kept_on: str


@dataclass(frozen=True)
class PromiseBroken(Event):
    """The promised day passed without the promised amount paid; the debtor is back in the queue,
    first."""

    TYPE: ClassVar[str] = "contact.promise_broken"
    VERSION: ClassVar[int] = 1
    promise_id: str
    debtor_id: str
    amount_cents: int
    paid_cents: int
    due_on: str


@dataclass(frozen=True)
class CaseOpened(Event):
    """An outcome the Ufficio tributi must decide on, with the operator's note; calls pause."""

    contact_id: str
    debtor_id: str
    note: str
    operator: str
    opened_at: str


@dataclass(frozen=True)
class DisputeOpened(CaseOpened):
    """The debtor disputes the debt (the reason in `note`)."""

    TYPE: ClassVar[str] = "contact.dispute_opened"
    VERSION: ClassVar[int] = 1


@dataclass(frozen=True)
class AlreadyPaidClaimed(CaseOpened):
    """The debtor says the debt was paid already (when and how in `note`)."""

    TYPE: ClassVar[str] = "contact.already_paid_claimed"
    VERSION: ClassVar[int] = 1


@dataclass(frozen=True)
class HardshipFlagged(CaseOpened):
    """The debtor is in economic hardship: to the Comune's social-support referral channel."""

    TYPE: ClassVar[str] = "contact.hardship_flagged"
    VERSION: ClassVar[int] = 1


@dataclass(frozen=True)
class DebtorDeceased(CaseOpened):
    """The debtor has died: calls stop; the heirs are the Comune's to pursue."""

    TYPE: ClassVar[str] = "contact.debtor_deceased"
    VERSION: ClassVar[int] = 1


@dataclass(frozen=True)
class ContactDatumInvalidated(Event):
    """An operator found a phone number wrong (`reason`: numero_errato or irreperibile): ingest
    deactivates it and regrades the debtor, who joins the tracing queue if no phone is left."""

    TYPE: ClassVar[str] = "contact.contact_datum_invalidated"
    VERSION: ClassVar[int] = 1
    contact_id: str
    debtor_id: str
    reason: str
    operator: str
    invalidated_at: str


@dataclass(frozen=True)
class AlreadyPaidEvidenceAttached(Event):
    """A file the debtor sent to prove the payment they claimed (`AlreadyPaidClaimed` of the call
    `contact_id`): a receipt, an F24, a bank transfer; the Ufficio tributi checks it. The file is in
    the object storage at `object_key` (under the tenant), `sha256` of its content."""

    TYPE: ClassVar[str] = "contact.already_paid_evidence_attached"
    VERSION: ClassVar[int] = 1
    attachment_id: str
    contact_id: str
    debtor_id: str
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    object_key: str
    uploaded_by: str
    uploaded_at: str
