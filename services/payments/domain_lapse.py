"""The life of an installment plan: missed installments, reminder, lapse, extension, charges.

Pure rules, amounts in integer cents, days as Europe/Rome calendar days.

- An installment is missed when its due date has passed and it is not fully paid.
- A refund (or a revoked payment) of money that paid an active plan's installments takes it back
  from them, latest first (`take_back`). An installment it reopens falls due again, for these rules,
  on the day the office recorded it (its own due date when later), and a sollecito sent before that
  day no longer counts while it stays unpaid (`reminder_in_force`): it is missed from the next day,
  gets a sollecito of its own, and only an installment missed after that sollecito can then lapse
  the plan. A due date the debtor had met never lapses the plan after the fact: a tax office cannot
  hold the debtor in default on a date on which the installment was paid, and c.800 asks for an
  explicit sollecito first, so the clock starts when the money went back and the debtor is told.
- L. 160/2019 c.800: the plan lapses (decadenza) when two installments are missed, even not
  consecutive, within six months of each other, after an explicit reminder (sollecito): at least one
  of the two fell due after the day the reminder was sent, so installments missed before it, alone,
  never lapse the plan. The reminder is sent when the first installment is missed. On lapse the
  residue is due at once in one payment and those positions can no longer be put in a plan.
- CDS fines (art. 202-bis D.Lgs. 285/1992): one missed installment lapses the plan; the article asks
  for no reminder, so none is waited for.
- c.798: one extension per plan, when a worsening of the debtor's situation is declared, never after
  a lapse, for the residual principal, in at most 72 monthly installments or the Comune
  regulation's maximum; CDS plans follow art. 202-bis, which provides no extension.
- c.803: collection charges borne by the debtor, 3% (at most € 300.00) when paid within 60 days of
  the notice, 6% (at most € 600.00) after; cents rounded half-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from services.kernel.errors import Conflict, DomainError
from services.kernel.working_days import next_working_day
from services.payments.domain_plans import RuleSet
from services.payments.domain_schedule import month_end

ROME = ZoneInfo("Europe/Rome")
CDS = "CDS"
# c.800: the two missed installments fall within six months of each other.
LAPSE_WINDOW_MONTHS = 6
# c.803: (days since the notice, percent, cap in cents).
CHARGES_WITHIN_DAYS = 60
CHARGES_EARLY = (Decimal(3), 30_000)
CHARGES_LATE = (Decimal(6), 60_000)
MAX_REASON = 2_000


def rome_day(moment: datetime) -> date:
    """The Europe/Rome calendar day of an aware moment."""
    return moment.astimezone(ROME).date()


def run_moment(now: datetime, today: date) -> datetime:
    """When a run for `today` did something: now, or noon of `today` when the run is for another
    day (a catch-up run for a day missed), so what it records falls on the day it ran for."""
    return now if rome_day(now) == today else datetime.combine(today, time(12), ROME)


@dataclass(frozen=True)
class InstallmentState:
    number: int
    due_date: date
    principal_cents: int
    interest_cents: int
    paid_cents: int
    # The day a refund or a revoked payment made it due again, if one did.
    reopened_on: date | None = None

    @property
    def amount_cents(self) -> int:
        return self.principal_cents + self.interest_cents

    @property
    def falls_due(self) -> date:
        """Its due date for the lapse rules: the day it was reopened when that is later."""
        if self.reopened_on is None:
            return self.due_date
        return max(self.due_date, self.reopened_on)

    @property
    def reopened_note(self) -> str:
        """What a sollecito says of an installment due again after a refund or a revoked payment
        (its new date, then the original one); "" for any other."""
        if self.falls_due == self.due_date:
            return ""
        return (
            f"di nuovo dovuta dal {self.falls_due:%d/%m/%Y} per un rimborso o un pagamento revocato "
            f"(scadenza originaria {self.due_date:%d/%m/%Y})"
        )

    @property
    def unpaid_cents(self) -> int:
        return max(0, self.amount_cents - self.paid_cents)

    @property
    def payable_until(self) -> date:
        """The last day it may be paid on time: its due date, or the next working day when that
        falls on a Saturday, a Sunday or a national holiday (`kernel.working_days`)."""
        return next_working_day(self.falls_due)

    def missed(self, today: date) -> bool:
        return self.payable_until < today and self.paid_cents < self.amount_cents


@dataclass(frozen=True)
class PlanState:
    revenue_type: str
    status: str
    installments: tuple[InstallmentState, ...]
    # The Rome day the reminder was sent, if it was.
    reminder_sent_on: date | None = None
    extended: bool = False

    @property
    def lapsed(self) -> bool:
        return self.status == "lapsed"

    @property
    def is_cds(self) -> bool:
        return self.revenue_type == CDS


def missed(plan: PlanState, today: date) -> list[InstallmentState]:
    """The installments due before today and not fully paid, in due date order."""
    return sorted((i for i in plan.installments if i.missed(today)), key=lambda i: (i.falls_due, i.number))


def reminder_in_force(plan: PlanState) -> date | None:
    """The day of the sollecito that counts: none when an installment still unpaid was reopened on
    or after that day (the sollecito did not ask for it; one that does is sent first)."""
    sent = plan.reminder_sent_on
    if sent is None:
        return None
    for i in plan.installments:
        if i.reopened_on is not None and i.reopened_on >= sent and i.paid_cents < i.amount_cents:
            return None
    return sent


def needs_reminder(plan: PlanState, today: date) -> bool:
    """An active L. 160 plan with a missed installment whose reminder has not been sent yet."""
    if plan.lapsed or plan.is_cds or reminder_in_force(plan) is not None:
        return False
    return bool(missed(plan, today))


def _within_window(earlier: date, later: date) -> bool:
    """`later` falls within six months of `earlier` (the same day six months on, or that month's
    last day when it is shorter)."""
    end = month_end(earlier, LAPSE_WINDOW_MONTHS)
    return later <= (end if earlier.day > end.day else end.replace(day=earlier.day))


def lapses(plan: PlanState, today: date) -> bool:
    """Whether the plan lapses today (c.800; art. 202-bis for CDS fines)."""
    if plan.lapsed:
        return False
    late = missed(plan, today)
    if plan.is_cds:
        return bool(late)
    reminder = reminder_in_force(plan)
    if reminder is None:
        return False
    for later in (i for i in late if i.falls_due > reminder):
        if any(e.falls_due < later.falls_due and _within_window(e.falls_due, later.falls_due) for e in late):
            return True
    return False


def residual_cents(plan: PlanState, today: date) -> int:
    """What becomes due at once on lapse: what is unpaid of the installments already due, and the
    principal of those not yet due (their interest has not accrued)."""
    total = 0
    for i in plan.installments:
        if i.due_date < today:
            total += i.unpaid_cents
        else:
            total += max(0, i.principal_cents - max(0, i.paid_cents - i.interest_cents))
    return total


def completed(plan: PlanState) -> bool:
    """Every installment fully paid: the plan's debt is extinguished."""
    return all(i.paid_cents >= i.amount_cents for i in plan.installments)


