"""Builders for the delivery tests: a Comune with creditor data, a debtor with positions, an e-mail
address, a plan with its notices, and the signed link of an e-mail."""

from __future__ import annotations

import functools
import re
import uuid
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa

from services.kernel.identity import Identity
from services.payments import handlers_notices, repository_emails
from services.payments.repository_emails import EmailRecord
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import seed
from tests.support import make_identity, position_fact

CREDITOR = {
    "name": "Comune di Consegna",
    "fiscal_code": "80012340016",
    "segregation_code": "07",
    "cbill": "CONSG",
    "iban": "IT60X0542811101000000123456",
}
FISCAL_CODE = "VRDLGU80A01H501Y"
LINK_RE = re.compile(r"https?://\S+?/avvisi/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-delivery")


async def run(platform: Platform, tenant_id: uuid.UUID, work: Any) -> Any:
    return await platform.databases["payments"].run(tenant_id, work)


async def comune(platform: Platform, who: Identity) -> None:
    work = functools.partial(handlers_notices.save_creditor, tenant_id=who.tenant_id, values=CREDITOR)
    await run(platform, who.tenant_id, work)


async def debtor_with_positions(
    platform: Platform, who: Identity, *amounts: int, email: str | None = None
) -> tuple[str, list[str]]:
    """A debtor's positions (and active e-mail address); returns the debtor id and position ids."""
    debtor = str(uuid.uuid4())
    facts = [
        position_fact(
            cents, debtor_id=debtor, fiscal_code=FISCAL_CODE, name="VERDI LUIGI", credit=("TARI", 2023, "D")
        )
        for cents in amounts
    ]
    await seed(platform, who.tenant_id, *facts)
    if email is not None:
        record = EmailRecord(uuid.uuid4(), uuid.UUID(debtor), "email", email, True)
        work = functools.partial(repository_emails.keep_emails, tenant_id=who.tenant_id, records=[record])
        await run(platform, who.tenant_id, work)
    return debtor, [f.position_id for f in facts]


async def post(
    platform: Platform, who: Identity, url: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.post(url, json=body)
    return response.status_code, response.json()


async def plan_with_notices(
    platform: Platform, who: Identity, position_ids: list[str], installments: int
) -> str:
    """A plan granted through the API, and its notices (the single payment and one per installment)."""
    status, plan = await post(
        platform, who, "/api/v1/payments/plans", {"position_ids": position_ids, "installments": installments}
    )
    assert status == 201, plan
    status, issued = await post(platform, who, "/api/v1/payments/notices", {"plan_id": plan["plan_id"]})
    assert status == 201 and len(issued["options"]) == installments + 1, issued
    return str(plan["plan_id"])


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK_RE.search(body.get_content())
    assert found is not None, body.get_content()
    return found.group(0)


def pdfs_in(message: EmailMessage) -> dict[str, bytes]:
    return {str(a.get_filename()): a.get_content() for a in message.iter_attachments()}


async def scalar(platform: Platform, tenant_id: uuid.UUID, sql: str, **params: object) -> Any:
    async with platform.databases["payments"].unit_of_work(tenant_id) as uow:
        return (await uow.execute(sa.text(sql), params)).scalar_one()
