"""The life of a plan: missed installments, reminder, lapse (c.800, art. 202-bis), extension (c.798),
collection charges (c.803)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pypdfium2
import pytest

from services.kernel.errors import Conflict, DomainError
from services.payments.domain_lapse import (
    ROME,
    InstallmentState,
    PlanState,
    check_extension,
    collection_charges,
    extension_most,
    lapses,
    missed,
    needs_reminder,
    residual_cents,
    rome_day,
    run_moment,
)
from services.payments.domain_plans import Band, RuleSet
from services.payments.pdf_sollecito import Sollecito, render

DUES = (date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31))


def plan(
    paid: tuple[int, ...] = (0, 0, 0, 0, 0),
    reminder: date | None = None,
    revenue_type: str = "TARI",
    status: str = "active",
    extended: bool = False,
) -> PlanState:
    rows = tuple(
        InstallmentState(n, due, 10_000, 100, p) for n, (due, p) in enumerate(zip(DUES, paid, strict=True), 1)
    )
    return PlanState(revenue_type, status, rows, reminder, extended)


FULL = 10_100


def test_an_installment_is_missed_the_day_after_it_falls_due_unless_fully_paid() -> None:
    p = plan(paid=(FULL, 10_099, 0, 0, 0))
    # Installment 2 falls due on Saturday 28 February 2026: it may be paid on Monday 2 March
    # (D.L. 70/2011 art. 7 c.2 lett. l; c.c. art. 2963 c.3), so it is missed from the 3rd.
    assert missed(p, date(2026, 3, 2)) == []
    assert [i.number for i in missed(p, date(2026, 3, 3))] == [2]
    assert [i.number for i in missed(p, date(2026, 4, 1))] == [2, 3]  # 3 fell due on a Tuesday


def test_a_due_date_on_a_holiday_moves_to_the_next_working_day() -> None:
    due = InstallmentState(1, date(2026, 12, 31), 10_000, 100, 0)  # a Thursday
    assert due.payable_until == date(2026, 12, 31)
    assert InstallmentState(1, date(2026, 5, 31), 10_000, 100, 0).payable_until == date(2026, 6, 1)  # Sunday
    # 1 November 2026 is a Sunday and a holiday; 25 and 26 December 2027 a Saturday and a Sunday.
    assert InstallmentState(1, date(2026, 11, 1), 10_000, 100, 0).payable_until == date(2026, 11, 2)
    assert InstallmentState(1, date(2027, 12, 25), 10_000, 100, 0).payable_until == date(2027, 12, 27)
    # Easter Monday 2027 (29 March) after Easter Sunday.
    assert InstallmentState(1, date(2027, 3, 28), 10_000, 100, 0).payable_until == date(2027, 3, 30)


def test_the_reminder_is_due_at_the_first_missed_installment_only_once() -> None:
    # Installment 1 falls due on Saturday 31 January 2026: payable until Monday 2 February.
    assert not needs_reminder(plan(), date(2026, 2, 2))
    assert needs_reminder(plan(), date(2026, 2, 3))
    assert not needs_reminder(plan(reminder=date(2026, 2, 1)), date(2026, 3, 1))
    assert not needs_reminder(plan(revenue_type="CDS"), date(2026, 2, 1))
    assert not needs_reminder(plan(status="lapsed"), date(2026, 2, 1))


def test_two_missed_not_consecutive_after_the_reminder_lapse_the_plan() -> None:
    # 1 missed, reminder sent, 2 paid, 3 missed.
    p = plan(paid=(0, FULL, 0, 0, 0), reminder=date(2026, 2, 1))
    assert not lapses(p, date(2026, 3, 31))
    assert lapses(p, date(2026, 4, 1))


def test_one_missed_installment_does_not_lapse_a_l160_plan_but_lapses_a_cds_one() -> None:
    p = plan(paid=(0, FULL, FULL, FULL, FULL), reminder=date(2026, 2, 1))
    assert not lapses(p, date(2026, 6, 30))
    cds = plan(revenue_type="CDS")
    assert not lapses(cds, date(2026, 2, 2))  # due Saturday 31 January: payable until Monday
    assert lapses(cds, date(2026, 2, 3))


def test_installments_missed_before_the_reminder_alone_do_not_lapse_the_plan() -> None:
    assert not lapses(plan(), date(2026, 3, 1))
    # The reminder went out after both were missed: a third one must be missed after it.
    p = plan(paid=(0, 0, FULL, FULL, FULL), reminder=date(2026, 3, 2))
    assert not lapses(p, date(2026, 6, 30))
    q = plan(paid=(0, 0, FULL, 0, FULL), reminder=date(2026, 3, 2))
    assert lapses(q, date(2026, 5, 1))


def test_the_two_missed_installments_fall_within_six_months() -> None:
    dues = (date(2026, 1, 31), date(2026, 7, 31), date(2026, 8, 31))
    rows = tuple(
        InstallmentState(n, d, 10_000, 0, p) for n, (d, p) in enumerate(zip(dues, (0, 0, 0), strict=True), 1)
    )
    far = PlanState("TARI", "active", (rows[0], rows[2]), date(2026, 2, 1))
    assert not lapses(far, date(2026, 9, 1))
    edge = PlanState("TARI", "active", rows[:2], date(2026, 2, 1))
    assert lapses(edge, date(2026, 8, 1))


def test_a_lapsed_plan_does_not_lapse_again_and_its_residue_is_due_at_once() -> None:
    assert not lapses(plan(status="lapsed", revenue_type="CDS"), date(2026, 6, 1))
    p = plan(paid=(FULL, 5_000, 0, 50, 0))
    # Due: 2 (5,100 unpaid), 3 (10,100); not yet due: 4 (principal 10,000, 50 paid of its interest), 5.
    assert residual_cents(p, date(2026, 4, 1)) == 5_100 + 10_100 + 10_000 + 10_000


def test_an_extension_replaces_the_unpaid_installments_once() -> None:
    p = plan(paid=(FULL, 5_050, 0, 0, 0))
    ext = check_extension(p, 10, "Perdita del lavoro", 72)
    assert ext.replaced == (3, 4, 5)
    assert ext.closed == (2,)
    assert [(i.number, i.principal_cents, i.interest_cents) for i in ext.kept] == [
        (1, 10_000, 100),
        (2, 4_950, 100),
    ]
    assert ext.residual_principal_cents == 50_000 - 10_000 - 4_950
    assert ext.first_number == 6


def test_an_extension_is_refused_after_a_lapse_and_the_second_time() -> None:
    with pytest.raises(Conflict, match="decaduto"):
        check_extension(plan(status="lapsed"), 10, "Perdita del lavoro", 72)
    with pytest.raises(Conflict, match="una sola proroga"):
        check_extension(plan(extended=True), 10, "Perdita del lavoro", 72)
    with pytest.raises(Conflict, match="202-bis"):
        check_extension(plan(revenue_type="CDS"), 10, "Perdita del lavoro", 72)


def test_an_extension_needs_a_reason_and_more_installments_within_the_most() -> None:
    with pytest.raises(DomainError, match="peggioramento") as reason:
        check_extension(plan(), 10, "  ", 72)
    assert reason.value.field == "reason"
    with pytest.raises(DomainError, match="al massimo in 72") as few:
        check_extension(plan(), 5, "Malattia", 72)
    assert few.value.field == "installments"
    with pytest.raises(DomainError):
        check_extension(plan(), 73, "Malattia", 72)
    assert check_extension(plan(), 72, "Malattia", 72).residual_principal_cents == 50_000
    with pytest.raises(Conflict, match="pagato per intero"):
        check_extension(plan(paid=(FULL,) * 5), 10, "Malattia", 72)


def test_the_most_installments_of_an_extension_follow_the_rules() -> None:
    assert extension_most(RuleSet()) == 72
    assert extension_most(RuleSet(bands=(Band(100_000, 1, 12), Band(None, 36, 48)))) == 48


@pytest.mark.parametrize(
    ("amount", "paid_on", "charges"),
    [
        (100_000, date(2026, 3, 2), 3_000),  # day 60: 3%
        (100_000, date(2026, 3, 3), 6_000),  # day 61: 6%
        (10_001, date(2026, 1, 1), 300),  # 300.03 → 300 cents, half-up
        (10_017, date(2026, 1, 1), 301),  # 300.51 → 301
        (10_050, date(2026, 3, 3), 603),  # 603.00
        (1_000_000, date(2026, 3, 2), 30_000),  # 3% exactly the cap
        (1_000_034, date(2026, 3, 2), 30_000),  # above the cap
        (1_000_000, date(2026, 3, 3), 60_000),  # 6% exactly the cap
        (5_000_000, date(2026, 3, 3), 60_000),
        (50, date(2026, 1, 1), 2),  # 1.5 cents, half-up
        (0, date(2026, 3, 3), 0),
    ],
)
def test_collection_charges_at_the_60_day_edge_and_at_the_caps(
    amount: int, paid_on: date, charges: int
) -> None:
    assert collection_charges(amount, date(2026, 1, 1), paid_on) == charges


def test_a_run_for_another_day_records_that_day() -> None:
    now = datetime(2026, 11, 29, 23, 30, tzinfo=ROME)
    assert run_moment(now, date(2026, 11, 29)) == now
    assert run_moment(now, date(2026, 3, 1)) == datetime(2026, 3, 1, 12, tzinfo=ROME)
    # 23:30 UTC on 28/02 is already 01/03 in Rome.
    assert rome_day(datetime(2026, 2, 28, 23, 30, tzinfo=UTC)) == date(2026, 3, 1)


def test_the_sollecito_pdf_stays_on_one_page_with_many_missed_installments() -> None:
    rows = tuple(InstallmentState(n, date(2026, 1, 31), 10_000, 0, 0) for n in range(1, 41))
    doc = Sollecito(
        "Comune di Prova",
        "ROSSI MARIO",
        "RSSMRA80A01H501U",
        ("TARI 2024 n. 1",),
        date(2025, 1, 1),
        40,
        rows,
        400_000,
        date(2026, 3, 1),
    )
    pdf = pypdfium2.PdfDocument(render(doc))
    text = " ".join(pdf[0].get_textpage().get_text_range().split())
    assert len(pdf) == 1 and "e altre 22 rate" in text and "comma 800" in text and "€ 4.000,00" in text


def test_a_reopened_installment_is_named_by_the_day_it_fell_due_again_and_its_original_date() -> None:
    on_time = InstallmentState(3, date(2026, 4, 30), 10_000, 100, 0)
    reopened = InstallmentState(3, date(2026, 4, 30), 10_000, 100, 0, reopened_on=date(2026, 5, 10))
    assert on_time.reopened_note == ""
    assert reopened.reopened_note == (
        "di nuovo dovuta dal 10/05/2026 per un rimborso o un pagamento revocato "
        "(scadenza originaria 30/04/2026)"
    )
    # Reopened before its own due date: it falls due on that date, as before.
    early = InstallmentState(3, date(2026, 4, 30), 10_000, 100, 0, reopened_on=date(2026, 4, 2))
    assert early.reopened_note == ""
