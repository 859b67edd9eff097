"""Gateway queries on tenants, users, memberships, API keys, invitations, linked identities and rate
limits (sessions: `repository_sessions`; audit log: `repository_audit`). Tenants and users are global
registries; memberships, API keys and invitations are tenant-owned (row-level security), read across
tenants only for the signed-in user's own rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gateway.models import api_keys, invitations, memberships, tenants, user_identities, users
from services.kernel.db import SET_TENANT, UnitOfWork

# Queries that run before a tenant is known, or over global registries (see the tenant-scoping lint).
UNSCOPED = {
    "as_user": "sets the signed-in user so their own memberships are visible across tenants",
    "user_memberships": "the user's own memberships across tenants, filtered by RLS policy own_memberships",
    "get_user": "users are a global registry (one person may work for several Comuni)",
    "list_users": "users are a global registry; only used by the development login",
    "upsert_tenant": "tenants are the global registry that defines tenancy",
    "upsert_user": "users are a global registry",
    "find_api_key": "resolves which tenant a key belongs to, before any tenant is known",
    "create_tenant": "tenants are the global registry that defines tenancy (platform administrators only)",
    "list_tenants": "tenants are the global registry; listed for platform administrators",
    "tenant_named": "tenants are the global registry: a new Comune's name must be its own",
    "tenant_by_slug": "resolves the URL's Comune before its tenant id is known",
    "find_user": "users are a global registry, matched by fiscal number or e-mail address",
    "codes_of": "users are a global registry: the person's own fiscal number and e-mail address",
    "accept_invitations": "at a first login the Comuni are not known yet (SECURITY DEFINER, see 0004)",
    "other_side_role": "a person's roles in every Comune: firm or tax office, never both (SECURITY DEFINER, 0007)",
    "match_user": "users are a global registry; a login happens before any Comune is known",
    "create_user": "users are a global registry",
    "link_identity": "users are a global registry; identities belong to a user, not to a Comune",
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


MEMBERSHIPS = (
    sa.select(tenants.c.id, tenants.c.slug, tenants.c.name, memberships.c.role)
    .join(memberships, memberships.c.tenant_id == tenants.c.id)
    .where(memberships.c.user_id == sa.bindparam("user_id", type_=sa.Uuid))
    .order_by(tenants.c.name, memberships.c.role)
)


async def user_memberships(uow: UnitOfWork, user_id: uuid.UUID, as_set: bool = False) -> list[Membership]:
    """The person's memberships; `as_set`: the transaction's `app.user_id` is already theirs
    (`repository_sessions.find_session` set it)."""
    if not as_set:
        await as_user(uow, user_id)
    rows = await uow.execute(MEMBERSHIPS, {"user_id": user_id})
    return [Membership(r.id, r.slug, r.name, r.role) for r in rows]


async def get_user(uow: UnitOfWork, user_id: uuid.UUID) -> User | None:
    row = (await uow.execute(sa.select(users).where(users.c.id == user_id))).first()
    return User(row.id, row.login, row.display_name) if row else None


async def codes_of(uow: UnitOfWork, user_id: uuid.UUID) -> tuple[str | None, str | None]:
    """The person's fiscal number and e-mail address as recorded (either may be missing)."""
    stmt = sa.select(users.c.fiscal_number, users.c.email).where(users.c.id == user_id)
    row = (await uow.execute(stmt)).first()
    return (row.fiscal_number, row.email) if row else (None, None)


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


async def add_membership(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> bool:
    """True if the membership is new."""
    result = await uow.execute(
        pg_insert(memberships)
        .values(tenant_id=tenant_id, user_id=user_id, role=role)
        .on_conflict_do_nothing()
        .returning(memberships.c.role)
    )
    return result.first() is not None


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


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    slug: str
    name: str


@dataclass(frozen=True)
class Member:
    user_id: uuid.UUID
    display_name: str
    email: str | None
    fiscal_number: str | None
    role: str


@dataclass(frozen=True)
class Invitation:
    id: uuid.UUID
    fiscal_number: str | None
    email: str | None
    role: str
    created_at: datetime
    # Refused when the person logged in: the role would have put them on both sides.
    refused_at: datetime | None = None


async def create_tenant(uow: UnitOfWork, slug: str, name: str) -> uuid.UUID | None:
    """The new tenant's id, or None if the slug is taken."""
    stmt = (
        pg_insert(tenants)
        .values(id=uuid.uuid4(), slug=slug, name=name)
        .on_conflict_do_nothing(index_elements=[tenants.c.slug])
        .returning(tenants.c.id)
    )
    row = (await uow.execute(stmt)).first()
    return row.id if row else None


async def tenant_named(uow: UnitOfWork, name: str) -> Tenant | None:
    """The Comune of this name, whatever its case and spacing."""
    normal = sa.func.lower(sa.func.regexp_replace(tenants.c.name, r"\s+", " ", "g"))
    stmt = sa.select(tenants.c.id, tenants.c.slug, tenants.c.name).where(
        normal == " ".join(name.lower().split())
    )
    row = (await uow.execute(stmt.limit(1))).first()
    return Tenant(row.id, row.slug, row.name) if row else None


async def add_first_membership(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    """The first membership of a Comune created in this transaction: the rest of the transaction
    is scoped to it (row-level security checks the membership against the current Comune)."""
    await uow.execute(SET_TENANT, {"t": str(tenant_id)})
    await add_membership(uow, tenant_id, user_id, role)


async def list_tenants(uow: UnitOfWork) -> list[Tenant]:
    rows = await uow.execute(sa.select(tenants.c.id, tenants.c.slug, tenants.c.name).order_by(tenants.c.name))
    return [Tenant(r.id, r.slug, r.name) for r in rows]


async def tenant_by_slug(uow: UnitOfWork, slug: str) -> Tenant | None:
    stmt = sa.select(tenants.c.id, tenants.c.slug, tenants.c.name).where(tenants.c.slug == slug)
    row = (await uow.execute(stmt)).first()
    return Tenant(row.id, row.slug, row.name) if row else None


async def find_user(uow: UnitOfWork, fiscal_number: str | None, email: str | None) -> User | None:
    """The person with this fiscal number (or, failing that, this e-mail address)."""
    for column, value in ((users.c.fiscal_number, fiscal_number), (sa.func.lower(users.c.email), email)):
        if value:
            row = (await uow.execute(sa.select(users).where(column == value).limit(1))).first()
            if row:
                return User(row.id, row.login, row.display_name)
    return None


async def tenant_members(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Member]:
    rows = await uow.execute(
        sa.select(users.c.id, users.c.display_name, users.c.email, users.c.fiscal_number, memberships.c.role)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.tenant_id == tenant_id)
        .order_by(users.c.display_name, memberships.c.role)
    )
    return [Member(r.id, r.display_name, r.email, r.fiscal_number, r.role) for r in rows]


async def remove_membership(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> bool:
    """True if there was such a membership."""
    result = await uow.execute(
        sa.delete(memberships)
        .where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id, memberships.c.role == role
        )
        .returning(memberships.c.role)
    )
    return result.first() is not None


async def create_invitation(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    fiscal_number: str | None,
    email: str | None,
    role: str,
    invited_by: uuid.UUID | None,
) -> bool:
    """False if the same invitation is already pending."""
    stmt = (
        pg_insert(invitations)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            fiscal_number=fiscal_number,
            email=email,
            role=role,
            invited_by=invited_by,
        )
        .on_conflict_do_nothing()
        .returning(invitations.c.id)
    )
    return (await uow.execute(stmt)).first() is not None


