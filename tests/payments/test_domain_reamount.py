"""An active plan after a correction of one of its positions (`domain_reamount`): what was paid
stays, the rest is spread again over the open installments' dates, with the schedule's interest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from services.payments.domain_lapse import InstallmentState, PlanState
from services.payments.domain_reamount import reamount
from services.payments.domain_schedule import schedule

DAY = date(2026, 1, 15)


def plan(amount: int = 100_000, n: int = 6, paid: dict[int, int] | None = None) -> PlanState:
    rows = schedule(amount, n, DAY, date(2026, 2, 28))
    paid = paid or {}
    return PlanState(
        "TARI",
        "active",
        tuple(
            InstallmentState(i.number, i.due_date, i.principal_cents, i.interest_cents, paid.get(i.number, 0))
            for i in rows
        ),
    )


def full(p: PlanState, number: int) -> int:
    return next(i.amount_cents for i in p.installments if i.number == number)


def test_without_a_cut_an_unpaid_plan_is_spread_exactly_as_it_was_made() -> None:
    before = plan()
    done = reamount(before, 0, DAY)
    assert done.kept == () and done.removed == (1, 2, 3, 4, 5, 6) and done.closed == ()
    assert [i.number for i in done.new] == [1, 2, 3, 4, 5, 6]
    assert [(i.due_date, i.principal_cents, i.interest_cents) for i in done.new] == [
        (i.due_date, i.principal_cents, i.interest_cents) for i in before.installments
    ]
    assert done.installments == 6 and done.residual_principal_cents == 100_000


def test_paid_installments_stay_and_the_rest_less_the_cut_keeps_the_open_dates() -> None:
    before = plan()
    before = plan(paid={1: full(before, 1), 2: full(before, 2)})
    done = reamount(before, 40_000, DAY)
    assert [i.number for i in done.kept] == [1, 2] and done.removed == (3, 4, 5, 6)
    paid_principal = sum(i.principal_cents for i in before.installments[:2])
    assert done.residual_principal_cents == 100_000 - paid_principal - 40_000
    assert sum(i.principal_cents for i in done.new) == done.residual_principal_cents
    assert [i.due_date for i in done.new] == [i.due_date for i in before.installments[2:]]
    # Interest from the last paid installment's date, on the lighter principal: less than before.
    expected = schedule(
        done.residual_principal_cents, 4, before.installments[1].due_date, before.installments[2].due_date
    )
    assert [i.interest_cents for i in done.new] == [i.interest_cents for i in expected]
    assert sum(i.interest_cents for i in done.new) < sum(i.interest_cents for i in before.installments[2:])
    assert done.installments == 6


def test_a_partly_paid_installment_is_closed_at_what_was_paid_and_its_date_kept() -> None:
    before = plan()
    part = before.installments[0].interest_cents + 5_000
    before = plan(paid={1: part})
    done = reamount(before, 10_000, DAY, own_rate=Decimal("3.00"))
    [closed] = done.kept
    assert done.closed == (1,) and (closed.principal_cents, closed.interest_cents) == (
        5_000,
        before.installments[0].interest_cents,
    )
    assert done.removed == (2, 3, 4, 5, 6) and [i.number for i in done.new] == [2, 3, 4, 5, 6, 7]
    assert done.new[0].due_date == before.installments[0].due_date
    assert done.residual_principal_cents == 100_000 - 5_000 - 10_000
    assert done.installments == 7


def test_a_cut_that_leaves_nothing_owed_leaves_only_what_was_paid() -> None:
    before = plan()
    before = plan(paid={1: full(before, 1)})
    done = reamount(before, 200_000, DAY)
    assert [i.number for i in done.kept] == [1] and done.new == () and done.residual_principal_cents == 0
    assert done.removed == (2, 3, 4, 5, 6) and done.installments == 1


def test_an_installment_due_again_after_a_refund_keeps_that_day() -> None:
    before = plan()
    reopened = replace(before.installments[2], reopened_on=date(2026, 5, 10))
    before = replace(before, installments=(*before.installments[:2], reopened, *before.installments[3:]))
    done = reamount(before, 1_000, DAY)
    assert [i.reopened_on for i in done.new] == [None, None, date(2026, 5, 10), None, None, None]


def test_the_principal_spread_again_is_never_more_than_still_due_on_the_positions() -> None:
    before = plan()
    before = plan(paid={1: full(before, 1)})
    done = reamount(before, 10_000, DAY, owed_cents=50_000)
    assert done.residual_principal_cents == 50_000 and sum(i.principal_cents for i in done.new) == 50_000
    assert reamount(before, 10_000, DAY, owed_cents=0).new == ()
    assert reamount(before, 10_000, DAY, owed_cents=10**9).residual_principal_cents == (
        100_000 - before.installments[0].principal_cents - 10_000
    )
