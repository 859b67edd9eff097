"""Frozen, versioned event contracts: the only language services share.

Routing keys are `<service>.<event>.v<version>`. A new version is a new class; consumers keep
accepting the previous version while a deploy rolls out. Events carry ids and facts, never ORM rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from services.contracts_base import ChunkedFacts, Event, _typed_fields
from services.contracts_contact import (
    AlreadyPaidClaimed,
    AlreadyPaidEvidenceAttached,
    CaseOpened,
    ContactDatumInvalidated,
    DebtorDeceased,
    DisputeOpened,
    HardshipFlagged,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from services.contracts_mandate import ERASED_EVENTS, ErasureRequested, HandoverReady, MandateClosed
from services.contracts_payments import (
    MOST_PAYMENTS_PER_EVENT,
    ChargesPaid,
    ChargesRecomputed,
    ChargesRevoked,
    JobRequested,
    NoticeIssued,
    NoticeSent,
    PaymentFact,
    PaymentReceived,
    PaymentRefunded,
    PaymentRevoked,
    PaymentsReceived,
    PaymentsReported,
    PlanCreated,
    PlanExtended,
    PlanLapsed,
    PlanReamounted,
    PositionSettled,
    ReportedFact,
)
from services.contracts_reporting import CaseAnswered, LimitationInterrupted, ReportRequested

__all__ = [
    "ALL_EVENTS",
    "CONTACT_SOURCE_LABELS",
    "MOST_PAYMENTS_PER_EVENT",
    "NOT_CONVERSATIONS",
    "OTHER_PERSON_OUTCOMES",
    "REVENUE_TYPES",
    "REVENUE_TYPE_NAMES",
    "UNANSWERED_OUTCOMES",
    "AlreadyPaidClaimed",
    "AlreadyPaidEvidenceAttached",
    "BatchAccepted",
    "BatchReceived",
    "CaseAnswered",
    "CaseOpened",
    "ChargesPaid",
    "ChargesRecomputed",
    "ChargesRevoked",
    "ChunkedFacts",
    "ContactDatumInvalidated",
    "ContactFact",
    "ContactsRegistered",
    "DebtorContactUpdated",
    "DebtorDeceased",
    "DisputeOpened",
    "Event",
    "HardshipFlagged",
    "JobRequested",
    "LimitationInterrupted",
    "NoticeIssued",
    "NoticeSent",
    "OutcomeRecorded",
    "PaymentFact",
    "PaymentReceived",
    "PaymentRefunded",
    "PaymentRevoked",
    "PaymentsReceived",
    "PaymentsReported",
    "PlanCreated",
    "PlanExtended",
    "PlanLapsed",
    "PlanReamounted",
    "PositionFact",
    "PositionSettled",
    "PositionsRegistered",
    "PromiseBroken",
    "PromiseKept",
    "PromiseMade",
    "ReportRequested",
    "ReportedFact",
]


# The kinds of local revenue a position can be (the shared vocabulary of `revenue_type`).
REVENUE_TYPES = ("IMU", "TARI", "CUP", "CDS", "ALTRO")
# Their names for a taxpayer, who may not know the acronym (the notices, the taxpayer's page, forms).
REVENUE_TYPE_NAMES = {
    "IMU": "Imposta municipale propria (IMU)",
    "TARI": "Tassa sui rifiuti (TARI)",
    "CUP": "Canone unico patrimoniale (CUP)",
    "CDS": "Sanzioni del Codice della strada",
    "ALTRO": "Altre entrate del Comune (ALTRO)",
}


@dataclass(frozen=True)
class BatchReceived(Event):
    """Ingest's own work item: a raw file is stored and waits for processing."""

    TYPE: ClassVar[str] = "ingest.batch_received"
    VERSION: ClassVar[int] = 1
    batch_id: str


@dataclass(frozen=True)
class BatchAccepted(Event):
    """A batch was settled: how many rows it had, accepted (and their total), repeated, in conflict,
    and rejected by reason."""

    TYPE: ClassVar[str] = "ingest.batch_accepted"
    VERSION: ClassVar[int] = 1
    batch_id: str
    filename: str
    data_rows: int
    accepted: int
    accepted_total_cents: int
    duplicates: int
    conflicts: int
    rejected: dict[str, int]


@dataclass(frozen=True)
class PositionFact:
    """A registered position (credit) of a debtor, as the other services keep it."""

    position_id: str
    debtor_id: str
    fiscal_code: str
    debtor_name: str
    revenue_type: str
    year: int
    act_number: str
    amount_cents: int
    # The debtor's data-quality grade when the batch was registered ("phone", "address", "none";
    # "" in events of before): the relazione's tracing result until a trace changes it.
    debtor_grade: str = ""
    # The act's day (ISO), its notification in the Comune's file, else its due day ("" when the file
    # gave neither, and in events of before): the limitation runs from it (`kernel.limitation`).
    act_on: str = ""

    @property
    def act_day(self) -> date | None:
        return date.fromisoformat(self.act_on) if self.act_on else None


MAX_POSITIONS_PER_EVENT = 500


@dataclass(frozen=True)
class PositionsRegistered(ChunkedFacts):
    TYPE: ClassVar[str] = "ingest.positions_registered"
    VERSION: ClassVar[int] = 1
    FACTS: ClassVar[str] = "positions"
    FACT: ClassVar[type] = PositionFact
    MOST: ClassVar[int] = MAX_POSITIONS_PER_EVENT
    positions: tuple[PositionFact, ...]


