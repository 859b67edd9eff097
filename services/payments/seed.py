"""Plausible creditor data for the demo Comuni of `riscossa dev`, so notices work out of the box."""

from __future__ import annotations

import functools
import uuid

from services.kernel.db import Database
from services.payments import handlers_notices

# Made-up but well-formed: 11-digit fiscal codes whose check digit is valid (the settings page checks
# it), distinct segregation codes, 5-character CBILL codes, the IBAN of Italian documentation examples (check digits valid).
DEMO_CREDITORS = {
    "comune-demo-a": ("Comune di Demo A", "80012340016", "01", "DEMOA"),
    "comune-demo-b": ("Comune di Demo B", "80012340024", "02", "DEMOB"),
}
DEMO_IBAN = "IT60X0542811101000000123456"


async def seed_creditors(db: Database, tenants: dict[str, uuid.UUID]) -> None:
    for slug, tenant_id in tenants.items():
        if slug not in DEMO_CREDITORS:
            continue
        name, fiscal_code, segregation, cbill = DEMO_CREDITORS[slug]
        values = {
            "name": name,
            "fiscal_code": fiscal_code,
            "segregation_code": segregation,
            "cbill": cbill,
            "iban": DEMO_IBAN,
        }
        await db.run(
            tenant_id, functools.partial(handlers_notices.save_creditor, tenant_id=tenant_id, values=values)
        )
