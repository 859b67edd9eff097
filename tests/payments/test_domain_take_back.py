"""Money that paid a plan's installments goes back (a refund, a revoked payment): what comes off
each installment, which plans a refund reopens, and how the lapse rules see a reopened installment."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

from services.payments.domain_lapse import (
    InstallmentState,
    PlanState,
    WentBack,
    completed,
    lapses,
    missed,
    needs_reminder,
    refund_reopens,
    reminder_in_force,
    take_back,
)
from services.payments.domain_refunds import paid_installments

DUES = (date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30))
DUE = 10_100  # each installment: 100.00 principal, 1.00 interest


def rows(*paid: int, reopened: dict[int, date] | None = None) -> tuple[InstallmentState, ...]:
    when = reopened or {}
    return tuple(
        InstallmentState(n, due, 10_000, 100, p, when.get(n))
        for n, (due, p) in enumerate(zip(DUES, paid, strict=True), 1)
    )


def test_a_refund_empties_the_latest_paid_installment_first() -> None:
    # Payments filled 1, 2 in full and 3 in part (due order): a refund goes back from 3, then 2.
    installments = rows(DUE, DUE, 4_000, 0)
    assert take_back(installments, WentBack(2_500)) == {3: 2_500}
    assert take_back(installments, WentBack(4_000)) == {3: 4_000}
    assert take_back(installments, WentBack(6_000)) == {3: 4_000, 2: 2_000}
    assert take_back(installments, WentBack(2 * DUE)) == {3: 4_000, 2: DUE, 1: DUE - 4_000}


def test_the_installment_whose_notice_was_paid_goes_first() -> None:
    # The pagoPA notice of installment 2 was paid, and 4 by another notice: its refund reopens 2.
    installments = rows(DUE, DUE, 0, DUE)
    assert take_back(installments, WentBack(3_000, 2)) == {2: 3_000}
    assert take_back(installments, WentBack(DUE + 500, 2)) == {2: DUE, 4: 500}


def test_the_last_of_the_plans_single_payment_takes_back_everything_it_settled() -> None:
    # The single notice paid the principal (400.00) and settled the installments, interest included.
    settled = rows(DUE, DUE, DUE, DUE)
    assert take_back(settled, WentBack(40_000, None, all_of_single=True)) == dict.fromkeys((4, 3, 2, 1), DUE)
    assert take_back(settled, WentBack(15_000)) == {4: DUE, 3: 15_000 - DUE}


def test_never_more_than_was_paid() -> None:
    assert take_back(rows(1_000, 0, 0, 0), WentBack(5_000)) == {1: 1_000}
    assert take_back(rows(0, 0, 0, 0), WentBack(5_000)) == {}
    assert take_back(rows(DUE, 0, 0, 0), WentBack(0)) == {}


def test_a_refund_reopens_an_active_plan_completed_or_not_but_not_a_lapsed_one() -> None:
    paying = PlanState("TARI", "active", rows(DUE, 500, 0, 0))
    assert refund_reopens(paying) and not completed(paying)
    done = PlanState("TARI", "active", rows(DUE, DUE, DUE, DUE))
    assert completed(done) and refund_reopens(done)
    assert not refund_reopens(PlanState("TARI", "lapsed", rows(DUE, 0, 0, 0)))


def test_a_payment_is_in_the_plan_when_on_its_notice_or_recorded_while_it_was_in_force() -> None:
    plan_id, other = uuid.uuid4(), uuid.uuid4()
    made = datetime(2026, 1, 10, 9, tzinfo=UTC)
    before, after = datetime(2026, 1, 9, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    assert paid_installments(plan_id, made, after, None)
    assert not paid_installments(plan_id, made, before, None)
    assert paid_installments(plan_id, made, before, (plan_id, 2))
    assert paid_installments(plan_id, made, after, (plan_id, None))  # the plan's single payment
    # The position's own notice (issued before the plan, still payable): paid while the plan was
    # in force, it paid the installments (`handlers_plan_payments`); paid before, it did not.
    assert paid_installments(plan_id, made, after, (None, None))
    assert not paid_installments(plan_id, made, before, (None, None))
    assert not paid_installments(plan_id, made, after, (other, 1))


def test_a_reopened_installment_is_missed_from_the_day_after_it_was_reopened() -> None:
    # Installment 1 (due 31/01) paid on time, refunded on Tuesday 12/05: not missed on 12/05,
    # missed on 13/05.
    state = PlanState("TARI", "active", rows(0, DUE, DUE, DUE, reopened={1: date(2026, 5, 12)}))
    assert missed(state, date(2026, 5, 12)) == []
    assert [i.number for i in missed(state, date(2026, 5, 13))] == [1]
    assert needs_reminder(state, date(2026, 5, 13))
    # Reopened before its due date: its own due date counts.
    early = PlanState("TARI", "active", rows(DUE, DUE, DUE, 0, reopened={4: date(2026, 3, 1)}))
    assert missed(early, date(2026, 4, 30)) == [] and len(missed(early, date(2026, 5, 1))) == 1


def test_a_met_due_date_never_lapses_the_plan_after_the_fact() -> None:
    # Sollecito sent on 05/03 for installment 2; installment 1, paid on time, refunded on 20/03.
    sent = date(2026, 3, 5)
    reopened = rows(0, 0, DUE, DUE, reopened={1: date(2026, 3, 20)})
    state = PlanState("TARI", "active", reopened, reminder_sent_on=sent)
    # Counted on its due date (31/01) with 2 (28/02), both before the sollecito: no lapse either.
    assert not lapses(
        PlanState("TARI", "active", rows(0, 0, DUE, DUE), reminder_sent_on=sent), date(2026, 3, 21)
    )
    # Counted from the refund it falls due after that sollecito, but the sollecito did not ask for
    # it: no lapse the next day; a sollecito of its own is due instead.
    assert reminder_in_force(state) is None
    assert not lapses(state, date(2026, 3, 21)) and needs_reminder(state, date(2026, 3, 21))
    # Once that sollecito is sent (21/03), an installment missed after it lapses the plan (c.800).
    reminded = replace(state, reminder_sent_on=date(2026, 3, 21))
    assert reminder_in_force(reminded) == date(2026, 3, 21) and not needs_reminder(
        reminded, date(2026, 3, 22)
    )
    assert not lapses(reminded, date(2026, 3, 31))
    unpaid_3 = replace(reminded, installments=rows(0, 0, 0, DUE, reopened={1: date(2026, 3, 20)}))
    assert lapses(unpaid_3, date(2026, 4, 1))
    # Paid again, the reopened installment no longer voids the earlier sollecito.
    repaid = replace(state, installments=rows(DUE, 0, DUE, DUE, reopened={1: date(2026, 3, 20)}))
    assert reminder_in_force(repaid) == sent
