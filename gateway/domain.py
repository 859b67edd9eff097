"""Gateway rules without I/O: API keys, roles, and which service owns which path."""

from __future__ import annotations

import hashlib
import re
import secrets

SERVICE_PATHS = ("ingest", "contact", "payments", "reporting")
ROLES = ("comune_viewer", "comune_admin", "operator", "supervisor", "platform_admin")
API_ROLE = "api"
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


def split_api_path(path: str) -> str | None:
    """`/api/v1/<service>/...` -> service; None otherwise."""
    parts = path.split("/")
    if len(parts) > 4 and parts[1] == "api" and parts[2] == "v1" and parts[3] in SERVICE_PATHS:
        return parts[3]
    return None
