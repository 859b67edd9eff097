"""Use cases of the hand-over to pagoPA GPD: the export for the Comune's intermediary, and the
publication of positions or a plan through the intermediary's endpoint and key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity
from services.payments import (
    domain_gpd,
    handlers_positions,
    repository,
    repository_gpd,
    repository_notices,
    repository_plans,
)
from services.payments.domain_gpd import Creditor, Debt, Option
from services.payments.gpd_client import GpdClient, GpdUnavailable


@dataclass(frozen=True)
class Publication:
    """What to send to GPD, read in the request's transaction and sent after its commit."""

    endpoint: str
    api_key: str
    organization: str
    positions: tuple[dict[str, Any], ...]
    # What each position stands for: ("position" or "plan", its id).
    subjects: tuple[tuple[str, uuid.UUID], ...]


async def _creditor(uow: UnitOfWork, tenant_id: uuid.UUID) -> Any:
    found = await repository_notices.creditor(uow, tenant_id)
    if found is None:
        raise Conflict(
            "Il Comune non ha ancora inserito i propri dati pagoPA: nessuna posizione da consegnare."
        )
    return found


def _creditor_model(row: Any) -> Creditor:
    return Creditor(fiscal_code=row.fiscal_code, name=row.name, iban=row.iban)


async def _position_debts(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: tuple[uuid.UUID, ...] | None
) -> dict[uuid.UUID, Debt]:
    """One GPD position per position with payable options of its own, keyed by position id."""
    grouped: dict[uuid.UUID, list[Any]] = {}
    for row in await repository_gpd.position_options(uow, tenant_id, position_ids):
        grouped.setdefault(row.position_id, []).append(row)
    return {
        position_id: Debt(
            kind="position",
            id=position_id,
            fiscal_code=rows[0].fiscal_code,
            full_name=rows[0].debtor_name,
            revenue_type=rows[0].revenue_type,
            reason=f"{rows[0].revenue_type} {rows[0].year}, atto {rows[0].act_number}",
            options=tuple(Option(r.nav, r.iuv, r.amount_cents, r.due_date) for r in rows),
        )
        for position_id, rows in grouped.items()
    }


async def _plan_debts(uow: UnitOfWork, tenant_id: uuid.UUID, heads: list[Any]) -> list[Debt]:
    """One GPD position per plan: its single payment and its installments still payable."""
    options: dict[uuid.UUID, list[Option]] = {h.id: [] for h in heads}
    for row in await repository_gpd.plan_options(uow, tenant_id, [h.id for h in heads]):
        options[row.plan_id].append(
            Option(row.nav, row.iuv, row.amount_cents, row.due_date, installment=row.installment)
        )
    debts = [
        Debt(
            kind="plan",
            id=head.id,
            fiscal_code=head.fiscal_code,
            full_name=head.debtor_name,
            revenue_type=head.revenue_type,
            reason=f"Piano di rateizzazione {head.revenue_type}, atti {', '.join(sorted(head.acts))}",
            options=tuple(options[head.id]),
        )
        for head in heads
    ]
    return debts + await _charges_debts(uow, tenant_id, heads)


async def _charges_debts(uow: UnitOfWork, tenant_id: uuid.UUID, heads: list[Any]) -> list[Debt]:
    """One GPD position per payable notice of a plan's c.803 charges (paid whatever else is)."""
    by_id = {h.id: h for h in heads}
    return [
        Debt(
            kind="charges",
            id=row.id,
            fiscal_code=by_id[row.plan_id].fiscal_code,
            full_name=by_id[row.plan_id].debtor_name,
            revenue_type=by_id[row.plan_id].revenue_type,
            reason=(
                f"Oneri di riscossione L. 160/2019 c. 803, piano {by_id[row.plan_id].revenue_type}, "
                f"atti {', '.join(sorted(by_id[row.plan_id].acts))}"
            ),
            options=(Option(row.nav, row.iuv, row.amount_cents, row.due_date),),
        )
        for row in await repository_gpd.charges_options(uow, tenant_id, list(by_id))
    ]


async def export_gpd(uow: UnitOfWork, ident: Identity) -> dict[str, Any]:
    """All of the Comune's positions and active plans with payable options, in the GPD model, for its
    pagoPA intermediary; the reading of personal data is recorded in the access log."""
    creditor = _creditor_model(await _creditor(uow, ident.tenant_id))
    positions = list((await _position_debts(uow, ident.tenant_id, None)).values())
    heads = [h for h in await repository_gpd.plan_heads(uow, ident.tenant_id) if h.status == "active"]
    debts = positions + await _plan_debts(uow, ident.tenant_id, heads)
    export = domain_gpd.export(creditor, debts)
    detail = f"gpd_export positions={len(export['paymentPositions'])}"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "gpd_export", None, detail)
    return export


