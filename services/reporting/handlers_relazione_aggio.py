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
from services.reporting.domain_aggio import AggioResult, Base, TypeLine


@dataclass(frozen=True)
class AggioTerms:
    contract: domain_aggio.Contract
    heading: str  # how the header names it, after «Contratto:»
    label: str  # how the closing states its rule
    monthly: bool  # the Comune's contract (month by month), or none (no aggio)

    @property
    def flat_rate_bp(self) -> int | None:
        return self.contract.bands[0].rate_bp if self.contract.basis == "flat" else None


async def aggio_terms(uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope) -> AggioTerms:
    saved = await aggio_repo.get_contract(uow, tenant_id)
    if saved is None:
        heading, label = frame.contract_texts(None)
        return AggioTerms(domain_aggio.flat(0, scope.period_from), heading, label, monthly=False)
    heading, label = frame.contract_texts(saved.contract)
    return AggioTerms(saved.contract, heading, label, monthly=True)


async def aggio_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope, terms: AggioTerms, lines: dict[str, Base]
) -> AggioResult:
    """The aggio of the relazione's period: an interim's months from its first day to its last
    (from the contract's start at the earliest), a final's from the contract's start to today;
    without a contract, nothing (a zero rate on what the lines collected, `lines`)."""
    if not terms.monthly:
        return domain_aggio.compute(terms.contract, lines)
    start = terms.contract.start_date
    since = max(start, scope.period_from) if scope.interim else start
    until = scope.period_to if scope.interim else scope.as_of
    months = await aggio_repo.monthly_bases(uow, tenant_id, since, until) if since <= until else {}
    return combine([domain_aggio.compute(terms.contract, bases) for bases in months.values()], terms.contract)


def combine(results: list[AggioResult], contract: domain_aggio.Contract) -> AggioResult:
    """Months added up: per revenue type, and VAT as each month's rendiconto rounded it."""
    by_type: dict[str, tuple[Base, int, str]] = {}
    for result in results:
        for line in result.lines:
            base, cents, table = by_type.get(line.revenue_type, (Base(), 0, line.table))
            by_type[line.revenue_type] = (_add(base, line.base), cents + line.aggio_cents, table)
    lines = tuple(TypeLine(t, base, cents, table) for t, (base, cents, table) in sorted(by_type.items()))
    totals = Base()
    for result in results:
        totals = _add(totals, result.totals)
    vat_bp = contract.vat_rate_bp if contract.vat_applies else 0
    return AggioResult(lines, vat_bp, sum(r.vat_cents for r in results), totals)


def _add(a: Base, b: Base) -> Base:
    return Base(
        a.collected_cents + b.collected_cents,
        a.refunded_cents + b.refunded_cents,
        a.revoked_cents + b.revoked_cents,
    )
