"""Each debtor's limitation days (`debtors.barred_on`, `debtors.due_barred_on`): the first day
time-barred of every position still due (open, not paid off), its payments counted as
`kernel.limitation` says (a payment or an interrupting act while the term runs starts it again;
a revoked payment or a withdrawn act never happened). Kept whenever positions, payments or acts
change (`repository._refresh_totals`); every statement takes the tenant and filters by it (RLS
too)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.kernel.repository_limitation import BARRED_ON, act_rows

S = "contact"

# The positions still due of the debtors `:ids`, with their year and act day.
_DUE = f"""
SELECT p.debtor_id, p.position_id, p.year, p.act_on
FROM {S}.debtor_positions p
WHERE p.tenant_id = :tenant AND p.debtor_id = ANY(:ids) AND p.state = 'open'
  AND p.amount_cents > coalesce((
      SELECT sum(x.amount_cents) FROM {S}.debtor_payments x
      WHERE x.tenant_id = p.tenant_id AND x.position_id = p.position_id), 0)
"""
# Their payments (a position without any: one row, paid_on null), those revoked left out, and
# the Comune's interrupting acts, those withdrawn left out.
_PAID = f"""
SELECT due.position_id, due.year, due.act_on, pay.paid_on
FROM due
LEFT JOIN {S}.debtor_payments pay
  ON pay.tenant_id = :tenant AND pay.position_id = due.position_id AND pay.kind = 'payment'
 AND NOT EXISTS (
     SELECT 1 FROM {S}.debtor_payments r
     WHERE r.tenant_id = :tenant AND r.kind = 'revocation' AND r.of_payment = pay.payment_id)
UNION ALL {act_rows(S, ":tenant")}
"""
REFRESH = sa.text(f"""
WITH due AS ({_DUE}), barred AS ({BARRED_ON.format(rows=_PAID)})
UPDATE {S}.debtors d
SET barred_on = b.latest, due_barred_on = coalesce(b.days, '{{}}')
FROM (
    SELECT i.id, max(barred.barred_on) AS latest,
           array_agg(barred.barred_on ORDER BY barred.barred_on) FILTER (WHERE barred.barred_on IS NOT NULL)
               AS days
    FROM unnest(CAST(:ids AS uuid[])) AS i(id)
    LEFT JOIN due ON due.debtor_id = i.id
    LEFT JOIN barred ON barred.position_id = due.position_id
    GROUP BY i.id
) b
WHERE d.tenant_id = :tenant AND d.id = b.id
  AND (d.barred_on IS DISTINCT FROM b.latest OR d.due_barred_on IS DISTINCT FROM coalesce(b.days, '{{}}'))
""")


async def refresh(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]) -> None:
    """The limitation days of these debtors, from their positions and payments as they are now."""
    if debtor_ids:
        await uow.execute(REFRESH, {"tenant": tenant_id, "ids": list(debtor_ids)})