def refund_reopens(plan: PlanState) -> bool:
    """Whether a refund takes back from this plan's installments: unless it lapsed (its
    installments no longer count: the residue is due at once). A refund makes what it gives back
    owed again, also on a plan it had completed: the installments it paid are due again and get
    notices anew (else the position would owe with no notice to pay it by: every notice of the
    plan paid or no longer payable). A revoked payment (the money never arrived) comes off any plan
    (`take_back`)."""
    return not plan.lapsed


@dataclass(frozen=True)
class WentBack:
    """Money that paid a plan's installments and went back (refunded or revoked): `cents`, the
    installment whose pagoPA notice it paid (`first`), and whether it was the last of a payment of
    the plan's single notice (`all_of_single`)."""

    cents: int
    first: int | None = None
    all_of_single: bool = False


def take_back(installments: Sequence[InstallmentState], went: WentBack) -> dict[int, int]:
    """What comes off each installment's paid amount (number -> cents) when money that paid them
    goes back. The installment the money was paid for (its pagoPA notice) goes first, then the
    others latest first: payments fill the installments in due order (a manual one by
    `handlers_plan_payments.pay_plan`), so the refund empties them in the reverse order and
    the earliest stay paid. Never more than was paid of one; what is beyond all that was paid
    comes off the position only. The plan's single notice settles every installment, interest
    included, for the principal alone: when the last of that payment goes back, all of it does."""
    first = went.first
    taken: dict[int, int] = {}
    left = sum(max(i.paid_cents, 0) for i in installments) if went.all_of_single else went.cents
    for i in sorted(installments, key=lambda i: (i.number != first, -i.number)):
        share = min(left, max(i.paid_cents, 0))
        if share > 0:
            taken[i.number] = share
            left -= share
    return taken


