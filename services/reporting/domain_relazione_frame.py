"""The frame of a relazione di scarico: the request, checked field by field (the page's form and the
API), what the document says before its lines (header) and after them (totals, aggio, annex). No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.kernel.errors import DomainError
from services.reporting.domain import format_cents
from services.reporting.domain_aggio import (
    EARLIEST_START,
    AggioResult,
    Contract,
    format_percent,
)
from services.reporting.domain_relazione import KINDS, Scope, format_date
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
    if start < EARLIEST_START:
        raise DomainError(
            f"Il periodo non può iniziare prima del {EARLIEST_START:%d/%m/%Y}: nessun affidamento è così vecchio.",
            field="period_from",
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
    """A credit file of the load: the rows it had accepted (its own count, repeats of positions
    already assigned included) and the positions it assigned first, with their load (carico
    affidato, before the office's answers): the loads add up to the relazione's carico affidato."""

    filename: str
    accepted: int
    accepted_total_cents: int
    accepted_on: date
    new_positions: int = 0
    new_cents: int = 0

    def described(self) -> str:
        """«crediti.csv del 02/01/2025: 3 righe accettate, 3 posizioni nuove, 300,00 euro»."""
        rows = "1 riga accettata" if self.accepted == 1 else f"{self.accepted} righe accettate"
        if not self.new_positions:
            return f"{self.filename} del {format_date(self.accepted_on)}: {rows}, nessuna posizione nuova (già affidate)"
        new = "1 posizione nuova" if self.new_positions == 1 else f"{self.new_positions} posizioni nuove"
        return f"{self.filename} del {format_date(self.accepted_on)}: {rows}, {new}, {format_cents(self.new_cents)} euro"


def batches_total(batches: tuple[BatchInfo, ...]) -> str:
    """The loads' line under the files: what they assigned together."""
    count, cents = sum(b.new_positions for b in batches), sum(b.new_cents for b in batches)
    return f"Totale dei carichi: {count} posizioni, {format_cents(cents)} euro"


@dataclass(frozen=True)
class Header:
    """What the relazione says about itself before its lines."""

    report_id: str
    ente: str
    scope: Scope
    version: int
    generated_at: str  # already formatted (Europe/Rome)
    generated_by: str
    contract: str  # the aggio contract's reference, start, rate and VAT (`contract_texts`)
    batches: tuple[BatchInfo, ...]


# The CSV is one table with its headers on the first row, like every CSV the Comune downloads: what
# identifies the relazione is in columns of its own, on every row, after the position's cells.
CSV_IDENTITY_COLUMNS = ("Relazione", "Periodo dal", "Periodo al", "Versione")


def csv_identity(header: Header) -> list[str]:
    """The cells that identify the relazione on each CSV row: two versions never share their bytes."""
    scope = header.scope
    return [
        KINDS[scope.kind],
        format_date(scope.period_from),
        format_date(scope.period_to),
        str(header.version),
    ]


@dataclass(frozen=True)
class Closing:
    """What follows the lines: totals, the aggio and the reconciliation annex."""

    totals: Totals
    aggio: AggioResult
    aggio_label: str
    flows: tuple[Flow, ...]
    # The debtors' c.803 charges paid in the period (their own notices): apart, not in the base.
    charges_cents: int = 0


NO_CONTRACT = "Nessun contratto d'aggio registrato: aggio non calcolato (lo inserisce la società)"


def vat_label(rate_bp: int) -> str:
    """The VAT line's name in the relazione (header, PDF and XLSX closing): its rate, or none."""
    return f"IVA {format_percent(rate_bp)}" if rate_bp else "IVA non applicata"


def contract_texts(c: Contract | None) -> tuple[str, str]:
    """How the relazione names the aggio contract: in its header, after «Contratto:» (reference,
    start, rate, VAT: the word is not said twice), and as the rule of its closing."""
    if c is None:
        return "nessun contratto d'aggio registrato (aggio non calcolato)", NO_CONTRACT
    how = c.terms
    vat = vat_label(c.vat_rate_bp if c.vat_applies else 0)
    since = f"dal {format_date(c.start_date)}"
    heading = ", ".join(
        part for part in (c.reference, since, f"aggio {how[0].lower()}{how[1:]}", vat) if part
    )
    named = f" {c.reference}" if c.reference else ""
    label = (
        f"Contratto{named} {since}: aggio {how}, {vat}; applicato mese per mese al riscosso netto di "
        "rimborsi e revoche, come nei rendiconti mensili"
    )
    return heading, label


def versions_texts(versions: tuple[Contract, ...]) -> tuple[str, str]:
    """`contract_texts` for a contract amended during the mandate: each version from its start
    date, in order (the reference said again only where it changed)."""
    if len(versions) < 2:
        return contract_texts(versions[0] if versions else None)
    parts, reference = [], None
    for c in versions:
        how = c.terms
        named = c.reference if c.reference != reference else ""
        reference = c.reference
        terms = f"dal {format_date(c.start_date)} aggio {how[0].lower()}{how[1:]}"
        parts.append(
            ", ".join(p for p in (named, terms, vat_label(c.vat_rate_bp if c.vat_applies else 0)) if p)
        )
    heading = "; ".join(parts)
    label = (
        f"Contratto in {len(versions)} versioni: {heading}; ogni mese con la versione in vigore, applicata "
        "al riscosso netto di rimborsi e revoche, come nei rendiconti mensili"
    )
    return heading, label