async def pending_invitations(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Invitation]:
    """The Comune's invitations not accepted: waiting, or refused at the person's login."""
    rows = await uow.execute(
        sa.select(invitations)
        .where(invitations.c.tenant_id == tenant_id, invitations.c.accepted_at.is_(None))
        .order_by(invitations.c.created_at)
    )
    return [Invitation(r.id, r.fiscal_number, r.email, r.role, r.created_at, r.refused_at) for r in rows]


async def other_side_role(uow: UnitOfWork, user_id: uuid.UUID, role: str) -> str | None:
    """A role the person holds in any Comune on the other side of `role` (firm or tax office)."""
    stmt = sa.text("SELECT gateway.other_side_role(:u, :r)")
    found = (await uow.execute(stmt, {"u": user_id, "r": role})).scalar_one()
    return str(found) if found is not None else None


async def cancel_invitation(
    uow: UnitOfWork, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    """Withdraw a pending invitation of the Comune; the invitation withdrawn (None: no such one)."""
    row = (
        await uow.execute(
            sa.delete(invitations)
            .where(
                invitations.c.tenant_id == tenant_id,
                invitations.c.id == invitation_id,
                invitations.c.accepted_at.is_(None),
            )
            .returning(invitations)
        )
    ).first()
    return Invitation(row.id, row.fiscal_number, row.email, row.role, row.created_at) if row else None


async def accept_invitations(
    uow: UnitOfWork, user_id: uuid.UUID, fiscal_number: str | None, email: str | None
) -> list[tuple[uuid.UUID, str, bool]]:
    """Turn the person's pending invitations into memberships; returns (tenant id, role, granted):
    one that would put the person on both sides (firm and tax office) is refused, not granted.

    Call it at login, in the login's transaction, with the fiscal number and e-mail address the
    identity provider asserted; already-accepted invitations are ignored, so repeating is harmless.
    """
    rows = await uow.execute(
        sa.text(
            "SELECT accepted_tenant, accepted_role, accepted FROM gateway.accept_invitations(:u, :f, :e)"
        ),
        {
            "u": user_id,
            "f": fiscal_number.strip().upper() if fiscal_number else None,
            "e": email.strip().lower() if email else None,
        },
    )
    return [(r.accepted_tenant, r.accepted_role, bool(r.accepted)) for r in rows]


async def match_user(uow: UnitOfWork, issuer: str, subject: str, fiscal_number: str | None) -> User | None:
    """The known person: by this provider's issuer and subject, else by a trusted fiscal number."""
    row = (
        await uow.execute(
            sa.select(users)
            .join(user_identities, user_identities.c.user_id == users.c.id)
            .where(user_identities.c.issuer == issuer, user_identities.c.subject == subject)
        )
    ).first()
    if row is not None:
        return User(row.id, row.login, row.display_name)
    return await find_user(uow, fiscal_number, None) if fiscal_number else None


async def create_user(
    uow: UnitOfWork, display_name: str, email: str | None, fiscal_number: str | None
) -> User:
    user_id = uuid.uuid4()
    login = f"oidc-{user_id.hex}"
    await uow.execute(
        sa.insert(users).values(
            id=user_id, login=login, display_name=display_name, email=email, fiscal_number=fiscal_number
        )
    )
    return User(user_id, login, display_name)


async def link_identity(uow: UnitOfWork, user_id: uuid.UUID, issuer: str, subject: str) -> None:
    stmt = pg_insert(user_identities).values(issuer=issuer, subject=subject, user_id=user_id)
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[user_identities.c.issuer, user_identities.c.subject],
            set_={"user_id": user_id, "last_login_at": sa.func.now()},
        )
    )
