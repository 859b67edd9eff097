"""Use cases of the Ufficio tributi's portal: the figures, the drill-down to the debtors and one
debtor's read-only file. Every look at personal data (names, fiscal codes) is recorded in the access
log, downloads included."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.identity import Identity
from services.reporting import domain_portal as dp
from services.reporting import repository as repo
from services.reporting import repository_ledger, repository_limitation_acts
from services.reporting import repository_portal as rp
from services.reporting.domain import ROME

Row = Any


@dataclass(frozen=True)
class DebtorPage:
    filter: dp.DebtorFilter
    rows: list[Row]
    total: int
    revenue_types: list[str]
    years: list[int]

    @property
    def pages(self) -> int:
        return dp.pages(self.total)


@dataclass(frozen=True)
class DebtorFile:
    debtor_id: uuid.UUID
    fiscal_code: str
    name: str
    positions: list[Row]
    payments: list[Row]
    outcomes: list[Row]
    contact: Row | None
    plans: list[Row]
    cases: list[Row]
    # The Comune's interrupting acts recorded for the debtor (`handlers_limitation_acts`).
    acts: list[Row] = field(default_factory=list)
    # The pagoPA notices issued to the debtor (`payments.notice_issued`).
    notices: list[Row] = field(default_factory=list)

    def acts_too_late(self) -> dict[Any, list[Row]]:
        """The acts that interrupt nothing, each with the positions already time-barred when it
        was served (`domain_portal.acts_too_late`)."""
        late: dict[Any, list[Row]] = {}
        for p in self.positions:
            for act_id in dp.acts_too_late(p, self.payments, self.acts):
                late.setdefault(act_id, []).append(p)
        return late

    def paid_on(self, iuv: str) -> date | None:
        """The day a payment not revoked came in on the notice `iuv` (None: none known)."""
        days = [p.paid_on for p in self.payments if p.iuv == iuv and p.revoked_on is None]
        return min(days) if days else None

    @cached_property
    def _served(self) -> dict[Any, list[date]]:
        return dp.served_days(self.acts)

    def barred_on(self, position: Row) -> date:
        """The first day `position` is time-barred, its payments and acts counted."""
        return dp.barred_on(position, self.payments, self._served.get(position.position_id, ()))


async def portal(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> dp.Portal:
    """The campaign's stages, by revenue type and by year, the last weeks' trend and what the
    limitation bars next."""
    rows = await rp.figures(uow, tenant_id)
    total, by_type, by_year = dp.empty_group(), [], []
    for row in rows:
        figures = dp.GroupFigures("", dp.stages_of(dict(row._mapping)))
        if row.by_type:
            by_type.append(dp.GroupFigures(row.revenue_type, figures.stages))
        elif row.by_year:
            by_year.append(dp.GroupFigures(str(row.year), figures.stages))
        else:
            total = figures
    start = dp.trend_weeks(today)[0]
    since_at = datetime.combine(start, time(), tzinfo=ROME)
    week = await rp.weekly(uow, tenant_id, start, since_at)
    return dp.Portal(
        total=total,
        by_type=tuple(sorted(by_type, key=lambda g: g.key)),
        by_year=tuple(sorted(by_year, key=lambda g: g.key)),
        weeks=dp.weekly_trend(today, week["paid"], week["refunded"], week["outcomes"]),
        promised_cents=await rp.promised_cents(uow, tenant_id),
        limitation=dp.limitation_watch(today, await rp.limitation_rows(uow, tenant_id, today)),
    )


async def debtor_page(uow: UnitOfWork, who: Identity, filt: dp.DebtorFilter) -> DebtorPage:
    """A page of the debtors the filter finds; the view is recorded (names and fiscal codes)."""
    rows = await rp.debtor_page(uow, who.tenant_id, filt, dp.PAGE_SIZE)
    total = int(rows[0].total) if rows else await rp.debtor_count(uow, who.tenant_id, filt)
    await repo.access.record(uow, who.tenant_id, who.user_id, "view_debtor_list", None, _detail(filt))
    types, years = await rp.choices(uow, who.tenant_id)
    return DebtorPage(filt, rows, total, types, years)


async def refused_search(uow: UnitOfWork, who: Identity, filt: dp.DebtorFilter) -> DebtorPage:
    """The list's filters with no list: the search was refused (nothing personal is read)."""
    types, years = await rp.choices(uow, who.tenant_id)
    return DebtorPage(filt, [], 0, types, years)


async def debtor_export(uow: UnitOfWork, who: Identity, filt: dp.DebtorFilter, fmt: str) -> list[Row]:
    """Every debtor the filter finds, for a download; the download is recorded."""
    rows = await rp.all_debtors(uow, who.tenant_id, filt)
    action = f"download_debtor_list_{fmt}"
    await repo.access.record(uow, who.tenant_id, who.user_id, action, None, _detail(filt, len(rows)))
    return rows


def _detail(filt: dp.DebtorFilter, count: int | None = None) -> str:
    text = filt.query() or "tutti"
    return text if count is None else f"{text}; righe={count}"


async def debtor_file(
    uow: UnitOfWork, who: Identity, debtor_id: uuid.UUID, action: str = "view_debtor"
) -> DebtorFile:
    """The debtor's positions, payments, outcomes, plans and the office's cases; the view is recorded
    (`action`: a page seen, or the file downloaded). A debtor of another Comune, or unknown, is not
    found."""
    tenant = who.tenant_id
    positions = await rp.debtor_positions(uow, tenant, debtor_id)
    if not positions:
        raise NotFound("Debitore non trovato.")
    ids = [p.position_id for p in positions]
    found = DebtorFile(
        debtor_id=debtor_id,
        fiscal_code=positions[0].fiscal_code,
        name=positions[0].debtor_name,
        positions=positions,
        payments=await rp.debtor_payments(uow, tenant, debtor_id, ids),
        outcomes=await rp.debtor_outcomes(uow, tenant, debtor_id),
        contact=await rp.debtor_contact(uow, tenant, debtor_id),
        plans=await rp.debtor_plans(uow, tenant, debtor_id),
        cases=await rp.debtor_cases(uow, tenant, debtor_id),
        acts=await repository_limitation_acts.of_debtor(uow, tenant, debtor_id),
        notices=await repository_ledger.notices_of(uow, tenant, debtor_id),
    )
    await repo.access.record(uow, tenant, who.user_id, action, debtor_id)
    return found
