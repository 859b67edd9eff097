"""Shared set-up for gateway tests: tenants, people with roles, signed-in clients."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, replace

import httpx
import sqlalchemy as sa

from gateway import repository
from gateway.app import SESSION_COOKIE, Gateway
from gateway.proxy import Upstream
from services.platform import Platform


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    name: str


def make_gateway(platform: Platform, upstreams: dict[str, Upstream] | None = None) -> Gateway:
    settings = replace(platform.settings, mode="dev", dev_login=True)
    db = platform.databases["gateway"]
    return Gateway(settings, db, platform.signer, platform.storage, platform.bus, upstreams or {})


def client(gw: Gateway, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=gw, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


async def make_tenant(platform: Platform, prefix: str = "comune") -> repository.Tenant:
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        tenant_id = await repository.upsert_tenant(uow, slug, f"Comune di {slug}")
        await uow.commit()
    return repository.Tenant(tenant_id, slug, f"Comune di {slug}")


async def make_person(
    platform: Platform,
    roles: dict[uuid.UUID, str] | None = None,
    fiscal_number: str | None = None,
    email: str | None = None,
) -> Person:
    db = platform.databases["gateway"]
    name = f"Persona {uuid.uuid4().hex[:6]}"
    async with db.unit_of_work(None) as uow:
        user_id = await repository.upsert_user(uow, f"login-{uuid.uuid4().hex}", name, email)
        if fiscal_number:
            await uow.execute(
                sa.text("UPDATE gateway.users SET fiscal_number = :f WHERE id = :u"),
                {"f": fiscal_number, "u": user_id},
            )
        await uow.commit()
    for tenant_id, role in (roles or {}).items():
        async with db.unit_of_work(tenant_id) as uow:
            await repository.add_membership(uow, tenant_id, user_id, role)
            await uow.commit()
    return Person(user_id, name)


async def sign_in(gw: Gateway, c: httpx.AsyncClient, person: Person) -> str:
    """Give the client a signed-in session for the person; returns its CSRF token.

    The one place that knows how the gateway stores sessions.
    """
    session = await gw.sessions_store.create(person.id)
    c.cookies.set(SESSION_COOKIE, session.cookie)
    return session.csrf


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]+)<', html)
    return found.group(1) if found else ""


def random_fiscal_code() -> str:
    from stdnum.it import codicefiscale

    rnd = secrets.SystemRandom()
    letters = "".join(rnd.choice("BCDFGHLMNPRSTVZ") for _ in range(6))
    body = f"{letters}{rnd.randint(40, 99):02d}{rnd.choice('ABCDEHLMPRST')}{rnd.randint(1, 28):02d}H501"
    return body + str(codicefiscale.calc_check_digit(body))
