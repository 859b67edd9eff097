"""Frozen, versioned event contracts: the only language services share.

Routing keys are `<service>.<event>.v<version>`. A new version is a new class; consumers keep
accepting the previous version while a deploy rolls out. Events carry ids and facts, never ORM rows.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, TypeVar

from services.kernel.envelope import Envelope, UndecodableMessage

E = TypeVar("E", bound="Event")


@dataclass(frozen=True)
class Event:
    TYPE: ClassVar[str]
    VERSION: ClassVar[int]

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.TYPE}.v{cls.VERSION}"

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return payload

    @classmethod
    def from_envelope(cls: type[E], envelope: Envelope) -> E:
        if envelope.type != cls.TYPE or envelope.version != cls.VERSION:
            raise UndecodableMessage(f"expected {cls.routing_key()}, got {envelope.routing_key}")
        try:
            return cls._from_payload(envelope.payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise UndecodableMessage(f"bad payload for {cls.routing_key()}: {exc}") from exc

    @classmethod
    def _from_payload(cls: type[E], payload: dict[str, Any]) -> E:
        return cls(**_typed_fields(cls, payload))

    def envelope(self, tenant_id: uuid.UUID, correlation_id: str = "") -> Envelope:
        return Envelope(
            type=self.TYPE,
            version=self.VERSION,
            tenant_id=tenant_id,
            payload=self.to_payload(),
            correlation_id=correlation_id,
        )


_SCALARS: dict[str, type] = {"str": str, "int": int, "bool": bool}


def _typed_fields(cls: type, payload: dict[str, Any]) -> dict[str, Any]:
    """The dataclass's own fields from a payload: unknown keys are ignored (a newer producer may add
    fields), a field with a default may be missing (an older producer did not have it), scalar
    types are checked so a malformed event is rejected before it reaches a database."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in payload:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            raise KeyError(f.name)
        value = payload[f.name]
        expected = _SCALARS.get(str(f.type))
        if expected is not None and (type(value) is not expected):
            raise TypeError(f"{f.name} must be {expected.__name__}, got {type(value).__name__}")
        values[f.name] = value
    return values


def _with_facts(cls: type[E], payload: dict[str, Any], name: str, fact: type) -> E:
    """Decode a chunked event whose `name` field is a list of `fact` dataclasses."""
    fields = _typed_fields(cls, payload)
    fields[name] = tuple(fact(**_typed_fields(fact, item)) for item in payload[name])
    return cls(**fields)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (uuid.UUID, date)):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


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


MAX_POSITIONS_PER_EVENT = 500


@dataclass(frozen=True)
class ChunkedFacts(Event):
    """One chunk of a batch's facts: `FACTS` names the tuple field of `FACT`s, at most `MOST` of them."""

    FACTS: ClassVar[str]
    FACT: ClassVar[type]
    MOST: ClassVar[int] = 500
    batch_id: str
    chunk: int
    chunks: int

    def __post_init__(self) -> None:
        if len(getattr(self, self.FACTS)) > self.MOST:
            raise ValueError(f"at most {self.MOST} {self.FACTS} per event")

    @classmethod
    def _from_payload(cls: type[E], payload: dict[str, Any]) -> E:
        return _with_facts(cls, payload, cls.FACTS, cls.FACT)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PositionsRegistered(ChunkedFacts):
    TYPE: ClassVar[str] = "ingest.positions_registered"
    VERSION: ClassVar[int] = 1
    FACTS: ClassVar[str] = "positions"
    FACT: ClassVar[type] = PositionFact
    MOST: ClassVar[int] = MAX_POSITIONS_PER_EVENT
    positions: tuple[PositionFact, ...]


@dataclass(frozen=True)
class OutcomeRecorded(Event):
    """An operator recorded the outcome of a contact with a debtor (`recorded_at`: ISO, aware)."""

    TYPE: ClassVar[str] = "contact.outcome_recorded"
    VERSION: ClassVar[int] = 1
    contact_id: str
    debtor_id: str
    outcome: str
    operator: str
    recorded_at: str


@dataclass(frozen=True)
class PaymentReceived(Event):
    """A payment on a position was recorded (`paid_on`: ISO date); amounts in cents."""

    TYPE: ClassVar[str] = "payments.payment_received"
    VERSION: ClassVar[int] = 1
    payment_id: str
    position_id: str
    debtor_id: str
    amount_cents: int
    paid_on: str
    recorded_by: str


@dataclass(frozen=True)
class NoticeIssued(Event):
    """A pagoPA notice (one payment option of a position) was issued; `due_date` is an ISO date."""

    TYPE: ClassVar[str] = "payments.notice_issued"
    VERSION: ClassVar[int] = 1
    nav: str
    iuv: str
    position_id: str
    debtor_id: str
    amount_cents: int
    due_date: str
    issued_by: str


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
    NoticeIssued,
    PlanCreated,
    PlanExtended,
    PlanLapsed,
    DebtorContactUpdated,
    ContactsRegistered,
)
