"""Call scripts: the steps an operator follows, per revenue type, edited per Comune by supervisors
around fixed steps the editor cannot remove (domain.md §7.1). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from services.contracts import REVENUE_TYPES
from services.kernel.errors import DomainError

# Every Comune's script opens with these and closes with the privacy notice: they are the law's.
# The third names the outcome to record by the Comune's own name for it (`opening`).
OPENING = (
    "Presentati: il tuo nome, la società incaricata della riscossione e il Comune per conto del quale chiami.",
    "Verifica l'identità dell'interlocutore (nome, cognome e data di nascita o codice fiscale) prima di "
    "comunicare qualsiasi informazione.",
    "Se risponde un'altra persona (familiare, convivente, collega): non rivelare mai l'esistenza del "
    "debito né il motivo della chiamata; chiedi solo quando richiamare e registra l'esito «Risponde un terzo».",
)
PRIVACY = (
    "Informativa: «I suoi dati sono trattati dalla nostra società, responsabile del trattamento per "
    "conto del Comune (art. 28 del Regolamento UE 2016/679), solo per la riscossione di quanto dovuto; "
    "l'informativa completa è sul sito del Comune.»"
)
DEFAULT_STEPS = (
    "Solo al diretto interessato: spiega le posizioni aperte, gli importi e le modalità di pagamento "
    "(avviso pagoPA, piano di rate se consentito).",
    "Mantieni un tono corretto e rispettoso; non fare pressioni indebite.",
)
ANY_REVENUE = "*"
THIRD_PARTY_DEFAULT = "Risponde un terzo"


def opening(third_party_label: str) -> tuple[str, ...]:
    """The fixed opening, naming the third-party outcome as the Comune calls it."""
    return tuple(s.replace(f"«{THIRD_PARTY_DEFAULT}»", f"«{third_party_label}»") for s in OPENING)


MOST_STEPS = 12
STEP_LENGTH = (3, 500)

# Steps a Comune's own part may not hold: what contradicts the fixed steps (domain.md §7.1). Words,
# not understanding: they catch the plain ways of saying it, and the message says which rule.
_SKIPS_IDENTITY = re.compile(
    r"\b(non (è|e') (necessario|obbligatorio)|non (serve|occorre)|senza|salta\w*|evita\w*|non)\s+"
    r"(\w+\s+){0,2}(verific|identific|controll)\w*[^.]{0,60}?"
    r"(identit|interlocutor|codice fiscale|data di nascita|cognome|chi risponde)",
    re.IGNORECASE,
)
_TELLS_THIRD_PARTY = re.compile(
    r"\b(familiar|terz|convivent|collega|vicin|parent)\w*\b(?:(?!\bnon\b)[^.]){0,80}?"
    r"\b(spieg|comunic|rivel|illustr|riferisc|dica|di')\w*(?:(?!\bnon\b)[^.]){0,60}?"
    r"\b(debit|impor|dovut|posizion|avvis|cartell|pagament)",
    re.IGNORECASE,
)


def _plain(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(" .;:")


def _check_step(number: int, step: str) -> None:
    """A step of the Comune's own part: not a fixed step again, not against one of them."""
    if _plain(step) in {_plain(s) for s in (*OPENING, PRIVACY)}:
        raise DomainError(
            f"Il passo {number} ripete un passo fisso della traccia, che l'operatore vede già: toglilo.",
            field="steps",
        )
    if _SKIPS_IDENTITY.search(step):
        raise DomainError(
            f"Il passo {number} contraddice un passo fisso: l'identità dell'interlocutore si verifica "
            "sempre, prima di comunicare qualsiasi informazione.",
            field="steps",
        )
    if _TELLS_THIRD_PARTY.search(step):
        raise DomainError(
            f"Il passo {number} contraddice un passo fisso: a chi non è il contribuente non si rivela "
            "mai l'esistenza del debito né il motivo della chiamata.",
            field="steps",
        )


def check_steps(revenue_type: str, raw: str) -> tuple[str, tuple[str, ...]]:
    """A Comune's own steps for a revenue type (or "*" for all), one per line, between the fixed
    opening and the privacy notice; none (an empty box) gives the type back to the steps for all
    or the defaults (`script_for`); refused in Italian."""
    kind = revenue_type.strip().upper() if revenue_type.strip() != ANY_REVENUE else ANY_REVENUE
    if kind != ANY_REVENUE and kind not in REVENUE_TYPES:
        raise DomainError("Scegli il tipo di entrata della traccia.", field="revenue_type")
    steps = tuple(line.strip() for line in raw.splitlines() if line.strip())
    if len(steps) > MOST_STEPS:
        raise DomainError(f"Al massimo {MOST_STEPS} passi, uno per riga.", field="steps")
    low, high = STEP_LENGTH
    for number, step in enumerate(steps, 1):
        if not low <= len(step) <= high:
            raise DomainError(f"Il passo {number} deve avere da {low} a {high} caratteri.", field="steps")
        _check_step(number, step)
    return kind, steps


def script_for(
    revenue_types: Sequence[str], own: dict[str, tuple[str, ...]]
) -> list[tuple[str, tuple[str, ...]]]:
    """The editable part of the card's script: for each of the debtor's revenue types the Comune's
    steps for it, else its steps for all, else the defaults; the same steps shown once."""
    shown: list[tuple[str, tuple[str, ...]]] = []
    for kind in dict.fromkeys(revenue_types) or (ANY_REVENUE,):
        steps = own.get(kind) or own.get(ANY_REVENUE) or DEFAULT_STEPS
        if all(steps != s for _, s in shown):
            shown.append((kind, steps))
    return shown


LABEL_LENGTH = (3, 60)


def check_labels(values: dict[str, str], defaults: Mapping[str, str]) -> dict[str, str]:
    """A Comune's names for the outcomes (`defaults`: outcome -> default name; empty: the default
    name), refused in Italian per field; no two outcomes may be called alike, a name given or a
    default one (case aside), the refusal at the field of the second."""
    low, high = LABEL_LENGTH
    labels = {}
    for outcome in defaults:
        text = " ".join(values.get(f"label_{outcome}", "").split())
        if not text:
            continue
        if not low <= len(text) <= high:
            raise DomainError(
                f"Ogni nome di esito deve avere da {low} a {high} caratteri.", field=f"label_{outcome}"
            )
        labels[outcome] = text
    named: dict[str, str] = {}
    for outcome, default in defaults.items():
        shown = labels.get(outcome, default)
        other = named.get(shown.casefold())
        if other is not None:
            culprit = outcome if outcome in labels else other
            first = other if culprit == outcome else outcome
            raise DomainError(
                f"Due esiti non possono avere lo stesso nome: «{labels[culprit]}» è già il nome "
                f"dell'esito «{defaults[first]}».",
                field=f"label_{culprit}",
            )
        named[shown.casefold()] = outcome
    return labels
