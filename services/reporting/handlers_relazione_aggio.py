"""The relazione's aggio: the Comune's aggio contract applied month by month to what was collected,
as the monthly rendiconti invoice it (`domain_aggio`, `repository_aggio`); without a contract there
is no aggio to account for, and the relazione says so."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.kernel.db import UnitOfWork
from services.reporting import domain_aggio
from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting import repository_aggio as aggio_repo
from services.reporting.domain_aggio import AggioResult, Base
from services.reporting.domain_aggio_versions import Versions, combine, shown_vat
from services.reporting.handlers_aggio_contract import versions_of


@dataclass(frozen=True)
class AggioTerms:
    versions: Versions
    heading: str  # how the header names it, after «Contratto:»
    label: str  # how the closing states its rule
    monthly: bool  # the Comune's contract (month by month), or none (no aggio)

    @property
    def contract(self) -> domain_aggio.Contract:
        return self.versions.latest

    @property
    def flat_rate_bp(self) -> int | None:
        """The one rate of every version, when the contract was always a flat rate and never
        changed it."""
        rates = {c.bands[0].rate_bp if c.basis == "flat" else None for c in self.versions.contracts}
        return rates.pop() if len(rates) == 1 else None


async def aggio_terms(uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope) -> AggioTerms:
    versions = await versions_of(uow, tenant_id)
    if versions is None:
        heading, label = frame.versions_texts(())
        return AggioTerms(Versions((domain_aggio.flat(0, scope.period_from),)), heading, label, monthly=False)
    heading, label = frame.versions_texts(versions.contracts)
    return AggioTerms(versions, heading, label, monthly=True)


async def aggio_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope, terms: AggioTerms, lines: dict[str, Base]
) -> AggioResult:
    """The aggio of the relazione's period: an interim's months from its first day to its last
    (from the contract's start at the earliest), a final's from the contract's start to today, each
    month with the version of the contract in force then; without a contract, nothing (a zero rate
    on what the lines collected, `lines`)."""
    if not terms.monthly:
        return domain_aggio.compute(terms.contract, lines)
    versions = terms.versions
    start = versions.first.start_date
    since = max(start, scope.period_from) if scope.interim else start
    until = scope.period_to if scope.interim else scope.as_of
    months = await aggio_repo.monthly_bases(uow, tenant_id, since, until) if since <= until else {}
    applied = [versions.in_force(month) for month in months]
    results = [domain_aggio.compute(c, bases) for c, bases in zip(applied, months.values(), strict=True)]
    return combine(results, shown_vat(applied, versions.in_force(until)))
