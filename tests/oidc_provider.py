"""The test OpenID provider (tests/oidc/provider.mjs on node) and helpers to log in through it.

Needs `npm ci --prefix tests/oidc` (the Makefile runs it). One provider serves the whole test
session, with a pool of accounts so that every test uses its own people.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from joserfc.jwk import RSAKey

from gateway.oidc import ProviderConfig
from tests.gateway.helpers import random_fiscal_code

HERE = Path(__file__).resolve().parent / "oidc"
SPID_L1, SPID_L2 = "https://www.spid.gov.it/SpidL1", "https://www.spid.gov.it/SpidL2"
CLIENT_SECRET = "riscossa-test-client-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Account:
    login: str
    password: str
    sub: str
    acr: str
    claims: dict[str, Any]

    @property
    def fiscal_code(self) -> str:
        return str(self.claims["https://attributes.eid.gov.it/fiscal_number"]).removeprefix("TINIT-")

    @property
    def email(self) -> str:
        return str(self.claims["email"])


@dataclass
class OpenIdProvider:
    issuer: str
    gateway_base: str
    key: RSAKey
    accounts: dict[str, list[Account]]
    process: subprocess.Popen[bytes] | None = None
    used: set[str] = field(default_factory=set)

    def take(self, kind: str) -> Account:
        """An account nobody else used in this run: "spid" (L2), "spid-l1", or "staff" (e-mail, no CF)."""
        account = next(a for a in self.accounts[kind] if a.login not in self.used)
        self.used.add(account.login)
        return account

    def configs(self) -> list[ProviderConfig]:
        return [
            ProviderConfig.from_dict(
                {
                    "name": "spid",
                    "label": "Entra con SPID",
                    "issuer": self.issuer,
                    "client_id": "riscossa-spid",
                    "private_key": self.key.as_dict(private=True),
                    "spid": True,
                    "request_object": True,
                }
            ),
            ProviderConfig.from_dict(
                {
                    "name": "staff",
                    "label": "Accesso personale",
                    "issuer": self.issuer,
                    "client_id": "riscossa-staff",
                    "client_secret": CLIENT_SECRET,
                    "scope": "openid email profile",
                    "trust_email": True,
                }
            ),
        ]


def _accounts(run: str) -> dict[str, list[Account]]:
    def spid(n: int, acr: str) -> Account:
        claims = {
            "https://attributes.eid.gov.it/fiscal_number": f"TINIT-{random_fiscal_code()}",
            "given_name": "MARIA",
            "family_name": f"ROSSI {n}",
        }
        return Account(f"spid{n}", f"pw-spid{n}", f"spid-sub-{run}-{n}", acr, claims)

    def staff(n: int) -> Account:
        claims = {
            "email": f"staff{n}-{run}@example.test",
            "email_verified": True,
            "given_name": "Ottavia",
            "family_name": f"Personale {n}",
        }
        return Account(f"staff{n}", f"pw-staff{n}", f"staff-sub-{run}-{n}", SPID_L2, claims)

    return {
        "spid": [spid(n, SPID_L2) for n in range(40)],
        "spid-l1": [spid(100 + n, SPID_L1) for n in range(5)],
        "staff": [staff(n) for n in range(40)],
    }


def start_provider(tmp: Path, gateway_port: int, run: str) -> OpenIdProvider:
    port = free_port()
    gateway_base = f"http://127.0.0.1:{gateway_port}"
    key = RSAKey.generate_key(2048, auto_kid=True)
    accounts = _accounts(run)
    public = key.as_dict(private=False) | {"use": "sig", "alg": "RS256"}
    common = {
        "post_logout_redirect_uris": [f"{gateway_base}/login"],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
    }
    clients = [
        common
        | {
            "client_id": "riscossa-spid",
            "redirect_uris": [f"{gateway_base}/login/oidc/spid/callback"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "RS256",
            "request_object_signing_alg": "RS256",
            "jwks": {"keys": [public]},
        },
        common
        | {
            "client_id": "riscossa-staff",
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{gateway_base}/login/oidc/staff/callback"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    ]
    config = {
        "port": port,
        "clients": clients,
        "accounts": [a.__dict__ for pool in accounts.values() for a in pool],
    }
    path = tmp / "provider.json"
    path.write_text(json.dumps(config))
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs"), str(path)],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("ready "):
        process.kill()
        process.wait()
        process.stdout.close()
        raise RuntimeError(
            f"test OpenID provider did not start: {line!r} (run `npm ci --prefix tests/oidc`?)"
        )
    issuer = line.split()[1]
    _wait(issuer)
    return OpenIdProvider(issuer, gateway_base, key, accounts, process)


def _wait(issuer: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def stop_provider(provider: OpenIdProvider) -> None:
    if provider.process is not None:
        provider.process.terminate()
        provider.process.wait(timeout=10)
        if provider.process.stdout is not None:
            provider.process.stdout.close()


# ---------------------------------------------------------------------------------- driving a login


async def through_provider(
    op: httpx.AsyncClient, url: str, account: Account | None, gateway_base: str, consent: bool = True
) -> str:
    """Follow the provider's pages from the authorization URL; returns the gateway URL it sends back to.

    `op` keeps the provider's cookies, like a browser; `account` None means already signed in there.
    """
    for _ in range(20):
        if url.startswith(gateway_base):
            return url
        response = await op.get(url)
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            continue
        assert response.status_code == 200, response.text
        action = _form_action(response.text, ("/login", "/confirm"))
        if action.endswith("/login"):
            assert account is not None, "the provider asks for credentials"
            data = {"login": account.login, "password": account.password}
        elif not consent:
            action = action.replace("/confirm", "/abort")
            data = {}
        else:
            data = {}
        response = await op.post(urljoin(url, action), data=data)
        assert response.is_redirect, response.text
        url = urljoin(url, response.headers["location"])
    raise AssertionError("too many redirects at the provider")


def _form_action(html: str, endings: tuple[str, ...]) -> str:
    import re

    for action in re.findall(r'<form method="post" action="([^"]+)"', html):
        if action.endswith(endings):
            return str(action)
    raise AssertionError(f"no form in {html[:300]}")