# Outcomes of a call in which nobody answered.
UNANSWERED_OUTCOMES = frozenset({"non_risponde", "occupato"})
# Outcomes of a call someone other than the taxpayer answered: a relative or colleague (told
# nothing), a stranger at a wrong number, someone for whom the taxpayer moved, is unknown or died.
OTHER_PERSON_OUTCOMES = frozenset({"terzo_risponde", "numero_errato", "irreperibile", "deceduto"})
# Every other outcome is a conversation with the taxpayer: the conduct rules cap them (UNIREC: one
# a day, three a week) and the reports count the debtor as reached.
NOT_CONVERSATIONS = UNANSWERED_OUTCOMES | OTHER_PERSON_OUTCOMES
# The outcome codes as other services name them to people (the contact service's operators may
# rename them per Comune on their own screens).
OUTCOME_LABELS: dict[str, str] = {
    "contattato": "Contattato",
    "promessa_pagamento": "Promessa di pagamento",
    "richiamare": "Da richiamare",
    "non_risponde": "Non risponde",
    "numero_errato": "Numero errato",
    "terzo_risponde": "Risponde un terzo",
    "rifiuto": "Rifiuto",
    "contestazione": "Contestazione",
    "occupato": "Occupato",
    "vuole_rateizzare": "Chiede di rateizzare",
    "gia_pagato": "Dice di aver già pagato",
    "difficolta": "Difficoltà economica",
    "deceduto": "Deceduto",
    "irreperibile": "Irreperibile a quel numero",
}


@dataclass(frozen=True)
class OutcomeRecorded(Event):
    """An operator recorded the outcome of a contact with a debtor (`recorded_at`: ISO, aware);
    `outcome` is one of the contact service's codes (`NOT_CONVERSATIONS`: the taxpayer not reached)."""

    TYPE: ClassVar[str] = "contact.outcome_recorded"
    VERSION: ClassVar[int] = 1
    contact_id: str
    debtor_id: str
    outcome: str
    operator: str
    recorded_at: str


@dataclass(frozen=True)
class DebtorContactUpdated(Event):
    """A contact datum of a debtor was added (tracing, operator) or marked wrong and deactivated.

    `grade` is the debtor's data-quality grade after the change: "phone" (reachable by phone),
    "address" (address only) or "none" (nothing usable); `active_phones` are E.164 numbers.
    `found_on` (ISO date the datum was found) and `confidence` (0-100) are its provenance; events
    written before they were added decode as "" and -1 (unknown).
    """

    TYPE: ClassVar[str] = "ingest.debtor_contact_updated"
    VERSION: ClassVar[int] = 1
    debtor_id: str
    fiscal_code: str
    contact_id: str
    kind: str
    value: str
    source: str
    active: bool
    grade: str
    active_phones: tuple[str, ...]
    found_on: str = ""
    confidence: int = -1

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> DebtorContactUpdated:
        fields = _typed_fields(cls, payload)
        fields["active_phones"] = tuple(str(p) for p in payload["active_phones"])
        return cls(**fields)


@dataclass(frozen=True)
class ContactFact:
    """A contact datum with its provenance; `found_on` is an ISO date or "" when unknown."""

    debtor_id: str
    contact_id: str
    kind: str
    value: str
    source: str
    found_on: str
    confidence: int
    active: bool


MAX_CONTACTS_PER_EVENT = 500
# How the contact data's provenance codes read on every page (any other source is the name typed).
CONTACT_SOURCE_LABELS: dict[str, str] = {"comune": "File del Comune"}


@dataclass(frozen=True)
class ContactsRegistered(ChunkedFacts):
    """The contacts a credit batch brought in (phones are E.164), at most 500 per event."""

    TYPE: ClassVar[str] = "ingest.contacts_registered"
    VERSION: ClassVar[int] = 1
    FACTS: ClassVar[str] = "contacts"
    FACT: ClassVar[type] = ContactFact
    MOST: ClassVar[int] = MAX_CONTACTS_PER_EVENT
    contacts: tuple[ContactFact, ...]


ALL_EVENTS: tuple[type[Event], ...] = (
    BatchReceived,
    BatchAccepted,
    PositionsRegistered,
    OutcomeRecorded,
    PaymentReceived,
    PaymentsReceived,
    PaymentsReported,
    PaymentRevoked,
    PaymentRefunded,
    ChargesPaid,
    ChargesRevoked,
    ChargesRecomputed,
    PositionSettled,
    JobRequested,
    ReportRequested,
    NoticeIssued,
    NoticeSent,
    PlanCreated,
    PlanExtended,
    PlanLapsed,
    PlanReamounted,
    DebtorContactUpdated,
    ContactsRegistered,
    PromiseMade,
    PromiseKept,
    PromiseBroken,
    DisputeOpened,
    AlreadyPaidClaimed,
    AlreadyPaidEvidenceAttached,
    HardshipFlagged,
    DebtorDeceased,
    ContactDatumInvalidated,
    CaseAnswered,
    LimitationInterrupted,
    MandateClosed,
    ErasureRequested,
    HandoverReady,
    *ERASED_EVENTS.values(),
)