def extension_most(rules: RuleSet) -> int:
    """c.798: up to 72 monthly installments, or the most the Comune's regulation allows."""
    return max(b.most for b in rules.bands)


@dataclass(frozen=True)
class Extension:
    """What an extension keeps and replaces: the installments paid (a partly paid one closed at what
    was paid, interest first) and the residual principal the new schedule spreads."""

    kept: tuple[InstallmentState, ...]
    replaced: tuple[int, ...]
    residual_principal_cents: int
    first_number: int
    # The partly paid installments, closed at what was paid.
    closed: tuple[int, ...] = ()


def _closed(i: InstallmentState) -> InstallmentState:
    interest = min(i.interest_cents, i.paid_cents)
    principal = min(i.principal_cents, i.paid_cents - interest)
    return replace(i, principal_cents=principal, interest_cents=interest)


def check_extension(plan: PlanState, installments: int, reason: str, most: int) -> Extension:
    """One extension per plan (c.798), never after a lapse, within `most` installments; Italian
    message otherwise."""
    if plan.lapsed:
        raise Conflict("Il piano è decaduto: non può essere prorogato (L. 160/2019, art. 1 c. 798).")
    if plan.is_cds:
        raise Conflict(
            "Le rateizzazioni delle sanzioni del Codice della strada (art. 202-bis) non si prorogano."
        )
    if plan.extended:
        raise Conflict("Il piano è già stato prorogato: la legge consente una sola proroga (c. 798).")
    if not reason.strip() or len(reason) > MAX_REASON:
        raise DomainError(
            "Indica il peggioramento della situazione del contribuente che motiva la proroga.", field="reason"
        )
    open_ = [i for i in plan.installments if i.paid_cents < i.amount_cents]
    if not open_:
        raise Conflict("Il piano è già pagato per intero: non c'è nulla da prorogare.")
    if not len(open_) < installments <= most:
        raise DomainError(
            f"La proroga ripartisce il capitale residuo in più rate di quelle ancora da pagare "
            f"({len(open_)}) e al massimo in {most} rate mensili.",
            field="installments",
        )
    kept = tuple(i for i in plan.installments if i.paid_cents >= i.amount_cents)
    kept += tuple(_closed(i) for i in open_ if i.paid_cents > 0)
    principal = sum(i.principal_cents for i in plan.installments)
    residual = principal - sum(i.principal_cents for i in kept)
    first = max(i.number for i in plan.installments) + 1
    replaced = tuple(i.number for i in open_ if i.paid_cents == 0)
    kept = tuple(sorted(kept, key=lambda i: i.number))
    closed = tuple(i.number for i in open_ if i.paid_cents > 0)
    return Extension(kept, replaced, residual, first, closed)


def collection_charges(amount_cents: int, notice_date: date, paid_on: date) -> int:
    """c.803: 3% of the amount, at most € 300.00, when paid within 60 days of the notice; else 6%,
    at most € 600.00; integer cents, half-up."""
    if amount_cents <= 0:
        return 0
    early = paid_on <= notice_date + timedelta(days=CHARGES_WITHIN_DAYS)
    rate, cap = CHARGES_EARLY if early else CHARGES_LATE
    exact = Decimal(amount_cents) * rate / 100
    return min(cap, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
