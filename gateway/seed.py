"""Demo tenants, users and credits for `riscossa dev` and `riscossa seed-demo`."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from stdnum.it import codicefiscale

from gateway import domain, repository
from services.kernel.db import Database

DEMO_TENANTS = {"comune-demo-a": "Comune di Demo A", "comune-demo-b": "Comune di Demo B"}


@dataclass(frozen=True)
class DemoUser:
    login: str
    display_name: str
    roles: dict[str, str]  # tenant slug -> role


DEMO_USERS = (
    DemoUser("admin-a", "Anna Bianchi · Ufficio tributi Demo A", {"comune-demo-a": "comune_admin"}),
    DemoUser("viewer-a", "Vittorio Verdi · consultazione Demo A", {"comune-demo-a": "comune_viewer"}),
    DemoUser("admin-b", "Bruno Neri · Ufficio tributi Demo B", {"comune-demo-b": "comune_admin"}),
    DemoUser(
        "operatore",
        "Olga Russo · operatrice (A e B)",
        {"comune-demo-a": "operator", "comune-demo-b": "operator"},
    ),
    DemoUser(
        "supervisore",
        "Sergio Gallo · supervisore (A e B)",
        {"comune-demo-a": "supervisor", "comune-demo-b": "supervisor"},
    ),
    DemoUser("senza-accesso", "Nadia Conti · nessun Comune assegnato", {}),
)


async def seed_demo(db: Database) -> dict[str, uuid.UUID]:
    """Create (or refresh) the demo tenants, users and memberships; returns slug -> tenant id."""
    async with db.unit_of_work(None) as uow:
        ids = {slug: await repository.upsert_tenant(uow, slug, name) for slug, name in DEMO_TENANTS.items()}
        users = {u.login: await repository.upsert_user(uow, u.login, u.display_name) for u in DEMO_USERS}
        await uow.commit()
    for user in DEMO_USERS:
        for slug, role in user.roles.items():
            async with db.unit_of_work(ids[slug]) as uow:
                await repository.add_membership(uow, ids[slug], users[user.login], role)
                await uow.commit()
    return ids


async def issue_dev_api_key(db: Database, tenant_id: uuid.UUID) -> str:
    """Revoke the previous development key of the tenant and issue a new one (shown once)."""
    key, prefix, key_hash = domain.new_api_key()
    async with db.unit_of_work(tenant_id) as uow:
        await repository.revoke_api_keys(uow, tenant_id, "sviluppo")
        await repository.create_api_key(uow, tenant_id, "sviluppo", prefix, key_hash)
        await uow.commit()
    return key


_SURNAMES = [
    "ROSSI",
    "RUSSO",
    "FERRARI",
    "ESPOSITO",
    "BIANCHI",
    "ROMANO",
    "COLOMBO",
    "RICCI",
    "MARINO",
    "GRECO",
]
_NAMES = ["MARCO", "GIULIA", "LUCA", "SARA", "ANDREA", "CHIARA", "PAOLO", "ELENA"]
_TYPES = ["IMU", "TARI", "CUP", "CDS", "TARI"]


def demo_csv(seed: int, rows: int = 40) -> bytes:
    """A small, valid credits file (codice fiscale, nominativo, tributo, anno, importo)."""
    rng = random.Random(seed)
    lines = ["codice_fiscale;nominativo;tributo;anno;numero_atto;importo"]
    for i in range(rows):
        surname, name = rng.choice(_SURNAMES), rng.choice(_NAMES)
        body = (
            f"{surname[:3]}{name[:3]}{rng.randint(40, 99):02d}{'ABCDEHLMPRST'[rng.randint(0, 11)]}"
            f"{rng.randint(1, 28):02d}H501"
        )
        cf = body + codicefiscale.calc_check_digit(body)
        year = rng.randint(2019, 2024)
        cents = rng.randint(5_000, 250_000)
        amount = f"{cents // 100},{cents % 100:02d}"
        lines.append(f"{cf};{surname} {name};{rng.choice(_TYPES)};{year};{year}/{i + 1:05d};{amount}")
    return ("\n".join(lines) + "\n").encode()