async def _debts_to_publish(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: tuple[uuid.UUID, ...], plan_id: uuid.UUID | None
) -> list[Debt]:
    if plan_id is not None:
        heads = await repository_gpd.plan_heads(uow, tenant_id, plan_id)
        if not heads:
            raise NotFound("Piano di rateizzazione non trovato.")
        if heads[0].status != "active":
            raise Conflict("Il piano non è attivo: non può essere consegnato a pagoPA.")
        debts = await _plan_debts(uow, tenant_id, heads)
        if not debts[0].options:
            raise Conflict("Il piano non ha avvisi pagabili: emetti prima gli avvisi del piano.")
        return debts
    positions = await handlers_positions.positions_or_404(uow, tenant_id, position_ids)
    in_plan = set(await repository_plans.positions_in_active_plans(uow, tenant_id, position_ids))
    if in_plan:
        act = next(p.act_number for p in positions if p.id in in_plan)
        raise Conflict(
            f"La posizione {act} è in un piano di rateizzazione attivo: consegna il piano («plan_id»)."
        )
    found = await _position_debts(uow, tenant_id, position_ids)
    missing = [p for p in positions if p.id not in found]
    if missing:
        raise Conflict(f"La posizione {missing[0].act_number} non ha avvisi pagabili: emetti prima l'avviso.")
    return [found[p.id] for p in positions]


async def prepare_publication(
    uow: UnitOfWork, ident: Identity, position_ids: tuple[uuid.UUID, ...], plan_id: uuid.UUID | None
) -> Publication:
    """The positions (each alone) or the plan to create and publish on GPD, with the Comune's
    endpoint and key; a Comune without them gets a conflict."""
    if bool(position_ids) == (plan_id is not None):
        raise DomainError("Indica «position_ids» oppure «plan_id» (uno dei due).", field="position_ids")
    row = await _creditor(uow, ident.tenant_id)
    if not row.gpd_endpoint or not row.gpd_api_key:
        raise Conflict(
            "Il Comune non ha configurato l'endpoint e la chiave GPD del proprio intermediario pagoPA: "
            "usa l'esportazione delle posizioni."
        )
    creditor = _creditor_model(row)
    debts = await _debts_to_publish(uow, ident.tenant_id, position_ids, plan_id)
    models = tuple(domain_gpd.position_model(creditor, d) for d in debts)
    detail = "gpd_publish " + " ".join(m["iupd"] for m in models)
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "gpd_publish", plan_id, detail)
    subjects = tuple((d.kind, d.id) for d in debts)
    return Publication(row.gpd_endpoint, row.gpd_api_key, creditor.fiscal_code, models, subjects)


async def publish(
    publication: Publication, done: list[dict[str, str]], transport: httpx.AsyncBaseTransport | None = None
) -> None:
    """Create and publish each position on GPD (`toPublish=true`), in order, adding each to `done`.
    pagoPA has no transaction across positions: on an error, the message names those already
    published (and `done` holds them, to be recorded)."""
    async with GpdClient(publication.endpoint, publication.api_key, transport=transport) as gpd:
        for model in publication.positions:
            try:
                created = await gpd.create(publication.organization, model, publish=True)
            except DomainError as error:
                if done:
                    error.message += f" Già pubblicate su pagoPA: {', '.join(d['iupd'] for d in done)}."
                raise
            done.append({"iupd": model["iupd"], "status": str(created.get("status", ""))})


async def record_published(
    uow: UnitOfWork, ident: Identity, publication: Publication, done: list[dict[str, str]]
) -> None:
    """Keep what was published, so that it can be invalidated when replaced or lapsed."""
    subject_of = {m["iupd"]: s for m, s in zip(publication.positions, publication.subjects, strict=True)}
    rows = [
        {"iupd": d["iupd"], "kind": subject_of[d["iupd"]][0], "subject_id": subject_of[d["iupd"]][1]}
        for d in done
    ]
    await repository_gpd.record_published(uow, ident.tenant_id, rows, ident.user_id)


async def invalidate_replaced(
    uow: UnitOfWork, tenant_id: uuid.UUID, subject_ids: list[uuid.UUID], why: str
) -> int:
    """Invalidate on GPD what was published of these positions or plans (a position put in a plan,
    a lapsed plan), so the taxpayer cannot pay a notice that no longer stands; how many.

    pagoPA unreachable: raised, so the event is retried. Refused (a position already paid or
    invalid there, an unknown one, a key no longer accepted): recorded with pagoPA's reason."""
    published = await repository_gpd.published_of(uow, tenant_id, subject_ids)
    if not published:
        return 0
    row = await repository_notices.creditor(uow, tenant_id)
    if row is None or not row.gpd_endpoint or not row.gpd_api_key:
        for item in published:
            note = f"{why}: il Comune non ha più endpoint e chiave GPD, annullala dal portale pagoPA"
            await repository_gpd.mark_gpd(uow, tenant_id, item.iupd, "refused", note)
        return 0
    invalidated = 0
    async with GpdClient(row.gpd_endpoint, row.gpd_api_key) as gpd:
        for item in published:
            try:
                await gpd.invalidate(row.fiscal_code, item.iupd)
            except GpdUnavailable:
                raise
            except DomainError as refused:
                await repository_gpd.mark_gpd(
                    uow, tenant_id, item.iupd, "refused", f"{why}: {refused.message}"
                )
                continue
            await repository_gpd.mark_gpd(uow, tenant_id, item.iupd, "invalidated", why)
            invalidated += 1
    return invalidated
