"""Event contracts of the end of a mandate (`services.mandate`).

The firm's platform admin closes a Comune's mandate in the reporting service (`MandateClosed`):
every service keeps the Comune read-only, and the payments service hands over what the Comune must
keep (`HandoverReady`; reporting writes the final relazione itself). Once the Comune has its
package, the admin asks for the erasure (`ErasureRequested`): every service erases that Comune's
personal data and reports what it erased (`TenantErased`, counts and SHA-256), from which
reporting signs the erasure certificate. Lists travel as JSON text (`files`, `tables`, `objects`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from services.contracts_base import Event
from services.kernel.envelope import UndecodableMessage

# The services that hold a Comune's personal data, each reporting its own erasure.
ERASING_SERVICES = ("ingest", "contact", "payments", "reporting")


@dataclass(frozen=True)
class MandateClosed(Event):
    TYPE: ClassVar[str] = "reporting.mandate_closed"
    VERSION: ClassVar[int] = 1
    closed_on: str  # ISO date, Europe/Rome
    closed_by: str
    reason: str


@dataclass(frozen=True)
class ErasureRequested(Event):
    TYPE: ClassVar[str] = "reporting.erasure_requested"
    VERSION: ClassVar[int] = 1
    requested_by: str
    requested_at: str  # ISO datetime with offset


@dataclass(frozen=True)
class HandoverReady(Event):
    """The payments service's part of the package: `files` is a JSON list of
    {"name", "key", "sha256", "size", "media_type"}."""

    TYPE: ClassVar[str] = "payments.handover_ready"
    VERSION: ClassVar[int] = 1
    files: str

    def file_list(self) -> list[dict[str, Any]]:
        return _json_list(self.files, "files")


@dataclass(frozen=True)
class TenantErased(Event):
    """What one service erased: `tables` a JSON list of {"table", "rows", "sha256"} (SHA-256 of the
    erased rows' keys, sorted, one per line), `objects` a JSON object {"count", "bytes", "sha256"}
    (SHA-256 of the erased objects' "key size sha256" lines)."""

    TYPE: ClassVar[str] = "kernel.tenant_erased"
    VERSION: ClassVar[int] = 1
    service: str
    erased_at: str
    tables: str
    objects: str

    def report(self) -> dict[str, Any]:
        objects = _json(self.objects, "objects")
        if not isinstance(objects, dict):
            raise UndecodableMessage("objects must be a JSON object")
        return {
            "service": self.service,
            "erased_at": self.erased_at,
            "tables": _json_list(self.tables, "tables"),
            "objects": objects,
        }


@dataclass(frozen=True)
class IngestErased(TenantErased):
    TYPE: ClassVar[str] = "ingest.tenant_erased"


@dataclass(frozen=True)
class ContactErased(TenantErased):
    TYPE: ClassVar[str] = "contact.tenant_erased"


@dataclass(frozen=True)
class PaymentsErased(TenantErased):
    TYPE: ClassVar[str] = "payments.tenant_erased"


@dataclass(frozen=True)
class ReportingErased(TenantErased):
    TYPE: ClassVar[str] = "reporting.tenant_erased"


ERASED_EVENTS: dict[str, type[TenantErased]] = {
    "ingest": IngestErased,
    "contact": ContactErased,
    "payments": PaymentsErased,
    "reporting": ReportingErased,
}


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UndecodableMessage(f"{name} is not JSON: {exc}") from exc


def _json_list(text: str, name: str) -> list[dict[str, Any]]:
    value = _json(text, name)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise UndecodableMessage(f"{name} must be a JSON list of objects")
    return value
