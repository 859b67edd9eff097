"""What a plan simulation asks for, read from a JSON body with Italian errors, and what it answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.contracts import REVENUE_TYPES
from services.kernel.errors import DomainError
from services.payments.domain_plans import RuleSet, allowed, cds_allowed, read_bands, read_rate
from services.payments.domain_schedule import Installment, month_end

MAX_POSITIONS = 500


@dataclass(frozen=True)
class Simulation:
    amount_cents: int | None
    position_ids: tuple[uuid.UUID, ...]
    revenue_type: str | None
    installments: int | None
    plan_date: date
    first_due: date
    income_declared: bool


# The fields as the plan builder names them (the API's clients read the key in brackets).
_SAID = {"first_due_date": "Prima scadenza", "plan_date": "Data del piano", "installments": "Numero di rate"}


def _date(body: dict[str, Any], name: str, default: date) -> date:
    raw = body.get(name)
    if raw is None:
        return default
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        said = _SAID.get(name, name)
        raise DomainError(
            f"«{str(raw)[:20]}» non è una data valida per «{said}» ({name}: aaaa-mm-gg).", field=name
        ) from None


def _positive_int(body: dict[str, Any], name: str) -> int | None:
    raw = body.get(name)
    if raw is None:
        return None
    if type(raw) is not int or raw <= 0:
        raise DomainError(f"«{name}» deve essere un numero intero positivo.", field=name)
    return raw


def plan_id_of(body: dict[str, Any]) -> uuid.UUID | None:
    raw = body.get("plan_id")
    if raw is None:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise DomainError("«plan_id» non è un identificativo valido.", field="plan_id") from None


def position_ids_of(body: dict[str, Any]) -> tuple[uuid.UUID, ...]:
    raw = body.get("position_ids")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw or len(raw) > MAX_POSITIONS:
        raise DomainError(
            f"Indica da 1 a {MAX_POSITIONS} posizioni (position_ids): il costruttore si apre dalla pagina "
            "della posizione o dalla scheda del contribuente.",
            field="position_ids",
        )
    try:
        return tuple(dict.fromkeys(uuid.UUID(str(p)) for p in raw))
    except ValueError:
        raise DomainError(
            "Una delle posizioni indicate (position_ids) ha un identificativo non valido.",
            field="position_ids",
        ) from None


def read_simulation(body: dict[str, Any], today: date) -> Simulation:
    """The simulation asked for: an amount or positions, the revenue type, optional installments,
    plan date (default today) and first due date (default the last day of the next month)."""
    amount, positions = _positive_int(body, "amount_cents"), position_ids_of(body)
    if (amount is None) == (not positions):
        raise DomainError("Indica «amount_cents» oppure «position_ids» (uno dei due).", field="amount_cents")
    revenue_type = body.get("revenue_type")
    if revenue_type is not None and revenue_type not in REVENUE_TYPES:
        raise DomainError(f"«revenue_type» è uno tra {', '.join(REVENUE_TYPES)}.", field="revenue_type")
    if amount is not None and revenue_type is None:
        raise DomainError("Indica il tipo di entrata («revenue_type»).", field="revenue_type")
    declared = body.get("income_declared", False)
    if not isinstance(declared, bool):
        raise DomainError("«income_declared» è vero o falso.", field="income_declared")
    plan_date = _date(body, "plan_date", today)
    first_due = _date(body, "first_due_date", month_end(plan_date, 1))
    installments = _positive_int(body, "installments")
    return Simulation(amount, positions, revenue_type, installments, plan_date, first_due, declared)


@dataclass(frozen=True)
class PlanRequest:
    position_ids: tuple[uuid.UUID, ...]
    installments: int
    first_due: date | None
    income_declared: bool


def read_plan_request(body: dict[str, Any]) -> PlanRequest:
    """A plan asked for: its positions, the number of installments, optionally the first due date
    (default the last day of the next month) and the income declaration (CDS fines)."""
    position_ids = position_ids_of(body)
    if not position_ids:
        raise DomainError("Indica le posizioni del piano.", field="position_ids")
    installments = _positive_int(body, "installments")
    if installments is None:
        raise DomainError("Indica il numero di rate.", field="installments")
    first_due = _date(body, "first_due_date", date.min)
    declared = body.get("income_declared", False)
    if not isinstance(declared, bool):
        raise DomainError("«income_declared» è vero o falso.", field="income_declared")
    return PlanRequest(position_ids, installments, None if first_due == date.min else first_due, declared)


def read_rule_set(body: dict[str, Any], today: date) -> tuple[date, RuleSet]:
    """A Comune's rules as the API writes them: `bands`, optional `min_installment_cents`,
    `interest_rate` (percent, text) and `valid_from` (default today)."""
    valid_from = _date(body, "valid_from", today)
    smallest = body.get("min_installment_cents", 0)
    if type(smallest) is not int or smallest < 0:
        raise DomainError(
            "«min_installment_cents» è un numero intero non negativo.", field="min_installment_cents"
        )
    return valid_from, RuleSet(read_bands(body.get("bands")), smallest, read_rate(body.get("interest_rate")))


def allowed_for(
    amount_cents: int, revenue_type: str, income_declared: bool, rules: RuleSet
) -> tuple[int, int]:
    """The installments the rules allow this debt: the CDS rule for traffic fines."""
    if revenue_type == "CDS":
        return cds_allowed(amount_cents, income_declared)
    return allowed(amount_cents, rules)


def check_plan_installments(installments: Any) -> int:
    """A plan has at least two installments, a whole number of them (one payment is a notice)."""
    if type(installments) is not int:
        raise DomainError(f"Il numero di rate è un numero intero: «{installments}».", field="installments")
    if installments < 2:
        raise DomainError(
            "Un piano ha almeno due rate: per il pagamento unico emetti l'avviso.", field="installments"
        )
    return installments


def check_installments(installments: int, allowed_range: tuple[int, int], why: str = "") -> int:
    """One payment is always possible; a plan only within what the rules allow (`why`: their
    reason, `domain_plans.range_reason`, said with the refusal)."""
    fewest, most = allowed_range
    because = f" ({why})" if why else ""
    if installments != 1 and not fewest <= installments <= most:
        if most == 1:
            raise DomainError(
                f"Per questo importo non è prevista la rateizzazione{because}: pagamento unico.",
                field="installments",
            )
        raise DomainError(
            f"Il numero di rate deve essere tra {fewest} e {most}{because}.", field="installments"
        )
    return installments


def schedule_json(plan: list[Installment]) -> list[dict[str, Any]]:
    return [
        {
            "number": i.number,
            "due_date": i.due_date.isoformat(),
            "principal_cents": i.principal_cents,
            "interest_cents": i.interest_cents,
            "amount_cents": i.amount_cents,
        }
        for i in plan
    ]
