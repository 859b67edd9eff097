"""Use cases of the Comune's pagoPA settings (its creditor data on the notices, charges, reminders,
GPD endpoint), edited by the Comune's admin."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.payments import handlers_notices, repository_notices
from services.payments.domain_settings import CreditorSettings, masked, read_settings

# What the settings form shows before anything was saved.
BLANK: dict[str, Any] = {
    "name": "",
    "fiscal_code": "",
    "segregation_code": "",
    "cbill": "",
    "iban": "",
    "postal_account": "",
    "applies_charges": False,
    "reminder_days": 7,
    "gpd_endpoint": "",
}


async def settings_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, Any]:
    """The stored settings for the form and the API, the GPD key masked (it is never shown)."""
    row = await repository_notices.creditor(uow, tenant_id)
    if row is None:
        return {**BLANK, "gpd_api_key": "", "saved": False}
    shown = {name: getattr(row, name) or ("" if name != "applies_charges" else False) for name in BLANK}
    shown["reminder_days"] = row.reminder_days
    return {**shown, "gpd_api_key": masked(row.gpd_api_key), "saved": True}


async def save_settings(uow: UnitOfWork, ident: Identity, raw: Mapping[str, object]) -> CreditorSettings:
    """Checks every field (`InvalidSettings` names each bad one; nothing saved) and saves them; an
    empty API key keeps the stored one."""
    stored = await repository_notices.creditor(uow, ident.tenant_id)
    settings = read_settings(raw, has_stored_key=bool(stored is not None and stored.gpd_api_key))
    await handlers_notices.save_creditor(uow, ident.tenant_id, settings.values())
    return settings
