"""Use cases of the aggio contract and its versions (`domain_aggio_versions`): saving and removing a
version, the aggio of a period (each part with the version in force then) and the dashboard's
figure. Each runs in its entrypoint's unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.contracts import REVENUE_TYPES
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.reporting import domain_aggio as rules
from services.reporting import domain_aggio_versions as versions_rules
from services.reporting import repository_aggio as aggio_repo
from services.reporting import repository_charges
from services.reporting.domain_aggio import AggioResult, Contract
from services.reporting.domain_aggio_versions import Versions

NO_CONTRACT = "Il contratto dell'aggio di questo Comune non è ancora stato inserito."


@dataclass(frozen=True)
class PeriodAggio:
    start: date
    end: date
    contract: Contract  # the version in force at the period's end
    result: AggioResult
    # The c.803 charges debtors paid in the period, per revenue type: apart, never in the base.
    charges: dict[str, int] = field(default_factory=dict)
    # Each version applied and the part of the period it governed.
    spans: tuple[tuple[Contract, date, date], ...] = ()

    @property
    def charges_cents(self) -> int:
        return sum(self.charges.values())


async def contract_versions(uow: UnitOfWork, tenant_id: uuid.UUID) -> tuple[aggio_repo.SavedContract, ...]:
    """The Comune's aggio contract version by version (none while the firm's admin entered none)."""
    return await aggio_repo.contract_versions(uow, tenant_id)


def versions_in(saved: tuple[aggio_repo.SavedContract, ...]) -> Versions | None:
    """The versions of the contracts saved (None: no contract yet)."""
    return Versions(tuple(s.contract for s in saved)) if saved else None


async def versions_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> Versions | None:
    return versions_in(await aggio_repo.contract_versions(uow, tenant_id))


def _replacing(fields: dict[str, str], typed: date | None, versions: tuple[Contract, ...]) -> date | None:
    """Which version the form saves over: the one it was opened on (`version`, ISO; empty for a new
    version); a form without the field saves over the version of the start date typed, if any."""
    if "version" in fields:
        raw = fields["version"].strip()
        try:
            return date.fromisoformat(raw) if raw else None
        except ValueError:
            raise DomainError(
                "Versione del contratto non valida: ricarica la pagina.", field="start_date"
            ) from None
    return typed if any(c.start_date == typed for c in versions) else None


async def save_contract(uow: UnitOfWork, who: Identity, fields: dict[str, str], today: date) -> Contract:
    """Validate the contract form and save it as a new version or over the version it edits."""
    contract = rules.parse_contract(fields, REVENUE_TYPES, today)
    current = tuple(s.contract for s in await aggio_repo.contract_versions(uow, who.tenant_id))
    replacing = _replacing(fields, contract.start_date, current)
    versions_rules.place(current, replacing, contract)
    await aggio_repo.put_version(uow, who.tenant_id, replacing, contract, who.tenant_name, who.user_id)
    return contract


async def remove_version(uow: UnitOfWork, who: Identity, raw: str) -> Versions:
    """Remove a version of the contract (a mistaken amendment); the only version stays."""
    try:
        start = date.fromisoformat(raw.strip())
    except ValueError:
        raise DomainError("Versione del contratto non valida: ricarica la pagina.", field="version") from None
    current = tuple(s.contract for s in await aggio_repo.contract_versions(uow, who.tenant_id))
    left = versions_rules.without(current, start)
    await aggio_repo.delete_version(uow, who.tenant_id, start)
    return left


async def period_aggio(
    uow: UnitOfWork, tenant_id: uuid.UUID, start: date, end: date, versions: Versions | None = None
) -> PeriodAggio:
    """The contract (its `versions`, read when not given) applied to what was collected in [start,
    end], net of refunds and revocations: each part of the period with the version in force then."""
    versions = versions or await versions_of(uow, tenant_id)
    if versions is None:
        raise DomainError(NO_CONTRACT, field="contract")
    spans = versions.spans(start, end)
    results = [rules.compute(c, await aggio_repo.bases(uow, tenant_id, a, b)) for c, a, b in spans]
    contract = versions.in_force(end)
    vat = versions_rules.shown_vat([c for c, _, _ in spans], contract)
    result = results[0] if len(results) == 1 else versions_rules.combine(results, vat)
    charges = await repository_charges.collected(uow, tenant_id, start, end)
    return PeriodAggio(start, end, contract, result, charges, tuple(spans))


async def charges_in(uow: UnitOfWork, tenant_id: uuid.UUID, start: date, end: date) -> dict[str, int]:
    """The debtors' c.803 charges paid in [start, end] and not revoked, per revenue type."""
    return await repository_charges.collected(uow, tenant_id, start, end)


@dataclass(frozen=True)
class DashboardAggio:
    label: str  # "18,50%" for a flat contract, else how it is computed (the version in force)
    cents: int
    since: date  # the contract's start: the figure counts from it
    versions: int = 1  # with several, `label` is the version in force today's


async def dashboard_aggio(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> DashboardAggio | None:
    """What the dashboard shows as the aggio on what was collected: month by month since the
    contract started, each month with the version in force then (as the rendiconti invoice it);
    None while there is no contract."""
    versions = await versions_of(uow, tenant_id)
    if versions is None:
        return None
    c = versions.in_force(today)
    label = c.terms
    months = await aggio_repo.monthly_bases(uow, tenant_id, versions.first.start_date, today)
    cents = sum(rules.compute(versions.in_force(month), bases).aggio_cents for month, bases in months.items())
    return DashboardAggio(label, cents, versions.first.start_date, len(versions.contracts))


def _contract_head(c: Contract) -> dict[str, Any]:
    return {
        "reference": c.reference,
        "start_date": c.start_date.isoformat(),
        "basis": c.basis,
        "vat_applies": c.vat_applies,
    }


def period_json(period: PeriodAggio) -> dict[str, Any]:
    r = period.result
    return {
        "period_from": period.start.isoformat(),
        "period_to": period.end.isoformat(),
        "contract": {**_contract_head(period.contract), "vat_rate_bp": r.vat_rate_bp},
        # Every version applied, with the part of the period it governed.
        "versions": [
            {**_contract_head(c), "applied_from": a.isoformat(), "applied_to": b.isoformat()}
            for c, a, b in period.spans
        ],
        "collected_cents": r.totals.collected_cents,
        "refunded_cents": r.totals.refunded_cents,
        "revoked_cents": r.totals.revoked_cents,
        "taxable_cents": r.totals.taxable_cents,
        "aggio_cents": r.aggio_cents,
        "vat_cents": r.vat_cents,
        "invoice_cents": r.invoice_cents,
        "by_revenue_type": [
            {
                "revenue_type": line.revenue_type,
                "collected_cents": line.base.collected_cents,
                "refunded_cents": line.base.refunded_cents,
                "revoked_cents": line.base.revoked_cents,
                "taxable_cents": line.base.taxable_cents,
                "aggio_cents": line.aggio_cents,
                "charges_c803_cents": period.charges.get(line.revenue_type, 0),
            }
            for line in r.lines
        ],
        # The debtors' c.803 charges paid in the period (their own notices): apart, not in the base.
        "charges_c803_cents": period.charges_cents,
        "charges_c803_by_revenue_type": dict(sorted(period.charges.items())),
    }
