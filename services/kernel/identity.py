"""The short-lived signed identity the gateway passes to every service, and its verification."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.kernel.logs import tenant_var, user_name_var

IDENTITY_HEADER = "x-riscossa-identity"
PUBLIC_PATHS = ("/healthz", "/readyz")


class IdentityRejected(Exception):
    pass


@dataclass(frozen=True)
class Identity:
    user_id: str
    display_name: str
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    roles: tuple[str, ...]
    via: str = "session"
    csrf_token: str = ""
    tenants: tuple[tuple[str, str], ...] = ()

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def to_json(self) -> str:
        data = asdict(self)
        data["tenant_id"] = str(self.tenant_id)
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str) -> Identity:
        data = json.loads(raw)
        data["tenant_id"] = uuid.UUID(data["tenant_id"])
        data["roles"] = tuple(data["roles"])
        data["tenants"] = tuple((str(slug), str(name)) for slug, name in data.get("tenants", ()))
        return cls(**data)


class IdentitySigner:
    def __init__(self, secret: str, ttl_seconds: int = 60) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="riscossa-identity")
        self.ttl = ttl_seconds

    def sign(self, identity: Identity) -> str:
        return str(self._serializer.dumps(identity.to_json()))

    def verify(self, token: str) -> Identity:
        try:
            raw = self._serializer.loads(token, max_age=self.ttl)
        except SignatureExpired as exc:
            raise IdentityRejected("identity expired") from exc
        except BadSignature as exc:
            raise IdentityRejected("identity signature invalid") from exc
        try:
            return Identity.from_json(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise IdentityRejected("identity malformed") from exc


# A person of a Comune named to a service by the gateway, which alone knows the Comune's people: the
# work-list editor is opened for an operator only through a link the gateway signed.
SUBJECT_SALT = "riscossa-subject"
SUBJECT_TTL_SECONDS = 12 * 3600


def sign_subject(secret: str, tenant_id: uuid.UUID, user_id: str, name: str) -> str:
    """A token saying the gateway vouches that `user_id` (named `name`) is of this Comune."""
    return str(URLSafeTimedSerializer(secret, salt=SUBJECT_SALT).dumps([str(tenant_id), user_id, name]))


def subject_name(secret: str, token: str, tenant_id: uuid.UUID, user_id: str) -> str | None:
    """The name the gateway gave `user_id` of this Comune in `token` (at most 12 hours old), or
    None when the token is missing, forged, expired or about someone else."""
    try:
        tenant, user, name = URLSafeTimedSerializer(secret, salt=SUBJECT_SALT).loads(
            token, max_age=SUBJECT_TTL_SECONDS
        )
    except (BadSignature, ValueError, TypeError):
        return None
    return str(name) if (tenant, user) == (str(tenant_id), user_id) else None


class IdentityMiddleware:
    """Refuses every request without a valid identity, and any `/t/<slug>/` path of another tenant."""

    def __init__(self, app: ASGIApp, signer: IdentitySigner) -> None:
        self.app = app
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        token = Headers(scope=scope).get(IDENTITY_HEADER)
        try:
            if not token:
                raise IdentityRejected("identity missing")
            identity = self.signer.verify(token)
        except IdentityRejected as exc:
            await _refuse(scope, receive, send, 401, f"Accesso non autorizzato ({exc}).")
            return
        parts = scope["path"].split("/")
        if len(parts) > 2 and parts[1] == "t" and parts[2] != identity.tenant_slug:
            await _refuse(scope, receive, send, 404, "Pagina non trovata.")
            return
        scope.setdefault("state", {})["identity"] = identity
        tenant_token = tenant_var.set(str(identity.tenant_id))
        name_token = user_name_var.set(identity.display_name or "")
        try:
            await self.app(scope, receive, send)
        finally:
            user_name_var.reset(name_token)
            tenant_var.reset(tenant_token)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    if scope["path"].startswith("/api/"):
        response: JSONResponse | PlainTextResponse = JSONResponse({"error": message}, status_code=status)
    else:
        response = PlainTextResponse(message, status_code=status)
    await response(scope, receive, send)
