"""The base of the event contracts (`services.contracts`): how an event is encoded and decoded."""

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
        values = {name: getattr(self, name) for name in _field_names(type(self))}
        if all(type(v) in _PLAIN for v in values.values()):  # most events: no copy of nested facts
            return values
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
_PLAIN = frozenset({str, int, bool, float, type(None)})


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


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
