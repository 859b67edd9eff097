"""The frame of a relazione di scarico: the request, checked field by field (the page's form and the
API), what the document says before its lines (header) and after them (totals, aggio, annex). No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.kernel.errors import DomainError
from services.reporting.domain_aggio import AggioResult
from services.reporting.domain_relazione import KINDS, Scope
from services.reporting.domain_relazione_totals import Totals

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ITALIAN = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class Request:
    kind: str
    period_from: date
    period_to: date


def parse_date(raw: object, name: str) -> date:
    """A date typed as 2025-03-31 (what a date field and the API send) or 31/03/2025."""
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        if _ISO.match(text):
            return date.fromisoformat(text)
        found = _ITALIAN.match(text)
        if found:
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
    except ValueError:
        pass
    label = "iniziale" if name == "period_from" else "finale"
    raise DomainError(
        f"La data {label} del periodo non è valida: indicarla come GG/MM/AAAA (es. 31/03/2025).",
        field=name,
    )


def parse_request(kind: object, period_from: object, period_to: object, today: date) -> Request:
    """Check a request for a relazione on `today` (in Rome); every refusal names its field. The
    period ends today at the latest: what is judged at its end (the limitation) has not happened
    yet after it."""
    if kind not in KINDS:
        raise DomainError(
            "Il tipo di relazione deve essere «interim» (intermedia) o «final» (finale).", field="kind"
        )
    start, end = parse_date(period_from, "period_from"), parse_date(period_to, "period_to")
    if end < start:
        raise DomainError(
            "Il periodo termina prima di cominciare: la data finale deve essere uguale o successiva "
            "a quella iniziale.",
            field="period_to",
        )
    if end > today:
        raise DomainError(
            f"Il periodo non può finire dopo oggi ({today:%d/%m/%Y}): la relazione riguarda ciò che è già avvenuto.",
            field="period_to",
        )
    return Request(str(kind), start, end)


@dataclass(frozen=True)
class Flow:
    """A line of the reconciliation annex: the payments of one reporting flow (FdR)."""

    flow_id: str
    payments: int
    amount_cents: int
    first_paid_on: date | None
    last_paid_on: date | None
    revoked: int
    revoked_cents: int


@dataclass(frozen=True)
class BatchInfo:
    filename: str
    accepted: int
    accepted_total_cents: int
    accepted_on: date


@dataclass(frozen=True)
class Header:
    """What the relazione says about itself before its lines."""

    report_id: str
    ente: str
    scope: Scope
    version: int
    generated_at: str  # already formatted (Europe/Rome)
    generated_by: str
    contract: str  # the aggio contract's reference and basis, or the flat rate of the settings
    batches: tuple[BatchInfo, ...]


@dataclass(frozen=True)
class Closing:
    """What follows the lines: totals, the aggio and the reconciliation annex."""

    totals: Totals
    aggio: AggioResult
    aggio_label: str
    flows: tuple[Flow, ...]
    # The debtors' c.803 charges paid in the period (their own notices): apart, not in the base.
    charges_cents: int = 0
