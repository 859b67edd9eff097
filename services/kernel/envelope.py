"""The message envelope every event travels in, and its wire encoding."""

from __future__ import annotations

import json
import uuid
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
        return json.dumps(
            {
                "message_id": str(self.message_id),
                "type": self.type,
                "version": self.version,
                "tenant_id": str(self.tenant_id),
                "correlation_id": self.correlation_id,
                "occurred_at": self.occurred_at.isoformat(),
                "payload": self.payload,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

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


def envelope_sql(payload: str) -> str:
    """SQL of an outbox body: the envelope `Envelope.encode` writes, around the JSON expression
    `payload`, for events the database builds in bulk (tens of thousands of facts per statement).

    The query must provide a `message_id` column and the parameters of `envelope_params`.
    """
    fields = ", ".join(
        (
            "'message_id', message_id",
            "'type', CAST(:envelope_type AS text)",
            "'version', CAST(:envelope_version AS integer)",
            "'tenant_id', CAST(:envelope_tenant_id AS text)",
            "'correlation_id', CAST(:envelope_correlation_id AS text)",
            "'occurred_at', CAST(:envelope_occurred_at AS text)",
            f"'payload', {payload}",
        )
    )
    return f"convert_to(json_build_object({fields})::text, 'UTF8')"


def envelope_params(type: str, version: int, tenant_id: uuid.UUID, correlation_id: str) -> dict[str, Any]:
    """The parameters `envelope_sql` reads, with `routing_key` for the outbox row."""
    return {
        "envelope_type": type,
        "envelope_version": version,
        "envelope_tenant_id": str(tenant_id),
        "envelope_correlation_id": correlation_id,
        "envelope_occurred_at": datetime.now(UTC).isoformat(),
        "routing_key": f"{type}.v{version}",
    }
