"""`domain_interest`: what a payment into a plan pays of its interest (each installment's interest
first, c.c. art. 1194; the installments in the order the payment fills them), and what a refund
gives back of the debt (the debt first, the interest last)."""

from __future__ import annotations

from services.payments.domain_interest import (
    Owed,
    debt_given_back,
    interest_in,
    interest_left,
    interest_of,
    interest_part,
    interest_spread,
)


def test_an_installments_interest_is_paid_first() -> None:
    assert interest_part(406, 0, 13_274) == 406  # the whole installment: all its interest
    assert interest_part(406, 0, 100) == 100  # less than its interest: interest only
    assert interest_part(406, 100, 13_174) == 306  # the rest of it after a part
    assert interest_part(406, 406, 12_868) == 0  # its interest already paid
    assert interest_part(0, 0, 5_000) == 0


def test_a_payment_fills_the_installments_in_order_each_interest_first() -> None:
    owed = [Owed(1, 10_000, 100, 10_100), Owed(2, 10_000, 80, 50), Owed(3, 10_000, 60, 0)]
    assert interest_left(owed) == 30 + 60
    assert interest_in(10_030, owed) == 30  # the rest of installment 2
    assert interest_in(10_030 + 70, owed) == 30 + 60  # and part of installment 3: its interest first
    assert interest_in(0, owed) == 0


def test_a_refund_gives_back_the_debt_first() -> None:
    assert debt_given_back(13_274, 406, 0, 1_000) == 1_000
    assert debt_given_back(13_274, 406, 12_800, 474) == 68  # 12,868 of debt, 12,800 given back already
    assert debt_given_back(13_274, 406, 0, 13_274) == 12_868


def test_paying_off_the_debt_spares_the_interest_of_the_installments_to_come() -> None:
    owed = [Owed(1, 10_000, 100, 10_100), Owed(2, 10_000, 80, 0), Owed(3, 10_000, 60, 0)]
    assert interest_of(20_000, owed, 20_000) == 0  # the debt paid off: the plan settles
    assert interest_of(20_050, owed, 20_000) == 50  # what goes beyond the debt is interest
    assert interest_of(10_080, owed, 20_000) == 80  # an installment's payment: its interest first
    last = [Owed(1, 10_000, 100, 10_100), Owed(2, 10_000, 80, 10_080), Owed(3, 10_000, 60, 0)]
    assert interest_of(10_060, last, 10_000) == 60  # the last installment, interest and all


def test_the_interest_of_an_early_settlement_goes_to_the_installments_interest_in_order() -> None:
    owed = [Owed(1, 10_000, 100, 10_100), Owed(2, 10_000, 80, 50), Owed(3, 10_000, 60, 0)]
    assert interest_spread(0, owed) == {}
    assert interest_spread(20, owed) == {2: 20}  # the rest of installment 2's interest first
    assert interest_spread(50, owed) == {2: 30, 3: 20}
    assert interest_spread(500, owed) == {2: 30, 3: 60}  # never more than the interest owed
