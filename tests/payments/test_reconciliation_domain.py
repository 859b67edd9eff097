"""`domain_reconciliation` alone: a notice no longer in force (replaced, or unpayable because its
debt was settled another way) and what a revocation does to it."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from services.payments.domain_reconciliation import (
    Incoming,
    KnownReceipt,
    OptionState,
    reconcile,
    review_detail,
)

PAID_AT = datetime(2026, 11, 27, 10, 15, tzinfo=ZoneInfo("Europe/Rome"))


def option(iuv: str, status: str, group: uuid.UUID, installment: int | None = None) -> OptionState:
    return OptionState(uuid.uuid4(), iuv, 50_000, status, group, installment)


def test_a_receipt_for_a_replaced_notice_is_a_payment_on_a_notice_no_longer_payable() -> None:
    debt = uuid.uuid4()
    old, new = option("01", "replaced", debt), option("02", "payable", debt)
    outcome = reconcile([Incoming("01", "R-1", 50_000, PAID_AT)], {"01": old, "02": new}, {})
    [decision] = outcome.decisions
    assert decision.kind == "unpayable" and decision.option is old
    # Nothing changes: the notice in force stays payable, the old one replaced.
    assert outcome.statuses == {} and (old.status, new.status) == ("replaced", "payable")
    assert outcome.counts()["duplicates"] == 1
    why = review_detail("unpayable", decision.incoming, 50_000, "replaced")
    assert why.startswith("Pagato un avviso non più pagabile (sostituito da un avviso nuovo")
    assert "già pagato" in review_detail("unpayable", decision.incoming, 50_000, "unpayable")
    assert (
        review_detail("unknown", decision.incoming, None) == "IUV sconosciuto: nessun avviso di questo Comune"
    )


def test_revoking_a_receipt_booked_by_hand_never_makes_its_notice_payable_again() -> None:
    plan = uuid.uuid4()
    single = option("10", "unpayable", plan)  # the plan's single payment, its installment paid
    first = option("11", "paid", plan, installment=1)
    replaced = option("12", "replaced", uuid.uuid4())
    booked = {
        (o.iuv, "B-" + o.iuv): KnownReceipt(uuid.uuid4(), o.iuv, "B-" + o.iuv, 50_000, "PAID", True, o.id)
        for o in (single, replaced)
    }
    revocations = [Incoming(o.iuv, "B-" + o.iuv, 50_000, PAID_AT, revoked=True) for o in (single, replaced)]
    outcome = reconcile(revocations, {o.iuv: o for o in (single, first, replaced)}, booked)
    assert [d.kind for d in outcome.decisions] == ["revoked", "revoked"]
    assert outcome.statuses == {}
    assert (single.status, first.status, replaced.status) == ("unpayable", "paid", "replaced")


def test_revoking_the_receipt_that_paid_a_notice_makes_it_and_its_debt_payable_again() -> None:
    debt = uuid.uuid4()
    paid, other = option("20", "paid", debt), option("21", "unpayable", debt)
    known = {("20", "P-1"): KnownReceipt(uuid.uuid4(), "20", "P-1", 50_000, "PAID", True, paid.id)}
    outcome = reconcile(
        [Incoming("20", "P-1", 50_000, PAID_AT, revoked=True)], {"20": paid, "21": other}, known
    )
    assert outcome.statuses == {paid.id: "payable", other.id: "payable"}
