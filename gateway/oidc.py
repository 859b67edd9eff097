"""OpenID Connect relying party: any provider found by discovery, with the SPID options.

Providers come from `RISCOSSA_OIDC_PROVIDERS`, a JSON list of objects:
`name`, `label` (shown on the login page), `issuer` (and optionally `discovery_url`), `client_id`,
then either `client_secret` or `private_key` (PEM or JWK, as text or object; or `private_key_file`)
for `private_key_jwt`; `scope` (default "openid"); `spid` (true: `acr_values` default
https://www.spid.gov.it/SpidL2, a minimum `min_acr` with the same default, and the claims request for
the fiscal number, given and family name); `request_object` (true: a signed `request` parameter);
`trust_fiscal_number` (default: as `spid`; match people by the asserted fiscal number) and
`trust_email` (default false; accept invitations addressed to the verified e-mail). A person already
known is matched by issuer and subject first; e-mail never matches an existing person.

The flow is the authorization code with PKCE S256; state and nonce are checked, the ID token's
signature, issuer, audience, expiry, nonce and acr are verified here rather than trusted (the claim
rules themselves, without I/O, are in `domain_oidc`).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwe, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from gateway.domain_oidc import (
    DEFAULT_SPID_ACR,
    FISCAL_NUMBER,
    LoginRejected,
    LoginResult,
    check_id_token_claims,
)

SIGNING_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TIMEOUT = httpx.Timeout(10.0)

PrivateKey = RSAKey | ECKey | OKPKey


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    label: str
    issuer: str
    client_id: str
    client_secret: str | None = None
    private_key: PrivateKey | None = None
    discovery_url: str | None = None
    scope: str = "openid"
    acr_values: str | None = None
    min_acr: str | None = None
    request_claims: bool = False
    request_object: bool = False
    trust_fiscal_number: bool = False
    trust_email: bool = False

    @property
    def auth_method(self) -> str:
        return "private_key_jwt" if self.private_key is not None else "client_secret_basic"

    @property
    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ProviderConfig:
        spid = bool(raw.get("spid", False))
        key = _load_key(raw)
        if key is None and not raw.get("client_secret"):
            raise ValueError(f"OIDC provider {raw.get('name')!r}: client_secret or private_key required")
        if raw.get("request_object") and key is None:
            raise ValueError(f"OIDC provider {raw.get('name')!r}: request_object needs a private_key")
        acr_values = raw.get("acr_values", DEFAULT_SPID_ACR if spid else None)
        return cls(
            name=str(raw["name"]),
            label=str(raw.get("label") or raw["name"]),
            issuer=str(raw["issuer"]),
            client_id=str(raw["client_id"]),
            client_secret=raw.get("client_secret"),
            private_key=key,
            discovery_url=raw.get("discovery_url"),
            scope=str(raw.get("scope", "openid")),
            acr_values=acr_values,
            # Whatever level is asked for is also the minimum accepted, unless configured otherwise.
            min_acr=raw.get("min_acr", acr_values.split()[0] if acr_values else None),
            request_claims=bool(raw.get("claims", spid)),
            request_object=bool(raw.get("request_object", False)),
            # Identity claims are trusted only from providers that vouch for them (opt-in): otherwise a
            # provider could assert someone else's fiscal number or e-mail and take over their account.
            trust_fiscal_number=bool(raw.get("trust_fiscal_number", spid)),
            trust_email=bool(raw.get("trust_email", False)),
        )


def providers_from_env(environ: dict[str, str] | None = None) -> list[ProviderConfig]:
    raw = (environ if environ is not None else dict(os.environ)).get("RISCOSSA_OIDC_PROVIDERS", "")
    if not raw.strip():
        return []
    configs = [ProviderConfig.from_dict(item) for item in json.loads(raw)]
    if len({c.name for c in configs}) != len(configs):
        raise ValueError("RISCOSSA_OIDC_PROVIDERS: provider names must be unique")
    return configs


def _load_key(raw: dict[str, Any]) -> PrivateKey | None:
    value: Any = raw.get("private_key")
    if raw.get("private_key_file"):
        value = Path(str(raw["private_key_file"])).read_text()
    if not value:
        return None
    if isinstance(value, str) and value.lstrip().startswith("{"):
        value = json.loads(value)
    if isinstance(value, dict):
        kty = value.get("kty")
        key: PrivateKey = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}[str(kty)].import_key(value)  # type: ignore[attr-defined]
    else:
        key = RSAKey.import_key(str(value))
    if not key.is_private:
        raise ValueError(f"OIDC provider {raw.get('name')!r}: private_key is not a private key")
    if not key.kid:
        key.ensure_kid()
    return key


def public_jwks(configs: list[ProviderConfig]) -> dict[str, Any]:
    """The relying party's public keys (`/.well-known/jwks.json`)."""
    keys: dict[str, dict[str, Any]] = {}
    for config in configs:
        if config.private_key is not None:
            public = config.private_key.as_dict(private=False)
            public.setdefault("use", "sig")
            public.setdefault("alg", _alg(config.private_key))
            keys[str(public["kid"])] = public
    return {"keys": list(keys.values())}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _alg(key: PrivateKey) -> str:
    if isinstance(key, RSAKey):
        return "RS256"
    if isinstance(key, ECKey):
        return "ES256"
    return "EdDSA"


# ----------------------------------------------------------------------------------------- client


