"""An active plan after the Ufficio tributi corrects the amount of one of its positions. Pure.

The plan is what the debtor agreed to pay of what was due; once the office takes `cut` cents off a
position, the plan covers what is left and no more. What was paid stays paid: fully paid
installments are kept, a partly paid one is closed at what was paid (interest first), as an
extension closes it (`domain_lapse.check_extension`). The residual principal, less the cut, is
spread again over the same due dates the open installments had, with their interest computed as
the schedule computes it (`domain_schedule`: on the principal still owed, from the last installment
kept, or the plan's day, to each due date, at the rate the plan was made at). No date moves, so a
missed installment stays missed and the reminder and the lapse rules (c.800) read the plan as
before; an installment due again after a refund keeps that day. The new installments are
numbered on from the last one kept. The principal spread again is
never more than what is still due on the plan's positions (`owed_cents`: the installments paid
count their interest against the positions, as the plan's single payment does). A cut that leaves
nothing owed leaves only what was paid: the plan is paid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from services.payments.domain_lapse import InstallmentState, PlanState
from services.payments.domain_schedule import LEGAL_RATES, interest_cents, principal_parts, rate_days


@dataclass(frozen=True)
class Reamount:
    """What a correction leaves of a plan: installments kept (a partly paid one closed at what was
    paid), the numbers of those it removes, and the new ones for `residual_principal_cents`."""

    kept: tuple[InstallmentState, ...]
    removed: tuple[int, ...]
    closed: tuple[int, ...]
    new: tuple[InstallmentState, ...]
    residual_principal_cents: int

    @property
    def installments(self) -> int:
        return len(self.kept) + len(self.new)


def _closed(i: InstallmentState) -> InstallmentState:
    interest = min(i.interest_cents, i.paid_cents)
    return replace(
        i, interest_cents=interest, principal_cents=min(i.principal_cents, i.paid_cents - interest)
    )


def reamount(
    plan: PlanState,
    cut_cents: int,
    plan_day: date,
    own_rate: Decimal | None = None,
    rates: tuple[tuple[date, Decimal], ...] = LEGAL_RATES,
    owed_cents: int | None = None,
) -> Reamount:
    """The plan once `cut_cents` is off what it covers (see the module)."""
    ordered = sorted(plan.installments, key=lambda i: i.number)
    open_ = [i for i in ordered if i.paid_cents < i.amount_cents]
    kept = [i for i in ordered if i.paid_cents >= i.amount_cents]
    closed = [_closed(i) for i in open_ if i.paid_cents > 0]
    principal = sum(i.principal_cents for i in ordered)
    residual = max(0, principal - sum(i.principal_cents for i in (*kept, *closed)) - max(0, cut_cents))
    if owed_cents is not None:
        residual = max(0, min(residual, owed_cents))
    new: list[InstallmentState] = []
    if residual > 0 and open_:
        table = ((date.min, own_rate),) if own_rate is not None else rates
        previous = max((i.due_date for i in kept if i.due_date < open_[0].due_date), default=plan_day)
        # Numbered on from the installments kept (1-6 stay 1-6 when none was paid): the old rows
        # are removed first and their notices replaced, so a payment of one goes to review.
        owed, number = residual, max((i.number for i in (*kept, *closed)), default=0)
        for old, part in zip(open_, principal_parts(residual, len(open_)), strict=True):
            number += 1
            interest = interest_cents(owed, rate_days(previous, old.due_date, table))
            new.append(InstallmentState(number, old.due_date, part, interest, 0, old.reopened_on))
            owed, previous = owed - part, max(previous, old.due_date)
    return Reamount(
        kept=tuple(sorted((*kept, *closed), key=lambda i: i.number)),
        removed=tuple(i.number for i in open_ if i.paid_cents == 0),
        closed=tuple(i.number for i in closed),
        new=tuple(new),
        residual_principal_cents=residual,
    )
