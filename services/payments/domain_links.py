"""Signed, expiring links to the taxpayer's public page (no login): what they carry and their check.

A link token is `<payload>.<signature>`, both base64url without padding: the payload is compact JSON
with the tenant, the debtor, what the page shows (positions' notices or a plan's) and the expiry as
a Unix time; the signature is HMAC-SHA256 under a key derived from the platform's secret for this
use only. Anything altered fails the signature; a valid token past its expiry is told apart so the
page can say the link expired. Pure: no I/O, no framework.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_VALIDITY = timedelta(days=30)
MAX_POSITIONS = 20
MAX_TOKEN_LENGTH = 2048
_PURPOSE = b"riscossa-public-notice-link-v1"


class LinkRefused(Exception):
    """The token is not one the platform signed, or was altered."""


class LinkExpired(Exception):
    """The token is genuine but past its expiry."""


@dataclass(frozen=True)
class LinkGrant:
    """What one link lets its holder see: one debtor's notices of some positions, or of a plan."""

    tenant_id: uuid.UUID
    debtor_id: uuid.UUID
    position_ids: tuple[uuid.UUID, ...]
    plan_id: uuid.UUID | None
    expires_at: datetime

    def __post_init__(self) -> None:
        if (self.plan_id is None) == (not self.position_ids):
            raise ValueError("a link shows either positions or a plan")
        if len(self.position_ids) > MAX_POSITIONS:
            raise ValueError(f"a link shows at most {MAX_POSITIONS} positions")
        if self.expires_at.tzinfo is None:
            raise ValueError("expires_at must be aware")


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _payload(grant: LinkGrant) -> bytes:
    body: dict[str, object] = {
        "t": grant.tenant_id.hex,
        "d": grant.debtor_id.hex,
        "x": int(grant.expires_at.timestamp()),
    }
    if grant.plan_id is not None:
        body["pl"] = grant.plan_id.hex
    else:
        body["p"] = [p.hex for p in grant.position_ids]
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def sign(grant: LinkGrant, secret: str) -> str:
    """The token of a link (URL-safe, a few hundred characters)."""
    payload = _payload(grant)
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def _grant(body: dict[str, object]) -> LinkGrant:
    positions = body.get("p", [])
    plan = body.get("pl")
    expiry = body["x"]
    if not isinstance(positions, list) or not isinstance(expiry, int) or isinstance(expiry, bool):
        raise ValueError("bad payload")
    return LinkGrant(
        tenant_id=uuid.UUID(hex=str(body["t"])),
        debtor_id=uuid.UUID(hex=str(body["d"])),
        position_ids=tuple(uuid.UUID(hex=str(p)) for p in positions),
        plan_id=uuid.UUID(hex=str(plan)) if plan is not None else None,
        expires_at=datetime.fromtimestamp(expiry).astimezone(),
    )


def verify(token: str, secret: str, now: datetime) -> LinkGrant:
    """The grant a token carries; `LinkRefused` if it was not signed here or was altered,
    `LinkExpired` if it is past its expiry at `now` (aware)."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise LinkRefused("malformed token")
    encoded, signature = token.split(".")
    try:
        payload, sent = _unb64(encoded), _unb64(signature)
    except (binascii.Error, ValueError):
        raise LinkRefused("not base64") from None
    expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(sent, expected):
        raise LinkRefused("bad signature")
    try:
        body = json.loads(payload)
        if not isinstance(body, dict):
            raise ValueError("not an object")
        grant = _grant(body)
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        raise LinkRefused("bad payload") from None
    if now >= grant.expires_at:
        raise LinkExpired("expired")
    return grant


# A link to the notices of a plan lasts until its last installment is due (and the day after),
# within a year; the reminders before each installment bring fresh links for longer plans.
LONGEST_LINK = timedelta(days=366)


def expiry(now: datetime, days: int, last_due: date | None = None) -> datetime:
    """When a link made at `now` stops working: `days` later (at least one), or when the notices
    it shows are all past due (the day after `last_due`, in Rome), whichever is later, within a
    year."""
    until = now + timedelta(days=max(days, 1))
    if last_due is not None:
        after_due = datetime.combine(last_due + timedelta(days=2), time(0), ZoneInfo("Europe/Rome"))
        until = max(until, min(after_due, now + LONGEST_LINK))
    return until
