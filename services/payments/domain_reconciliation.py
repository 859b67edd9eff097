"""Reconciliation of pagoPA payments: what a receipt or a reporting-flow line does to the options.

Pure: the handler loads the options and receipts a batch names, `reconcile` decides, the handler
writes the decisions in bulk. Options follow the GPD model: paying a plan's single option makes its
installment options unpayable, and paying an installment makes the single option unpayable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.kernel.errors import DomainError
from services.payments.domain import format_cents

# What a payment that cannot simply be applied is, for the review queue.
REVIEW_KINDS = {
    "partial": "Importo inferiore a quello dell'avviso",
    "over": "Importo superiore a quello dell'avviso",
    "duplicate": "Pagamento doppio: l'avviso risultava già pagato",
    "unpayable": "Pagato un avviso non più pagabile",
    "unknown": "IUV sconosciuto: nessun avviso di questo Comune",
    "amount_differs": "L'importo del flusso differisce da quello della ricevuta",
    "revoked_unknown": "Revoca di un pagamento che non risulta registrato",
}
# The kinds whose money is the debtor's payment of what is due: booked on the notice's position
# when checked (`handlers_review`); the others are resolved with a note.
BOOKABLE = frozenset({"partial", "unpayable"})
# Why a notice paid was no longer payable, by the option's status (the review item's detail).
_WHY_UNPAYABLE = {
    "replaced": "sostituito da un avviso nuovo dopo una rettifica, un pagamento parziale o un "
    "ricalcolo delle rate",
    "unpayable": "il debito era già pagato con un'altra opzione, annullato dall'Ufficio tributi o il "
    "piano decaduto",
}
COUNTS = (
    "matched",
    "duplicates",
    "unmatched",
    "partial",
    "over",
    "revoked",
    "amount_differs",
    "already_imported",
)
_COUNT_OF = {
    "matched": "matched",
    "duplicate": "duplicates",
    "unpayable": "duplicates",
    "unknown": "unmatched",
    "revoked_unknown": "unmatched",
    "partial": "partial",
    "over": "over",
    "amount_differs": "amount_differs",
}


@dataclass(frozen=True, slots=True)
class Incoming:
    """A receipt (from the receipts file) or a line of a reporting flow (FdR)."""

    iuv: str
    receipt_ref: str
    amount_cents: int
    paid_at: datetime
    psp: str = ""
    revoked: bool = False
    # A flow line's number, payment index and outcome code (0 for a receipt).
    line: int = 0
    index: int = 0
    outcome: int = 0


@dataclass
class OptionState:
    id: uuid.UUID
    iuv: str
    amount_cents: int
    status: str
    # The debt the option belongs to: the plan, or the position alone (a plan's c.803 charges: the
    # option itself).
    group: uuid.UUID
    installment: int | None
    # debt, or charges (the plan's c.803 collection charges: paid apart from its positions).
    kind: str = "debt"


@dataclass(frozen=True)
class KnownReceipt:
    id: uuid.UUID
    iuv: str
    receipt_ref: str
    amount_cents: int
    state: str
    applied: bool
    option_id: uuid.UUID | None


@dataclass(frozen=True)
class Decision:
    """What one incoming payment does. `kind` is "matched", a review kind, "revoked", "known"
    (a receipt seen before, nothing changes) or "reported" (a flow line confirming a receipt)."""

    incoming: Incoming
    kind: str
    option: OptionState | None = None
    receipt: KnownReceipt | None = None


@dataclass
class Outcome:
    decisions: list[Decision] = field(default_factory=list)
    # Options whose status changes: id -> "paid" | "unpayable" | "payable".
    statuses: dict[uuid.UUID, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(COUNTS, 0)
        for d in self.decisions:
            if d.kind == "revoked":
                counts["revoked"] += 1
            elif d.kind == "known":
                counts["already_imported"] += 1
            elif d.kind == "reported":
                counts["matched"] += 1
            else:
                counts[_COUNT_OF[d.kind]] += 1
        return counts


def _pay(option: OptionState, group: Iterable[OptionState], outcome: Outcome) -> None:
    """The option is paid; the other kind of option of the same debt becomes unpayable."""
    option.status = "paid"
    outcome.statuses[option.id] = "paid"
    for other in group:
        if other.id == option.id or other.status != "payable":
            continue
        single_and_installment = (option.installment is None) != (other.installment is None)
        position_alone = option.installment is None and other.installment is None
        if single_and_installment or position_alone:
            other.status = "unpayable"
            outcome.statuses[other.id] = "unpayable"


def _unpay(option: OptionState, group: list[OptionState], outcome: Outcome) -> None:
    """A revoked payment: the option is payable again, and so is the other kind of option of the
    debt when nothing else of it is still paid."""
    option.status = "payable"
    outcome.statuses[option.id] = "payable"
    if any(o.status == "paid" for o in group):
        return
    for other in group:
        if other.status == "unpayable":
            other.status = "payable"
            outcome.statuses[other.id] = "payable"


def _classify(incoming: Incoming, option: OptionState | None) -> str:
    if option is None:
        return "unknown"
    if option.status == "paid":
        return "duplicate"
    if option.status != "payable":
        return "unpayable"
    if incoming.amount_cents < option.amount_cents:
        return "partial"
    if incoming.amount_cents > option.amount_cents:
        return "over"
    return "matched"


def reconcile(
    incoming: Sequence[Incoming],
    options: dict[str, OptionState],
    known: dict[tuple[str, str], KnownReceipt],
) -> Outcome:
    """Decide, in order, what each incoming payment does. `options` are by IUV, `known` the
    receipts already recorded by (IUV, receipt reference); both are updated as the batch goes."""
    outcome = Outcome()
    groups: dict[uuid.UUID, list[OptionState]] = {}
    for state in options.values():
        groups.setdefault(state.group, []).append(state)
    for item in incoming:
        key = (item.iuv, item.receipt_ref)
        option = options.get(item.iuv)
        receipt = known.get(key)
        if item.revoked:
            outcome.decisions.append(_revoke(item, receipt, option, groups, outcome))
            continue
        if receipt is not None:
            outcome.decisions.append(Decision(item, _seen_again(item, receipt), option, receipt))
            continue
        kind = _classify(item, option)
        if kind == "matched" and option is not None:
            _pay(option, groups[option.group], outcome)
        known[key] = KnownReceipt(
            uuid.uuid4(), item.iuv, item.receipt_ref, item.amount_cents, "", False, None
        )
        outcome.decisions.append(Decision(item, kind, option, known[key]))
    return outcome


def _seen_again(item: Incoming, receipt: KnownReceipt) -> str:
    """A flow line naming a receipt not yet reported confirms it; anything else changes nothing."""
    if not item.line or receipt.state != "PAID":
        return "known"
    return "reported" if receipt.amount_cents == item.amount_cents else "amount_differs"


def _revoke(
    item: Incoming,
    receipt: KnownReceipt | None,
    option: OptionState | None,
    groups: dict[uuid.UUID, list[OptionState]],
    outcome: Outcome,
) -> Decision:
    if receipt is None or receipt.state == "REVOKED":
        return Decision(item, "known" if receipt is not None else "revoked_unknown", option, receipt)
    # Only a receipt that paid its notice makes it payable again: a receipt booked by hand on the
    # position of a notice replaced or no longer payable (`handlers_review`) leaves it as it is.
    if receipt.applied and option is not None and option.id == receipt.option_id and option.status == "paid":
        _unpay(option, groups[option.group], outcome)
    return Decision(item, "revoked", option, receipt)


def allocate(amount_cents: int, residuals: Sequence[tuple[uuid.UUID, int]]) -> list[tuple[uuid.UUID, int]]:
    """Split a payment over positions in the order given, each up to its residual; what is left
    (more than all residuals) stays on the last position, so no money disappears."""
    shares: list[tuple[uuid.UUID, int]] = []
    left = amount_cents
    for position_id, residual in residuals:
        if left <= 0:
            break
        share = min(left, max(residual, 0))
        if share > 0:
            shares.append((position_id, share))
            left -= share
    if left > 0 and residuals:
        last = residuals[-1][0]
        merged = dict(shares)
        merged[last] = merged.get(last, 0) + left
        shares = list(merged.items())
    return shares


def review_detail(kind: str, incoming: Incoming, expected_cents: int | None, option_status: str = "") -> str:
    text = REVIEW_KINDS[kind]
    if kind == "unpayable" and option_status in _WHY_UNPAYABLE:
        text += f" ({_WHY_UNPAYABLE[option_status]})"
    if expected_cents is not None and kind in ("partial", "over", "amount_differs"):
        text += f" (atteso {format_cents(expected_cents)}, ricevuto {format_cents(incoming.amount_cents)})"
    return text


def check_review_note(note: object) -> str:
    """How a review item was settled, as written: 3 to 1,000 characters."""
    text = note.strip() if isinstance(note, str) else ""
    if not 3 <= len(text) <= 1000:
        raise DomainError("Scrivi una nota di almeno 3 caratteri su come è stato risolto.", field="note")
    return text


# What a review item of a plan's c.803 charges notice adds: it is not the position's credit.
CHARGES_REVIEW = (
    " (avviso degli oneri di riscossione del piano, L. 160/2019 c. 803: non va registrato come "
    "pagamento della posizione)"
)
