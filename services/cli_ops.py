"""The `riscossa` commands an operations team runs on the gateway's registry: `tenant create`,
`apikey create|list|revoke` (audited in the gateway's audit log, like the administration pages) and
`gateway-purge` (ended sessions and abandoned logins, for cron; `serve gateway` also purges them).

They need only the gateway's database (no broker, no storage), reached as the gateway's own role.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import sys
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from gateway import domain, handlers_admin
from gateway.domain import CommandActor
from gateway.repository import Tenant, tenant_by_slug
from gateway.repository_keys import ApiKey
from services.kernel.db import Database
from services.kernel.errors import DomainError, NotFound
from services.kernel.migrate import app_role, role_url
from services.kernel.settings import Settings

Work = Callable[[Database], Awaitable[None]]


def add_parsers(sub: Any) -> None:
    """The commands' arguments, on the `riscossa` parser's subcommands."""
    tenant = sub.add_parser("tenant", help="the Comuni: create one (audited)")
    tenant_actions = tenant.add_subparsers(dest="action", required=True)
    create = tenant_actions.add_parser("create", help="a new Comune; prints its id")
    create.add_argument("slug", help="identifier in the addresses, e.g. comune-di-esempio")
    create.add_argument("name", help='the Comune\'s name, e.g. "Comune di Esempio"')
    keys = sub.add_parser("apikey", help="a Comune's API keys: create, list, revoke (audited)")
    key_actions = keys.add_subparsers(dest="action", required=True)
    new = key_actions.add_parser("create", help="a new key of the Comune, printed once")
    new.add_argument("slug", help="the Comune")
    new.add_argument("--label", default="API", help="what the key is for, e.g. 'gestionale tributi'")
    listing = key_actions.add_parser("list", help="id, label, created, beginning, revoked")
    listing.add_argument("slug", nargs="?", help="only this Comune (default: every Comune)")
    revoke = key_actions.add_parser("revoke", help="revoke a key by its id (as `apikey list` prints it)")
    revoke.add_argument("key_id")
    sub.add_parser("gateway-purge", help="delete ended sessions and abandoned logins (cron)")


def commands(
    args: argparse.Namespace, settings: Callable[[], Settings]
) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    """The coroutine of each command, given the parsed arguments."""

    def on_gateway(work: Work) -> Callable[[], Coroutine[Any, Any, None]]:
        return functools.partial(_on_gateway, settings, work)

    actions: dict[tuple[str, str], Work] = {
        ("tenant", "create"): functools.partial(
            tenant_create, slug=getattr(args, "slug", ""), name=getattr(args, "name", "")
        ),
        ("apikey", "create"): functools.partial(
            apikey_create, slug=getattr(args, "slug", ""), label=getattr(args, "label", "")
        ),
        ("apikey", "list"): functools.partial(apikey_list, slug=getattr(args, "slug", None)),
        ("apikey", "revoke"): functools.partial(apikey_revoke, key_id=getattr(args, "key_id", "")),
    }
    chosen = actions.get((args.command, getattr(args, "action", "")))
    found = {"gateway-purge": on_gateway(gateway_purge)}
    if chosen is not None:
        found[args.command] = on_gateway(chosen)
    return found


async def _on_gateway(settings: Callable[[], Settings], work: Work) -> None:
    s = settings()
    url = role_url(s.database_url, app_role("gateway", s.role_prefix), s.db_password("gateway"))
    from gateway.models import metadata

    db = Database(url, metadata, pool_size=1)
    try:
        await work(db)
    except DomainError as exc:
        sys.exit(f"riscossa: {exc.message}")
    finally:
        await db.dispose()


def _actor(command: str) -> CommandActor:
    return CommandActor(f"riscossa {command} ({getpass.getuser()})")


async def tenant_create(db: Database, slug: str, name: str) -> None:
    slug, name = domain.check_new_tenant(slug, name)
    work = functools.partial(
        handlers_admin.create_tenant, actor=_actor("tenant create"), slug=slug, name=name
    )
    print(await db.run(None, work), flush=True)


async def apikey_create(db: Database, slug: str, label: str) -> None:
    tenant = await _tenant(db, slug)
    work = functools.partial(
        handlers_admin.create_api_key,
        actor=_actor("apikey create"),
        tenant_id=tenant.id,
        label=domain.check_key_label(label),
    )
    new = await db.run(tenant.id, work)
    print(f"id:  {new.id}", flush=True)
    print(f"key: {new.key}", flush=True)
    print("The key is shown only now: store it safely (only its hash is kept).", file=sys.stderr, flush=True)


async def apikey_list(db: Database, slug: str | None) -> None:
    tenants = [await _tenant(db, slug)] if slug else await db.run(None, handlers_admin.list_tenants)
    print(f"{'id':36}  {'comune':24}  {'created (UTC)':16}  {'key':18}  {'revoked (UTC)':16}  label")
    for tenant in tenants:
        keys = await db.run(tenant.id, functools.partial(handlers_admin.api_keys, tenant_id=tenant.id))
        for key in keys:
            print(_key_line(tenant, key), flush=True)


def _key_line(tenant: Tenant, key: ApiKey) -> str:
    revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "-"
    created = key.created_at.strftime("%Y-%m-%d %H:%M")
    return f"{key.id}  {tenant.slug:24}  {created:16}  {key.shown:18}  {revoked:16}  {key.label}"


async def apikey_revoke(db: Database, key_id: str) -> None:
    """Revoke the key with this id, whichever Comune it belongs to (each Comune's keys are read
    under that Comune, as the row-level security wants)."""
    try:
        wanted = uuid.UUID(key_id)
    except ValueError:
        sys.exit(f"riscossa: not a key id: {key_id}")
    actor = _actor("apikey revoke")
    for tenant in await db.run(None, handlers_admin.list_tenants):
        work = functools.partial(
            handlers_admin.revoke_api_key, actor=actor, tenant_id=tenant.id, key_id=wanted
        )
        try:
            revoked = await db.run(tenant.id, work)
        except NotFound:
            continue
        print(f"revoked: {revoked.id} ({tenant.slug}, {revoked.label})", flush=True)
        return
    sys.exit(f"riscossa: no valid API key {key_id}")


async def gateway_purge(db: Database) -> None:
    from gateway.sessions import SessionStore

    purged = await SessionStore(db).purge()
    print(f"sessions purged: {purged.sessions}, pending logins purged: {purged.pending_logins}", flush=True)


async def _tenant(db: Database, slug: str) -> Tenant:
    tenant = await db.run(None, functools.partial(tenant_by_slug, slug=slug))
    if tenant is None:
        sys.exit(f"riscossa: unknown Comune {slug}")
    return tenant
