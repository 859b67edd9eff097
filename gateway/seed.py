"""Demo tenants, users and credits for `riscossa dev` and `riscossa seed-demo`."""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from datetime import date

from stdnum.it import codicefiscale

from gateway import domain, handlers_admin, repository
from services.kernel.db import Database, UnitOfWork

DEMO_TENANTS = {"comune-demo-a": "Comune di Demo A", "comune-demo-b": "Comune di Demo B"}


@dataclass(frozen=True)
class DemoUser:
    login: str
    # The name, as a person's name shows in histories and logs; `about` (who they are in the
    # demo) only beside it in the development login's list.
    display_name: str
    about: str
    roles: dict[str, str]  # tenant slug -> role

    @property
    def email(self) -> str:
        """A demo address (`.example`, RFC 2606): by it a supervisor or an administrator finds the
        person on the people page of another Comune («Abilita una persona»)."""
        first, last = self.display_name.lower().split(" ", 1)
        return f"{first}.{last.replace(' ', '')}@riscossa.example"


DEMO_USERS = (
    DemoUser("admin-a", "Anna Bianchi", "Ufficio tributi Demo A", {"comune-demo-a": "comune_admin"}),
    DemoUser("viewer-a", "Vittorio Verdi", "consultazione Demo A", {"comune-demo-a": "comune_viewer"}),
    DemoUser("admin-b", "Bruno Neri", "Ufficio tributi Demo B", {"comune-demo-b": "comune_admin"}),
    DemoUser(
        "operatore",
        "Olga Russo",
        "operatrice (A e B)",
        {"comune-demo-a": "operator", "comune-demo-b": "operator"},
    ),
    # A second operator, on Comune A only: the board, callbacks kept for one of two, work lists.
    DemoUser("operatore-a", "Marco Ricci", "operatore (solo A)", {"comune-demo-a": "operator"}),
    DemoUser(
        "supervisore",
        "Sergio Gallo",
        "supervisore (A e B)",
        {"comune-demo-a": "supervisor", "comune-demo-b": "supervisor"},
    ),
    # The collection firm's platform admin: Comuni, aggio contracts, the end of a mandate.
    DemoUser(
        "piattaforma",
        "Paola Ferri",
        "amministratrice della piattaforma",
        {"comune-demo-a": "platform_admin", "comune-demo-b": "platform_admin"},
    ),
    DemoUser("senza-accesso", "Nadia Conti", "nessun Comune assegnato", {}),
)


async def seed_demo(db: Database) -> dict[str, uuid.UUID]:
    """Create (or refresh) the demo tenants, users and memberships; returns slug -> tenant id."""
    ids, users = await db.run(None, _registries)
    for slug, tenant_id in ids.items():
        await db.run(tenant_id, functools.partial(_memberships, slug=slug, tenant_id=tenant_id, users=users))
    return ids


async def _registries(uow: UnitOfWork) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    """The demo tenants (slug -> id) and users (login -> id)."""
    ids = {slug: await repository.upsert_tenant(uow, slug, name) for slug, name in DEMO_TENANTS.items()}
    users = {u.login: await repository.upsert_user(uow, u.login, u.display_name, u.email) for u in DEMO_USERS}
    return ids, users


async def _memberships(uow: UnitOfWork, slug: str, tenant_id: uuid.UUID, users: dict[str, uuid.UUID]) -> None:
    for user in DEMO_USERS:
        if slug in user.roles:
            await repository.add_membership(uow, tenant_id, users[user.login], user.roles[slug])


async def issue_dev_api_key(db: Database, tenant_id: uuid.UUID) -> str:
    """Revoke the previous development key of the tenant and issue a new one (shown once)."""
    key, prefix, key_hash = domain.new_api_key()
    work = functools.partial(
        handlers_admin.replace_api_key,
        tenant_id=tenant_id,
        label="sviluppo",
        prefix=prefix,
        key_hash=key_hash,
    )
    await db.run(tenant_id, work)
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
    """A small, valid credits file (codice fiscale, nominativo, tributo, anno, importo) with the
    contacts a Comune's file usually has (a mobile number for most taxpayers, an e-mail for some)
    and, for most acts, the day they were notified (one or two years after theirs, by 2025): the
    limitation runs from it (`kernel.limitation`)."""
    rng = random.Random(seed)
    lines = ["codice_fiscale;nominativo;tributo;anno;numero_atto;data_notifica;importo;telefono;email"]
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
        phone = (
            f"+39 3{rng.randint(20, 49)} {rng.randint(1_000_000, 9_999_999)}" if rng.random() < 0.85 else ""
        )
        email = f"{name.lower()}.{surname.lower()}{i}@example.it" if rng.random() < 0.5 else ""
        served = date(min(year + rng.randint(1, 2), 2025), rng.randint(1, 12), rng.randint(1, 28))
        notified = f"{served:%d/%m/%Y}" if rng.random() < 0.8 else ""
        credit = f"{cf};{surname} {name};{rng.choice(_TYPES)};{year};{year}/{i + 1:05d};{notified};{amount}"
        lines.append(f"{credit};{phone};{email}")
    return ("\n".join(lines) + "\n").encode()
