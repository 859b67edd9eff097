"""What a payment into an installment plan pays of the plan's interest (no I/O). The interest is
owed on top of the positions' amount (L. 160/2019 c.797: the installments carry the legal interest);
a payment pays each installment's interest before its share of the debt (c.c. art. 1194: payments
are imputed to interest first), and the installments in the order the payment fills them. What a
payment pays of the debt goes on the positions (their `paid_cents`); the rest is its
`interest_cents`. A refund or a revocation gives back the debt first and the interest last."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Owed:
    """An installment as a payment finds it: its interest, and what was paid into it before."""

    number: int
    principal_cents: int
    interest_cents: int
    paid_cents: int

    @property
    def left_cents(self) -> int:
        return max(0, self.principal_cents + self.interest_cents - self.paid_cents)


def interest_part(interest_cents: int, paid_before_cents: int, cents: int) -> int:
    """What of `cents` paid into an installment of `interest_cents` interest, into which
    `paid_before_cents` was paid before, pays its interest (interest first)."""
    interest_left = max(0, interest_cents - min(interest_cents, max(paid_before_cents, 0)))
    return max(0, min(cents, interest_left))


def interest_in(cents: int, installments: Iterable[Owed]) -> int:
    """What of `cents`, filling `installments` in their order each up to what is left of it (as
    `handlers_plan_payments.pay_plan` fills them), pays interest."""
    left, interest = cents, 0
    for owed in installments:
        share = min(left, owed.left_cents)
        if share <= 0:
            continue
        interest += interest_part(owed.interest_cents, owed.paid_cents, share)
        left -= share
    return interest


def interest_of(cents: int, installments: Iterable[Owed], debt_left_cents: int) -> int:
    """What of a payment of `cents` made otherwise than through one of the plan's notices (by
    hand, a notice of the position issued before the plan) pays the plan's interest, the debt
    still owed being `debt_left_cents`: as it fills the installments (`interest_in`); but a payment
    that pays off the debt settles the plan early, and the interest of the installments it spares
    is not owed: only what it pays beyond the debt is interest."""
    interest = interest_in(cents, installments)
    if cents >= debt_left_cents:
        return min(interest, cents - max(debt_left_cents, 0))
    return interest


def interest_spread(interest_cents: int, installments: Iterable[Owed]) -> dict[int, int]:
    """Where the interest a payment that settles the plan early pays (`interest_of`) goes: the
    installments' interest still owed, in their order (number -> cents); the rest of it is spared."""
    left, shares = interest_cents, {}
    for owed in installments:
        share = min(left, interest_part(owed.interest_cents, owed.paid_cents, owed.interest_cents))
        if share > 0:
            shares[owed.number] = share
            left -= share
    return shares


def interest_left(installments: Iterable[Owed]) -> int:
    """The plan's interest still to pay."""
    return sum(interest_part(o.interest_cents, o.paid_cents, o.interest_cents) for o in installments)


def debt_given_back(amount_cents: int, interest_cents: int, refunded_before_cents: int, cents: int) -> int:
    """What of `cents` given back of a payment (`amount_cents`, of which `interest_cents` interest,
    `refunded_before_cents` already given back) comes off the debt: the debt first."""
    debt_left = max(0, amount_cents - interest_cents - refunded_before_cents)
    return min(cents, debt_left)