@dataclass
class OidcClient:
    config: ProviderConfig
    redirect_uri: str
    transport: httpx.AsyncBaseTransport | None = None
    _metadata: dict[str, Any] | None = field(default=None, init=False)
    _jwks: KeySet | None = field(default=None, init=False)

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=TIMEOUT)

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with self._http() as http:
                response = await http.get(self.config.discovery)
                response.raise_for_status()
                data = response.json()
            if data.get("issuer") != self.config.issuer:
                raise LoginRejected("discovery_issuer_mismatch")
            self._metadata = data
        return self._metadata

    async def keys(self, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            async with self._http() as http:
                response = await http.get((await self.metadata())["jwks_uri"])
                response.raise_for_status()
                self._jwks = KeySet.import_key_set(response.json())
        return self._jwks

    def _client_auth(self, token_endpoint: str) -> tuple[dict[str, str], httpx.BasicAuth | None]:
        """Form fields and HTTP auth that authenticate the client at the token endpoint."""
        config = self.config
        if config.private_key is None:
            return {}, httpx.BasicAuth(
                quote(config.client_id, safe=""), quote(config.client_secret or "", safe="")
            )
        assertion = private_key_jwt_sign(
            config.private_key,
            client_id=config.client_id,
            token_endpoint=token_endpoint,
            alg=_alg(config.private_key),
            header={"kid": config.private_key.kid},
            expires_in=120,
        )
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": _text(assertion)}, None

    async def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        metadata = await self.metadata()
        config = self.config
        params: dict[str, Any] = {
            "client_id": config.client_id,
            "response_type": "code",
            "scope": config.scope,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        if config.acr_values:
            params["acr_values"] = config.acr_values
        if config.request_claims:
            wanted = {FISCAL_NUMBER: {"essential": True}, "given_name": None, "family_name": None}
            params["claims"] = json.dumps({"userinfo": wanted, "id_token": {"acr": {"essential": True}}})
        if config.request_object and config.private_key is not None:
            now = int(time.time())
            claims = {
                **params,
                "iss": config.client_id,
                "aud": config.issuer,
                "iat": now,
                "exp": now + 300,
                "jti": secrets.token_urlsafe(16),
            }
            if "claims" in claims:
                claims["claims"] = json.loads(claims["claims"])
            header = {"alg": _alg(config.private_key), "kid": config.private_key.kid}
            request = jwt.encode(header, claims, config.private_key)
            # SPID wants client_id, response_type and scope both outside and inside the request object.
            params = {k: params[k] for k in ("client_id", "response_type", "scope")} | {"request": request}
        return f"{metadata['authorization_endpoint']}?{urlencode(params)}"

    async def exchange(self, code: str, code_verifier: str | None) -> dict[str, Any]:
        """The token response for an authorization code; LoginRejected if the provider refuses it."""
        endpoint = (await self.metadata())["token_endpoint"]
        fields, auth = self._client_auth(endpoint)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri, **fields}
        if code_verifier:
            form["code_verifier"] = code_verifier
        async with self._http() as http:
            try:
                response = await http.post(endpoint, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT)
                token = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise LoginRejected("token_request_failed") from exc
        if response.status_code != 200:
            raise LoginRejected(f"token_request_refused:{str(token.get('error', ''))[:40]}")
        if not isinstance(token, dict) or not token.get("id_token"):
            raise LoginRejected("token_response_without_id_token")
        return dict(token)

    async def verify_id_token(self, id_token: str, nonce: str, now: float | None = None) -> dict[str, Any]:
        claims = await self._verified_jwt(id_token)
        check_id_token_claims(
            claims,
            issuer=self.config.issuer,
            client_id=self.config.client_id,
            nonce=nonce,
            min_acr=self.config.min_acr,
            now=time.time() if now is None else now,
        )
        return claims

    async def _verified_jwt(self, token: str) -> dict[str, Any]:
        for refresh in (False, True):  # the provider may have rotated its keys since we fetched them
            try:
                decoded = jwt.decode(token, await self.keys(refresh), algorithms=SIGNING_ALGS)
                return dict(decoded.claims)
            except (JoseError, ValueError) as exc:
                if refresh:
                    raise LoginRejected("id_token_bad_signature") from exc
        raise AssertionError("unreachable")

    async def userinfo(self, access_token: str | None, subject: str) -> dict[str, Any]:
        """Claims from the userinfo endpoint (plain JSON, signed, or signed and encrypted as in SPID)."""
        endpoint = (await self.metadata()).get("userinfo_endpoint")
        if not endpoint or not access_token:
            return {}
        async with self._http() as http:
            response = await http.get(endpoint, headers={"authorization": f"Bearer {access_token}"})
        if response.status_code != 200:
            raise LoginRejected("userinfo_refused")
        if response.headers.get("content-type", "").startswith("application/json"):
            claims = dict(response.json())
        else:
            claims = await self._verified_jwt(self._decrypt(response.text.strip()))
        if claims.get("sub") != subject:
            raise LoginRejected("userinfo_subject_mismatch")
        return claims

    def _decrypt(self, token: str) -> str:
        if token.count(".") != 4:
            return token
        if self.config.private_key is None:
            raise LoginRejected("userinfo_encrypted_without_key")
        try:
            return jwe.decrypt_compact(token, self.config.private_key).plaintext.decode()  # type: ignore[union-attr]
        except (JoseError, ValueError) as exc:
            raise LoginRejected("userinfo_undecryptable") from exc

    async def complete(self, code: str, code_verifier: str | None, nonce: str) -> LoginResult:
        token = await self.exchange(code, code_verifier)
        claims = await self.verify_id_token(str(token["id_token"]), nonce)
        info = await self.userinfo(token.get("access_token"), str(claims["sub"]))
        merged = {**info, **claims}
        return LoginResult(
            self.config.issuer, str(claims["sub"]), merged, str(token["id_token"]), claims.get("acr")
        )

    async def end_session_url(self, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's session too (RP-initiated logout)."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except (httpx.HTTPError, LoginRejected):
            return None
        if not endpoint:
            return None
        params = {"client_id": self.config.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(params)}"
