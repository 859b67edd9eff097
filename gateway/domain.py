"""Gateway rules without I/O: API keys, roles, paths, sessions, rate limits and who administers what."""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from stdnum.it import codicefiscale

from services.kernel import roles
from services.kernel.errors import DomainError, Forbidden, Problems
from services.kernel.formats import is_email
from services.kernel.mail import Mail

SERVICE_PATHS = ("ingest", "contact", "payments", "reporting")
ROLES = roles.SESSION_ROLES
API_ROLE = roles.API_ROLE
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def same_secret(sent: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two secrets; False (never an error) for missing or non-ASCII input."""
    if not sent or not expected:
        return False
    return secrets.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def new_api_key() -> tuple[str, str, str]:
    """Returns (full key shown once, public prefix, SHA-256 hash to store)."""
    prefix = secrets.token_hex(4)
    key = f"rsk_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def split_tenant_path(path: str) -> tuple[str, str | None] | None:
    """`/t/<slug>/<service>/...` -> (slug, service or None); None if not a tenant path."""
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "t" or not SLUG_RE.match(parts[2]):
        return None
    service = parts[3] if len(parts) > 3 and parts[3] else None
    return parts[2], service


# Pages anyone may open with a signed link (no session, no key), and the service that serves them.
PUBLIC_PREFIXES = {"avvisi": "payments"}


def split_public_path(path: str) -> str | None:
    """`/avvisi/<token>...` -> the service that serves it; None otherwise."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in PUBLIC_PREFIXES and parts[2]:
        return PUBLIC_PREFIXES[parts[1]]
    return None


def split_api_path(path: str) -> str | None:
    """`/api/v1/<service>/...` -> service; None otherwise."""
    parts = path.split("/")
    if len(parts) > 4 and parts[1] == "api" and parts[2] == "v1" and parts[3] in SERVICE_PATHS:
        return parts[3]
    return None


def forward_template(path: str) -> str | None:
    """The metrics label of a path the gateway forwards (its service, never the raw path: labels
    must stay few); None for the gateway's own pages."""
    tenant = split_tenant_path(path)
    if tenant is not None:
        service = tenant[1] if tenant[1] in SERVICE_PATHS else None
        return f"/t/{{tenant}}/{service}/…" if service else "/t/{tenant}/…"
    api = split_api_path(path)
    if api is not None:
        return f"/api/v1/{api}/…"
    public = split_public_path(path)
    return f"(public link: {public})" if public else None


# ------------------------------------------------------------------------------------------ sessions

TOUCH_EVERY = timedelta(seconds=60)
PENDING_LOGIN_TTL = timedelta(minutes=10)


def digest(value: str) -> str:
    """What is stored of a session id or a login state: its SHA-256, so a copy of the table is worthless."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    """A session ends after `idle` without requests and after `max_age` in any case."""

    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)

    @classmethod
    def from_env(cls) -> SessionPolicy:
        idle = os.environ.get("RISCOSSA_SESSION_IDLE_MINUTES", "")
        max_age = os.environ.get("RISCOSSA_SESSION_MAX_HOURS", "")
        policy = cls(
            idle=timedelta(minutes=float(idle)) if idle else cls.idle,
            max_age=timedelta(hours=float(max_age)) if max_age else cls.max_age,
        )
        if policy.idle <= timedelta(0) or policy.max_age <= timedelta(0):
            raise ValueError("session timeouts must be positive")
        return policy


class LoginRefused(Exception):
    """A login the platform does not let in (a person unknown, or with no Comune): nothing of it is kept."""

    def __init__(self, reason: str, user_id: uuid.UUID | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id


# --------------------------------------------------------------------------------------- rate limits

PURGE_AFTER_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Limit:
    hits: int
    window_seconds: float

    @classmethod
    def parse(cls, raw: str, default: Limit) -> Limit:
        if not raw:
            return default
        hits, _, seconds = raw.partition("/")
        limit = cls(int(hits), float(seconds))
        if limit.hits < 1 or limit.window_seconds <= 0:
            raise ValueError(f"rate limit {raw!r}: expected <hits>/<seconds>, both positive")
        return limit


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0

    def with_hit(self, limit: Limit, hits: int, remaining: float) -> Verdict:
        """This verdict after one more bucket counted `hits`: refused, with the longest wait, if over."""
        if hits <= limit.hits:
            return self
        return Verdict(False, max(max(1, math.ceil(remaining)), self.retry_after))


def bucket(kind: str, value: str) -> str:
    # Hashed so the table never holds addresses, fiscal numbers or key ids in clear.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


# ----------------------------------------------------------------------------------- administration

COMUNE_ROLES = ("comune_viewer", "comune_admin")
ACTIONS = {
    "login": "Accesso",
    "login_failed": "Accesso non riuscito",
    "logout": "Uscita",
    "logout_everywhere": "Uscita da tutti i dispositivi",
    "tenant_enter": "Ingresso nel Comune",
    "tenant_switch": "Cambio Comune",
    "access_denied": "Accesso negato",
    "membership_added": "Abilitazione aggiunta",
    "membership_removed": "Abilitazione rimossa",
    "invitation_created": "Invito creato",
    "invitation_cancelled": "Invito annullato",
    "invitation_refused": "Invito non accettato",
    "tenant_created": "Comune creato",
    "dlq_read": "Lettura dei messaggi scartati (coda dei messaggi non elaborati)",
    "dlq_replay": "Rielaborazione dei messaggi scartati",
    "api_key_created": "Chiave API creata",
    "api_key_revoked": "Chiave API revocata",
}


def other_side(role: str, held: Iterable[str]) -> str | None:
    """A role in `held` on the other side of `role`: the collection firm's (operator, supervisor,
    platform administrator) against a Comune's tax office's (gateway migration 0007)."""
    office = role in COMUNE_ROLES
    return next((r for r in sorted(held) if (r in COMUNE_ROLES) != office), None)


def check_one_side(role: str, held: Iterable[str], who: str) -> None:
    """Refuse giving `who` a role of the other side of one they hold (at the role's field)."""
    found = other_side(role, held)
    if found is not None:
        label = roles.ROLE_LABELS.get(found, found)
        raise DomainError(
            f"{who} ha già il ruolo «{label}»: chi lavora per la società di riscossione non può avere "
            "anche un ruolo dell'Ufficio tributi di un Comune, né il contrario.",
            field="ruolo",
        )


# The role a Comune's supervisors grant and revoke there: the firm's operators who phone its taxpayers.
SUPERVISOR_ROLES = ("operator",)
# The roles that oversee a Comune's calls in the contact service (its work lists are edited there).
CALL_OVERSEERS = ("supervisor", "platform_admin")
WHO_ASSIGNS = {
    **dict.fromkeys(
        COMUNE_ROLES, "Solo gli amministratori del Comune e della piattaforma possono assegnare questo ruolo."
    ),
    "operator": "Solo i supervisori del Comune e gli amministratori della piattaforma possono assegnare questo ruolo.",
}


@dataclass(frozen=True)
class Actor:
    """The signed-in person on an administration page, with what their memberships let them do."""

    user_id: uuid.UUID
    display_name: str
    csrf: str
    ip: str
    platform_admin: bool
    member_of: frozenset[str]
    admin_of: frozenset[str]
    supervisor_of: frozenset[str] = frozenset()
    oversees: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, user_id: uuid.UUID, display_name: str, csrf: str, ip: str, roles: Iterable[tuple[str, str]]
    ) -> Actor:
        """The actor whose memberships are these (Comune slug, role) pairs."""
        pairs = list(roles)
        return cls(
            user_id=user_id,
            display_name=display_name,
            csrf=csrf,
            ip=ip,
            platform_admin=any(role == "platform_admin" for _, role in pairs),
            member_of=frozenset(slug for slug, _ in pairs),
            admin_of=frozenset(slug for slug, role in pairs if role == "comune_admin"),
            supervisor_of=frozenset(slug for slug, role in pairs if role == "supervisor"),
            oversees=frozenset(slug for slug, role in pairs if role in CALL_OVERSEERS),
        )

    def may_see(self, slug: str) -> bool:
        return self.platform_admin or slug in self.member_of

    def may_manage(self, slug: str) -> bool:
        """The Comune's whole administration (every page, its audit log)."""
        return self.platform_admin or slug in self.admin_of

    def may_assign(self, slug: str) -> bool:
        """The Comune's people page: its administrators, and its supervisors for the operators."""
        return self.may_manage(slug) or slug in self.supervisor_of

    def assignable(self, slug: str) -> tuple[str, ...]:
        """The roles this actor may grant or revoke on the Comune at `slug`."""
        return assignable_roles(self.platform_admin, slug in self.admin_of, slug in self.supervisor_of)

    def assigns_somewhere(self) -> frozenset[str]:
        """The Comuni whose people page is theirs (not counting platform administration)."""
        return self.admin_of | self.supervisor_of


