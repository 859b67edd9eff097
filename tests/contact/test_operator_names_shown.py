"""Operators are shown by name, not by their user id: in the card's contact history and in the
board's leases (when the operator has called today, the board knows their name)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest

from services.contact.domain import ROME
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import fact, seed
from tests.contact.test_conduct_web import record, take
from tests.contact.test_web import as_user, base
from tests.support import contact_clock

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)


@pytest.mark.asyncio
async def test_the_history_and_the_boards_leases_name_the_operator(
    platform: Platform, tenant: Identity
) -> None:
    called, held = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(called, 90_000), fact(held, 80_000))
    anna = as_user(tenant, "op-anna-names")
    supervisor = as_user(tenant, "sup-names", ("supervisor",))
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{called}" in await take(platform, anna)
        status, _ = await record(platform, anna, called, outcome="rifiuto")
        assert status in (200, 204, 303)
        assert f"/debtors/{held}" in await take(platform, anna)
        async with service_client(platform, "contact", anna) as client:
            card = (await client.get(f"{base(anna)}/debtors/{called}")).text
        history = re.search(r'data-testid="history">(.*?)</table>', card, re.S)
        assert history is not None
        assert "Utente di prova" in history.group(1) and "op-anna-names" not in history.group(1)
        async with service_client(platform, "contact", supervisor) as client:
            board = (await client.get(f"{base(supervisor)}/board")).text
        leases = re.search(r'data-testid="board-leases">(.*?)</table>', board, re.S)
        assert leases is not None
        assert "</span></td><td>Utente di prova</td>" in leases.group(1)  # after the fiscal code
        assert "op-anna-names" not in leases.group(1)
