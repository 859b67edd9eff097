"""The rows of the package the payments service hands over when a mandate ends (`handlers_handover`)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork

_PAYMENTS = sa.text(
    """SELECT p.paid_on, p.amount_cents, p.state, p.source, r.iuv, r.receipt_ref, r.psp,
              r.paid_at, r.flow_id, pos.fiscal_code, pos.debtor_name, pos.revenue_type, pos.year,
              pos.act_number, p.recorded_by_name, p.reason, p.evidence_name
         FROM payments.payments p
         JOIN payments.positions pos ON pos.tenant_id = p.tenant_id AND pos.id = p.position_id
         LEFT JOIN payments.receipts r ON r.tenant_id = p.tenant_id AND r.id = p.receipt_id
        WHERE p.tenant_id = :t
        ORDER BY p.paid_on, p.id"""
)
_RECEIPTS = sa.text(
    """SELECT iuv, receipt_ref, amount_cents, paid_at, psp, state, applied, flow_id, source
         FROM payments.receipts WHERE tenant_id = :t ORDER BY paid_at, id"""
)
_REFUNDS = sa.text(
    """SELECT f.refunded_on, f.amount_cents, f.reason, f.payment_id, pos.fiscal_code, pos.debtor_name,
              pos.revenue_type, pos.year, pos.act_number, f.recorded_by_name
         FROM payments.refunds f
         JOIN payments.positions pos ON pos.tenant_id = f.tenant_id AND pos.id = f.position_id
        WHERE f.tenant_id = :t ORDER BY f.refunded_on, f.id"""
)
_FLOWS = sa.text(
    """SELECT f.flow_id, f.flow_date, f.settlement_ref, f.settlement_date, f.sender, l.line, l.iuv,
              l.receipt_ref, l.amount_cents, l.outcome, l.paid_on, l.state
         FROM payments.flows f
         JOIN payments.flow_lines l ON l.tenant_id = f.tenant_id AND l.flow_id = f.flow_id
        WHERE f.tenant_id = :t ORDER BY f.flow_date, f.flow_id, l.line"""
)
# A plan's c.803 charges paid with their own notice, with the plan's first position's debtor.
_CHARGES = sa.text(
    """SELECT c.paid_on, c.amount_cents, c.state, c.iuv, c.receipt_ref, c.flow_id, first.fiscal_code,
              first.debtor_name, c.revenue_type, c.plan_id
         FROM payments.charge_payments c
         JOIN LATERAL (
              SELECT pos.fiscal_code, pos.debtor_name
                FROM payments.plan_positions pp
                JOIN payments.positions pos ON pos.tenant_id = pp.tenant_id AND pos.id = pp.position_id
               WHERE pp.tenant_id = c.tenant_id AND pp.plan_id = c.plan_id
               ORDER BY pos.year, pos.act_number LIMIT 1) first ON true
        WHERE c.tenant_id = :t ORDER BY c.paid_on, c.id"""
)
_EVIDENCE = sa.text(
    """SELECT id, evidence_key, evidence_name FROM payments.payments
        WHERE tenant_id = :t AND evidence_key IS NOT NULL ORDER BY id"""
)


async def _rows(uow: UnitOfWork, statement: sa.TextClause, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    return list((await uow.execute(statement, {"t": tenant_id})).all())


async def payments(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    return await _rows(uow, _PAYMENTS, tenant_id)


async def receipts(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    return await _rows(uow, _RECEIPTS, tenant_id)


async def refunds(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    return await _rows(uow, _REFUNDS, tenant_id)


async def flow_lines(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    return await _rows(uow, _FLOWS, tenant_id)


async def charges(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    return await _rows(uow, _CHARGES, tenant_id)


async def evidence(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    return await _rows(uow, _EVIDENCE, tenant_id)