def assignable_roles(
    platform_admin: bool, comune_admin: bool = True, supervisor: bool = False
) -> tuple[str, ...]:
    """The roles an administrator may grant or revoke: every role (platform administrators), the
    Comune roles (a Comune's administrators), the operator role (a Comune's supervisors)."""
    if platform_admin:
        return ROLES
    return (*(COMUNE_ROLES if comune_admin else ()), *(SUPERVISOR_ROLES if supervisor else ()))


def parse_identifier(raw: str) -> tuple[str | None, str | None]:
    """A fiscal code or an e-mail address -> (fiscal number, email), normalised."""
    value = raw.strip()
    if "@" in value:
        if not is_email(value):
            raise DomainError("Indirizzo e-mail non valido.", field="identificativo")
        return None, value.lower()
    code = value.upper().replace(" ", "")
    if not code:
        raise DomainError("Indica il codice fiscale o l'indirizzo e-mail.", field="identificativo")
    if len(code) != 16:
        raise DomainError(
            f"«{value[:40]}» non è un codice fiscale (16 caratteri) né un indirizzo e-mail.",
            field="identificativo",
        )
    if not codicefiscale.is_valid(code):
        raise DomainError("Codice fiscale non valido: controlla lettere e cifre.", field="identificativo")
    return code, None


