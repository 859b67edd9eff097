"""OpenID Connect rules without I/O: which ID token claims are acceptable, and what a login asserted."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

FISCAL_NUMBER = "https://attributes.eid.gov.it/fiscal_number"
SPID_LEVELS = tuple(f"https://www.spid.gov.it/SpidL{n}" for n in (1, 2, 3))
DEFAULT_SPID_ACR = SPID_LEVELS[1]
LEEWAY_SECONDS = 60


class LoginRejected(Exception):
    """The login cannot be completed; `reason` goes to the audit log, `message` to the user."""

    def __init__(self, reason: str, message: str = "Accesso non riuscito: riprova.") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


def acr_satisfies(acr: str | None, minimum: str | None) -> bool:
    """SPID levels are ordered (L3 satisfies L2); any other value must match exactly."""
    if minimum is None:
        return True
    if acr is None:
        return False
    if acr in SPID_LEVELS and minimum in SPID_LEVELS:
        return SPID_LEVELS.index(acr) >= SPID_LEVELS.index(minimum)
    return acr == minimum


def check_id_token_claims(
    claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str, min_acr: str | None, now: float
) -> None:
    """Raise LoginRejected unless the (signature-checked) ID token's claims are acceptable."""
    if claims.get("iss") != issuer:
        raise LoginRejected("id_token_wrong_issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != client_id):
        raise LoginRejected("id_token_wrong_audience")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + LEEWAY_SECONDS < now:
        raise LoginRejected("id_token_expired")
    if not isinstance(iat, int | float) or iat - LEEWAY_SECONDS > now:
        raise LoginRejected("id_token_not_yet_valid")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise LoginRejected("id_token_without_subject")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
        raise LoginRejected("nonce_mismatch")
    if not acr_satisfies(claims.get("acr"), min_acr):
        raise LoginRejected(
            "acr_too_low",
            "Livello di autenticazione insufficiente: accedi con SPID di livello 2 o superiore.",
        )


def fiscal_number(claims: dict[str, Any]) -> str | None:
    """`TINIT-<CF>` -> `<CF>` (upper case); None when absent."""
    value = claims.get(FISCAL_NUMBER)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip().upper()
    return value.removeprefix("TINIT-") or None


@dataclass(frozen=True)
class LoginResult:
    issuer: str
    subject: str
    claims: dict[str, Any]
    id_token: str
    acr: str | None

    @property
    def fiscal_number(self) -> str | None:
        return fiscal_number(self.claims)

    def vouched(self, fiscal_number: bool, email: bool) -> tuple[str | None, str | None]:
        """The (fiscal number, e-mail) asserted, each only if the provider is trusted for it: otherwise a
        provider could assert someone else's and take over their account."""
        return (self.fiscal_number if fiscal_number else None, self.verified_email if email else None)

    @property
    def verified_email(self) -> str | None:
        email = self.claims.get("email")
        if isinstance(email, str) and email and self.claims.get("email_verified") is True:
            return email.strip().lower()
        return None

    @property
    def display_name(self) -> str:
        given, family = self.claims.get("given_name"), self.claims.get("family_name")
        name = " ".join(str(p).strip().title() for p in (given, family) if p)
        return name or str(self.claims.get("name") or self.claims.get("email") or self.subject)
