"""The data of `bench/operator.py`: a Comune with its debtors in the contact service's queue, and
operators with live gateway sessions."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from gateway import repository
from gateway.sessions import SessionStore
from services.contact import repository as contact_repository
from services.contracts import PositionFact
from services.kernel.settings import Settings
from services.platform import Platform

SECRET = "bench-operator-secret-not-for-production"  # noqa: S105 (a scratch database's bench)
# A multi-row INSERT takes at most 32,767 parameters: 7 per position.
CHUNK = 4_000


def bench_settings(url: str, folder: Path) -> Settings:
    base = Settings(mode="test", data_dir=folder, storage_dir=folder / "storage", dev_login=False)
    return replace(base, database_url=url, secret_key=SECRET, public_base_url="http://127.0.0.1:8000")


async def comune(platform: Platform, debtors: int) -> tuple[uuid.UUID, str]:
    """A Comune whose contact queue holds `debtors` debtors with one position each."""
    slug = f"comune-bench-{uuid.uuid4().hex[:6]}"
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        tenant_id = await repository.upsert_tenant(uow, slug, "Comune di Bench")
        await uow.commit()
    for start in range(0, debtors, CHUNK):
        facts = [
            PositionFact(
                position_id=str(uuid.uuid4()),
                debtor_id=str(uuid.uuid4()),
                fiscal_code="RSSMRA80A01H501U",
                debtor_name=f"CONTRIBUENTE {n}",
                revenue_type=("IMU", "TARI", "CDS")[n % 3],
                year=2020 + n % 6,
                act_number=f"B-{n:07d}",
                amount_cents=5_000 + (n * 7919) % 500_000,
            )
            for n in range(start, min(start + CHUNK, debtors))
        ]
        async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
            await contact_repository.register_positions(uow, tenant_id, facts)
            await uow.commit()
    return tenant_id, slug


async def operators(platform: Platform, tenant_id: uuid.UUID, count: int) -> list[tuple[str, str]]:
    """`count` operators of the Comune, each with a live session: (cookie, CSRF token)."""
    db = platform.databases["gateway"]
    store = SessionStore(db)
    sessions = []
    for n in range(count):
        async with db.unit_of_work(None) as uow:
            user_id = await repository.upsert_user(
                uow, f"bench-op-{uuid.uuid4().hex}", f"Operatore {n}", None
            )
            await uow.commit()
        async with db.unit_of_work(tenant_id) as uow:
            await repository.add_membership(uow, tenant_id, user_id, "operator")
            await uow.commit()
        session = await store.create(user_id)
        sessions.append((session.cookie, session.csrf))
    return sessions