def check_role(role: str, assignable: tuple[str, ...]) -> str:
    """`role` if it is one the actor may grant or revoke (`assignable`); refused in Italian."""
    if role not in ROLES:
        raise DomainError("Ruolo non valido.", field="ruolo")
    if role not in assignable:
        raise Forbidden(
            WHO_ASSIGNS.get(role, "Solo gli amministratori della piattaforma possono assegnare questo ruolo.")
        )
    return role


def check_new_tenant(slug: str, name: str) -> tuple[str, str]:
    """A new Comune's identifier and name, both refused at once when wrong (`FieldErrors`)."""
    slug, name = slug.strip().lower(), " ".join(name.split())
    found = Problems()
    if not name or len(name) > 200:
        found.add("nome", "Indica il nome del Comune (al massimo 200 caratteri).")
    if not SLUG_RE.match(slug):
        found.add(
            "slug",
            "Identificativo non valido: usa lettere minuscole, cifre e trattini (es. comune-di-esempio).",
        )
    found.raise_any()
    return slug, name


@dataclass(frozen=True)
class CommandActor:
    """Who runs a `riscossa` administration command, as the audit log names them (no account, no
    address: the command runs on the operator's shell)."""

    display_name: str
    user_id: uuid.UUID | None = None
    ip: str | None = None


def check_key_label(label: str) -> str:
    """A new API key's label: what the Comune's administrators will recognise it by."""
    label = " ".join(label.split())
    if not label or len(label) > 100:
        raise DomainError(
            "Indica a cosa serve la chiave (ad esempio «gestionale tributi»), al massimo 100 caratteri.",
            field="etichetta",
        )
    return label


def check_revocation(actor: Actor, user_id: uuid.UUID, role: str) -> None:
    """A Comune's administrator may not remove their own administrator role (they would lock themselves out)."""
    if user_id == actor.user_id and role == "comune_admin" and not actor.platform_admin:
        raise DomainError("Non puoi rimuovere la tua stessa abilitazione di amministratore.", "utente")


def invitation_mail(to: str, comune: str, role: str, inviter: str, login_url: str) -> Mail:
    """The e-mail that tells an invited person how to take up the role: log in, with SPID or the
    firm's own credentials (the login page offers what the deployment has), as the person the address names (the invitation becomes a membership at that login)."""
    label = roles.ROLE_LABELS.get(role, role)
    text = (
        f"Buongiorno,\n\n{inviter} ti ha invitato su Riscossa per il {comune} con il ruolo «{label}».\n\n"
        f"Per attivare l'abilitazione accedi da {login_url} con SPID o con le credenziali aziendali: "
        "l'invito vale per questo indirizzo e-mail e diventa attivo al tuo primo accesso. Resta in "
        "attesa finché chi l'ha inviato non lo annulla.\n\n"
        "Se non ti aspettavi questo messaggio puoi ignorarlo: senza il tuo accesso non succede nulla.\n"
    )
    return Mail(to=to, subject=f"Riscossa: invito per il {comune}", text=text)


def not_enabled(fiscal_number: str | None, email: str | None) -> str:
    """What a person on no Comune is told: whom to ask, and by what they can be invited."""
    by = [
        f"al tuo codice fiscale {fiscal_number}" if fiscal_number else "",
        f"al tuo indirizzo e-mail {email}" if email else "",
    ]
    named = " o ".join(b for b in by if b)
    return (
        "Accesso non autorizzato: il tuo utente non è abilitato su alcun Comune. Se lavori per l'Ufficio "
        "tributi di un Comune, chiedi all'amministratore del tuo Comune di invitarti; se lavori per la "
        "società di riscossione, chiedilo all'amministratore della piattaforma."
        + (f" L'invito va fatto {named}." if named else "")
        + " L'abilitazione è attiva dal tuo accesso successivo."
    )
