"""Use case of a pagoPA reporting flow (FdR) import: checked whole, then applied in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Any, overload
from zoneinfo import ZoneInfo

from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict
from services.kernel.identity import Identity
from services.payments import fdr_xml, repository_bulk, repository_notices
from services.payments import repository_reconciliation as repo
from services.payments.domain_reconciliation import Incoming, Outcome
from services.payments.handlers_reconciliation import apply_all

ROME = ZoneInfo("Europe/Rome")


async def import_flow(uow: UnitOfWork, ident: Identity, data: bytes) -> dict[str, Any]:
    """An FdR: checked whole (schema, Comune, totals) before anything is recorded; a flow imported
    again changes nothing. Lines confirm receipts (PAID -> REPORTED), stand for receipts not yet
    arrived, or revoke a payment (outcome 3)."""
    header, lines = fdr_xml.parse_flow(data)
    creditor = await repository_notices.creditor(uow, ident.tenant_id)
    if creditor is None:
        raise Conflict(
            "Il Comune non ha ancora inserito i propri dati pagoPA: impossibile verificare il flusso."
        )
    fdr_xml.check_flow(header, lines, creditor.fiscal_code)
    if await repo.flow_known(uow, ident.tenant_id, header.flow_id):
        return {"flow_id": header.flow_id, "already_imported_flow": True, **Outcome().counts()}
    counts, states = await apply_all(uow, ident, _Lines(lines, header.sender), header.flow_id)
    await repo.insert_flow(uow, ident.tenant_id, _flow_values(header, ident))
    await repository_bulk.insert_flow_lines(uow, ident.tenant_id, header.flow_id, states)
    return {"flow_id": header.flow_id, **counts}


def _flow_values(header: fdr_xml.FlowHeader, ident: Identity) -> dict[str, Any]:
    return {
        "flow_id": header.flow_id,
        "flow_date": header.flow_date if header.flow_date.tzinfo else header.flow_date.replace(tzinfo=ROME),
        "settlement_ref": header.settlement_ref,
        "settlement_date": header.settlement_date,
        "sender": header.sender,
        "payments_count": header.payments_count,
        "total_cents": header.total_cents,
        "imported_by": ident.user_id,
    }


class _Lines(Sequence[Incoming]):
    """A flow's lines as incoming payments, each made when asked for: a flow of 100,000 lines
    is staged one line at a time, and only the few decided in Python are kept."""

    def __init__(self, lines: list[fdr_xml.FlowLine], psp: str) -> None:
        self.lines, self.psp = lines, psp

    def __len__(self) -> int:
        return len(self.lines)

    @overload
    def __getitem__(self, n: int) -> Incoming: ...
    @overload
    def __getitem__(self, n: slice) -> Sequence[Incoming]: ...
    def __getitem__(self, n: int | slice) -> Incoming | Sequence[Incoming]:
        if isinstance(n, slice):
            return [self[k] for k in range(*n.indices(len(self)))]
        line = self.lines[n]
        return Incoming(
            iuv=line.iuv,
            receipt_ref=line.receipt_ref,
            amount_cents=line.amount_cents,
            paid_at=datetime.combine(line.paid_on, time(12), ROME),
            psp=self.psp,
            revoked=line.outcome == 3,
            line=line.line,
            index=line.payment_index,
            outcome=line.outcome,
        )
