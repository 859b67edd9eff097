"""All gateway queries. Tenants and users are global registries; memberships and API keys are
tenant-owned (row-level security), read across tenants only for the signed-in user's own rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gateway.models import api_keys, memberships, tenants, users
from services.kernel.db import UnitOfWork

# Queries that run before a tenant is known, or over global registries (see the tenant-scoping lint).
UNSCOPED = {
    "as_user": "sets the signed-in user so their own memberships are visible across tenants",
    "user_memberships": "the user's own memberships across tenants, filtered by RLS policy own_memberships",
    "get_user": "users are a global registry (one person may work for several Comuni)",
    "list_users": "users are a global registry; only used by the development login",
    "upsert_tenant": "tenants are the global registry that defines tenancy",
    "upsert_user": "users are a global registry",
    "find_api_key": "resolves which tenant a key belongs to, before any tenant is known",
}


@dataclass(frozen=True)
class Membership:
    tenant_id: uuid.UUID
    slug: str
    name: str
    role: str


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    login: str
    display_name: str


async def as_user(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    await uow.execute(sa.text("SELECT set_config('app.user_id', :u, true)"), {"u": str(user_id)})


async def user_memberships(uow: UnitOfWork, user_id: uuid.UUID) -> list[Membership]:
    await as_user(uow, user_id)
    rows = await uow.execute(
        sa.select(tenants.c.id, tenants.c.slug, tenants.c.name, memberships.c.role)
        .join(memberships, memberships.c.tenant_id == tenants.c.id)
        .where(memberships.c.user_id == user_id)
        .order_by(tenants.c.name, memberships.c.role)
    )
    return [Membership(r.id, r.slug, r.name, r.role) for r in rows]


async def get_user(uow: UnitOfWork, user_id: uuid.UUID) -> User | None:
    row = (await uow.execute(sa.select(users).where(users.c.id == user_id))).first()
    return User(row.id, row.login, row.display_name) if row else None


async def list_users(uow: UnitOfWork) -> list[User]:
    rows = await uow.execute(sa.select(users).order_by(users.c.display_name))
    return [User(r.id, r.login, r.display_name) for r in rows]


async def tenant_by_id(uow: UnitOfWork, tenant_id: uuid.UUID) -> tuple[str, str] | None:
    row = (
        await uow.execute(sa.select(tenants.c.slug, tenants.c.name).where(tenants.c.id == tenant_id))
    ).first()
    return (row.slug, row.name) if row else None


async def upsert_tenant(uow: UnitOfWork, slug: str, name: str) -> uuid.UUID:
    insert = pg_insert(tenants).values(id=uuid.uuid4(), slug=slug, name=name)
    stmt = insert.on_conflict_do_update(index_elements=[tenants.c.slug], set_={"name": name}).returning(
        tenants.c.id
    )
    tenant_id: uuid.UUID = (await uow.execute(stmt)).scalar_one()
    return tenant_id


async def upsert_user(uow: UnitOfWork, login: str, display_name: str, email: str | None = None) -> uuid.UUID:
    insert = pg_insert(users).values(id=uuid.uuid4(), login=login, display_name=display_name, email=email)
    stmt = insert.on_conflict_do_update(
        index_elements=[users.c.login], set_={"display_name": display_name, "email": email}
    ).returning(users.c.id)
    user_id: uuid.UUID = (await uow.execute(stmt)).scalar_one()
    return user_id


async def add_membership(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    await uow.execute(
        pg_insert(memberships)
        .values(tenant_id=tenant_id, user_id=user_id, role=role)
        .on_conflict_do_nothing()
    )


async def create_api_key(
    uow: UnitOfWork, tenant_id: uuid.UUID, label: str, prefix: str, key_hash: str
) -> uuid.UUID:
    key_id = uuid.uuid4()
    await uow.execute(
        sa.insert(api_keys).values(
            id=key_id, tenant_id=tenant_id, label=label, prefix=prefix, key_hash=key_hash
        )
    )
    return key_id


async def revoke_api_keys(uow: UnitOfWork, tenant_id: uuid.UUID, label: str) -> None:
    await uow.execute(
        sa.update(api_keys)
        .where(api_keys.c.tenant_id == tenant_id, api_keys.c.label == label, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
    )


async def find_api_key(uow: UnitOfWork, key_hash: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(key id, tenant id) of a valid key, found before any tenant is known (SECURITY DEFINER)."""
    row = (
        await uow.execute(sa.text("SELECT key_id, tenant_id FROM gateway.find_api_key(:h)"), {"h": key_hash})
    ).first()
    return (row.key_id, row.tenant_id) if row else None
