"""The message envelope every event travels in, and its wire encoding."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class UndecodableMessage(Exception):
    """A message body that is not a valid envelope: it goes straight to dead-letter."""


@dataclass(frozen=True)
class Envelope:
    type: str
    version: int
    tenant_id: uuid.UUID
    payload: dict[str, Any]
    correlation_id: str = ""
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def routing_key(self) -> str:
        return f"{self.type}.v{self.version}"

    def encode(self) -> bytes:
        return self._dumps(self.payload).encode()

    def encode_with(self, raw: Mapping[str, str]) -> bytes:
        """`encode`, with the payload fields in `raw` given as JSON text already written (facts the
        database wrote as JSON for bulk events: a million of them are too slow to decode and encode
        again in Python). The fields of `payload` that `raw` also names are replaced."""
        marks = {key: f"\x00raw {key}\x00" for key in raw}
        text = self._dumps({**self.payload, **marks})
        for key, mark in marks.items():
            quoted = json.dumps(mark)
            if text.count(quoted) != 1:
                raise ValueError(f"raw field {key!r} cannot be placed")
            text = text.replace(quoted, raw[key])
        return text.encode()

    def _dumps(self, payload: dict[str, Any]) -> str:
        return json.dumps(
            {
                "message_id": str(self.message_id),
                "type": self.type,
                "version": self.version,
                "tenant_id": str(self.tenant_id),
                "correlation_id": self.correlation_id,
                "occurred_at": self.occurred_at.isoformat(),
                "payload": payload,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def decode(cls, body: bytes) -> Envelope:
        try:
            raw = json.loads(body)
            occurred = datetime.fromisoformat(raw["occurred_at"])
            if occurred.tzinfo is None:
                raise ValueError("occurred_at must be timezone-aware")
            payload = raw["payload"]
            if not isinstance(payload, dict):
                raise TypeError("payload must be an object")
            return cls(
                type=str(raw["type"]),
                version=int(raw["version"]),
                tenant_id=uuid.UUID(raw["tenant_id"]),
                payload=payload,
                correlation_id=str(raw.get("correlation_id", "")),
                message_id=uuid.UUID(raw["message_id"]),
                occurred_at=occurred,
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise UndecodableMessage(str(exc)) from exc
