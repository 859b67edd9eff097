"""A Comune's API keys on the administration pages and from the `riscossa` command: created (the key
shown once, only its hash kept), listed, revoked, each change in the audit log."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid

import httpx
import pytest

from gateway import repository, repository_audit
from gateway.domain import hash_api_key
from gateway.repository_audit import AuditEntry
from services.platform import Platform
from tests.gateway.helpers import alert, client, make_gateway, make_person, make_tenant, sign_in
from tests.support import ROOT, process_env


def _shown_key(html: str) -> str | None:
    found = re.search(r'id="nuova-chiave"[^>]*value="(rsk_[^"]+)"', html)
    return found.group(1) if found else None


async def _key_tenant(platform: Platform, key: str) -> uuid.UUID | None:
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        found = await repository.find_api_key(uow, hash_api_key(key))
    return found[1] if found else None


async def _audit(platform: Platform, tenant_id: uuid.UUID) -> list[AuditEntry]:
    async with platform.databases["gateway"].unit_of_work(tenant_id) as uow:
        return await repository_audit.tenant_entries(uow, tenant_id)


async def _create(c: httpx.AsyncClient, slug: str, csrf: str, label: str) -> httpx.Response:
    return await c.post(f"/admin/comuni/{slug}/chiavi", data={"csrf_token": csrf, "etichetta": label})


@pytest.mark.asyncio
async def test_a_comune_admin_creates_sees_once_lists_and_revokes_a_key(platform: Platform) -> None:
    gw = make_gateway(platform)
    tenant = await make_tenant(platform)
    admin = await make_person(platform, {tenant.id: "comune_admin"})
    async with client(gw) as c:
        csrf = await sign_in(gw, c, admin)
        empty = await c.get(f"/admin/comuni/{tenant.slug}/chiavi")
        assert empty.status_code == 200 and "Nessuna chiave API." in empty.text

        created = await _create(c, tenant.slug, csrf, "  gestionale   tributi ")
        assert created.status_code == 200
        assert created.headers["cache-control"] == "no-store"
        key = _shown_key(created.text)
        assert key is not None and await _key_tenant(platform, key) == tenant.id

        listed = await c.get(f"/admin/comuni/{tenant.slug}/chiavi")
        assert key not in listed.text and _shown_key(listed.text) is None  # shown once only
        prefix = key.split("_")[1]
        assert f"rsk_{prefix}_…" in listed.text and "gestionale tributi" in listed.text
        key_id = re.search(r'name="chiave" value="([0-9a-f-]+)"', listed.text)
        assert key_id is not None

        revoked = await c.post(
            f"/admin/comuni/{tenant.slug}/chiavi/revoca", data={"csrf_token": csrf, "chiave": key_id.group(1)}
        )
        assert revoked.status_code == 303
        assert await _key_tenant(platform, key) is None
        after = await c.get(revoked.headers["location"])
        assert "Revocata il" in after.text and "non è più accettata" in after.text
        again = await c.post(
            f"/admin/comuni/{tenant.slug}/chiavi/revoca", data={"csrf_token": csrf, "chiave": key_id.group(1)}
        )
        assert again.status_code == 404
    entries = {e.action: e for e in await _audit(platform, tenant.id)}
    assert entries["api_key_created"].actor_user_id == admin.id
    assert entries["api_key_created"].detail["label"] == "gestionale tributi"
    assert entries["api_key_revoked"].detail["key_id"] == key_id.group(1)
    assert key not in str(entries["api_key_created"].detail)


@pytest.mark.asyncio
async def test_keys_are_refused_without_csrf_an_empty_label_and_across_comuni(platform: Platform) -> None:
    gw = make_gateway(platform)
    mine, theirs = await make_tenant(platform), await make_tenant(platform)
    admin = await make_person(platform, {mine.id: "comune_admin"})
    boss = await make_person(platform, {mine.id: "platform_admin"})
    async with client(gw) as c:
        csrf = await sign_in(gw, c, admin)
        forged = await c.post(f"/admin/comuni/{mine.slug}/chiavi", data={"etichetta": "x"})
        assert forged.status_code == 403
        blank = await _create(c, mine.slug, csrf, "   ")
        assert blank.status_code == 400 and "Indica a cosa serve la chiave" in alert(blank.text)
        assert (await c.get(f"/admin/comuni/{theirs.slug}/chiavi")).status_code == 404
        assert (await _create(c, theirs.slug, csrf, "intruso")).status_code == 404
    # The platform administrator makes a key for the other Comune; its id is unknown in this one.
    async with client(gw) as c:
        csrf = await sign_in(gw, c, boss)
        created = await _create(c, theirs.slug, csrf, "gestionale")
        key = _shown_key(created.text)
        assert key is not None and await _key_tenant(platform, key) == theirs.id
        listed = await c.get(f"/admin/comuni/{theirs.slug}/chiavi")
        key_id = re.search(r'name="chiave" value="([0-9a-f-]+)"', listed.text)
        assert key_id is not None
    async with client(gw) as c:
        csrf = await sign_in(gw, c, admin)
        foreign = await c.post(
            f"/admin/comuni/{mine.slug}/chiavi/revoca", data={"csrf_token": csrf, "chiave": key_id.group(1)}
        )
        assert foreign.status_code == 404
        bad = await c.post(
            f"/admin/comuni/{mine.slug}/chiavi/revoca", data={"csrf_token": csrf, "chiave": "x"}
        )
        assert bad.status_code == 400
    assert await _key_tenant(platform, key) == theirs.id


async def _riscossa(platform: Platform, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        env=process_env(platform.settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.asyncio
async def test_the_command_creates_a_comune_and_its_keys_lists_and_revokes_them(platform: Platform) -> None:
    slug = f"comune-cli-{uuid.uuid4().hex[:8]}"
    code, out, err = await _riscossa(platform, "tenant", "create", slug, "Comune di Prova")
    assert code == 0, err
    tenant_id = uuid.UUID(out.strip())
    code, _, err = await _riscossa(platform, "tenant", "create", slug, "Comune di Prova")
    assert code == 1 and "Esiste già un Comune" in err

    code, out, err = await _riscossa(platform, "apikey", "create", slug, "--label", "gestionale tributi")
    assert code == 0, err
    key_id = re.search(r"^id:\s+(\S+)$", out, re.M)
    key = re.search(r"^key:\s+(rsk_\S+)$", out, re.M)
    assert key_id and key and await _key_tenant(platform, key.group(1)) == tenant_id

    code, out, err = await _riscossa(platform, "apikey", "list", slug)
    assert code == 0, err
    (line,) = [row for row in out.splitlines() if row.startswith(key_id.group(1))]
    assert f"rsk_{key.group(1).split('_')[1]}_…" in line and "gestionale tributi" in line
    assert key.group(1) not in out and line.split()[-3] == "-"  # not revoked

    code, out, err = await _riscossa(platform, "apikey", "revoke", key_id.group(1))
    assert code == 0 and f"revoked: {key_id.group(1)} ({slug}" in out, err
    assert await _key_tenant(platform, key.group(1)) is None
    code, out, _ = await _riscossa(platform, "apikey", "list", slug)
    (line,) = [row for row in out.splitlines() if row.startswith(key_id.group(1))]
    assert line.split()[-3] != "-"
    code, _, err = await _riscossa(platform, "apikey", "revoke", key_id.group(1))
    assert code == 1 and "no valid API key" in err

    actions = [(e.action, e.actor_label) for e in await _audit(platform, tenant_id)]
    assert [a for a, _ in actions] == ["api_key_revoked", "api_key_created", "tenant_created"]
    assert all(label.startswith("riscossa ") for _, label in actions)
