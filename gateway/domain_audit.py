"""The gateway's audit entries as their readers read them: each detail in Italian words, never a
raw key or an identifier a person cannot look up («from: 3f2a…» is «dal Comune: Comune di Roma»)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from services.kernel.roles import ROLE_LABELS

REASONS = {
    "other_side": "la persona ha già ruoli dell'altra parte (società di riscossione o Ufficio tributi)",
    "no_membership": "l'utente non è abilitato su alcun Comune",
    "unknown_user": "utente sconosciuto",
    "state_mismatch": "richiesta di accesso scaduta o alterata",
    "nonce_mismatch": "richiesta di accesso scaduta o alterata",
    "id_token_expired": "attestazione del gestore d'identità scaduta",
    "token_request_failed": "il gestore d'identità non ha risposto",
}
VIA = {"invitation": "tramite invito"}


def _acr(value: Any) -> str:
    text = str(value)
    if text.startswith("https://www.spid.gov.it/SpidL"):
        return f"livello SPID {text.removeprefix('https://www.spid.gov.it/SpidL')}"
    return f"livello di autenticazione {text}"


# Key -> how its value is said; None hides a key whose value is said by another (an id beside a name).
SAID: dict[str, Callable[[Any], str] | None] = {
    "user": lambda v: f"persona: {v}",
    "user_id": None,
    "role": lambda v: f"ruolo: {ROLE_LABELS.get(str(v), str(v))}",
    "via": lambda v: VIA.get(str(v), str(v)),
    "provider": lambda v: f"accesso con: {v}",
    "acr": _acr,
    "reason": lambda v: f"motivo: {REASONS.get(str(v), str(v).replace('_', ' '))}",
    "sessions": lambda v: f"sessioni chiuse: {v}",
    "fiscal_number": lambda v: f"codice fiscale: {v}",
    "email": lambda v: f"e-mail: {v}",
    "key_id": None,
    "label": lambda v: f"etichetta: «{v}»",
    "prefix": lambda v: f"chiave che inizia per {v}",
    "slug": lambda v: f"indirizzo: /t/{v}/",
    "name": lambda v: f"nome: {v}",
    "path": lambda v: f"pagina: {v}",
    "consumer": lambda v: f"coda: {v}",
    "count": lambda v: f"messaggi: {v}",
    "messages": None,  # the count says how many; the identifiers stay in the record
}


def describe(detail: Mapping[str, Any], tenant_names: Mapping[uuid.UUID, str]) -> str:
    """An entry's detail in words, in a fixed order; an unknown key keeps its name."""
    parts = []
    for key, value in detail.items():
        if value is None or value == "":
            continue
        if key == "from":
            parts.append(f"dal Comune: {_tenant(value, tenant_names)}")
            continue
        if key not in SAID:
            parts.append(f"{key}: {value}")
        elif (say := SAID[key]) is not None:
            parts.append(say(value) or "")
    return ", ".join(parts)


def _tenant(value: Any, names: Mapping[uuid.UUID, str]) -> str:
    try:
        return names.get(uuid.UUID(str(value)), "un altro Comune")
    except ValueError:
        return "un altro Comune"
