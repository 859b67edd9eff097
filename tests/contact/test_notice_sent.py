"""A message the payments service sent to a debtor (NoticeSent) joins the debtor's contact history,
once however often it is delivered; one kept but not sent (development) says so."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from services.contact.domain import ROME
from services.contracts import NoticeSent
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import deliver, fact, scalar, seed
from tests.support import make_identity


def sent(tenant: Identity, debtor_id: str, **changes: object) -> Envelope:
    values: dict[str, object] = {
        "message_id": str(uuid.uuid4()),
        "debtor_id": debtor_id,
        "channel": "email",
        "kind": "notice",
        "position_ids": (str(uuid.uuid4()),),
        "plan_id": "",
        "installment": 0,
        "sent_at": datetime(2026, 11, 20, 10, 30, tzinfo=ROME).isoformat(),
        "sent_by": "op-mail",
        "delivered": True,
    }
    return NoticeSent(**{**values, **changes}).envelope(tenant.tenant_id)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_messages_sent_show_in_the_debtor_history_once(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 40_000, name="NERI ANNA"))
    email = sent(tenant, d)
    await deliver(platform, email)
    await deliver(platform, email)
    reminder = sent(
        tenant,
        d,
        channel="sms",
        kind="installment_reminder",
        installment=2,
        delivered=False,
        sent_by="sistema",
    )
    await deliver(platform, reminder)
    named = sent(
        tenant, d, sent_by=str(uuid.uuid4()), sent_by_name="Olga Russo", recipient="anna.neri@example.it"
    )
    await deliver(platform, named)
    rows = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM contact.contacts WHERE tenant_id = :t AND debtor_id = :d",
        t=tenant.tenant_id,
        d=uuid.UUID(d),
    )
    assert rows == 3
    op = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",), user_id="op-card")
    async with service_client(platform, "contact", op) as http:
        card = await http.get(f"/t/{tenant.tenant_slug}/contact/debtors/{d}")
    history = card.text.split('data-testid="history"', 1)[1].split("</table>", 1)[0]
    assert "Messaggio inviato per e-mail" in history and "Avvisi di pagamento" in history
    assert "20/11/2026 10:30" in history and "op-mail" in history  # an event from before names
    # Who sent it, by name; the payments service's own reminders are the system's.
    assert "<td>Olga Russo</td>" in history and "<td>Sistema</td>" in history
    # Where it went, when the event says (events from before it do not).
    assert "Avvisi di pagamento a anna.neri@example.it" in history
    assert "Messaggio inviato per SMS" in history
    assert "Promemoria scadenza rata (rata 2) - non spedito: piattaforma di sviluppo" in history
    # The outcome an operator records is still chosen from the call outcomes only.
    form = card.text.split('data-testid="history"', 1)[0]
    assert "messaggio_email" not in form


@pytest.mark.asyncio
async def test_a_malformed_notice_sent_is_undecodable(tenant: Identity) -> None:
    from services.contact.consumers import on_notice_sent

    for bad in (
        sent(tenant, "not-a-uuid"),
        sent(tenant, str(uuid.uuid4()), sent_at="2026-11-20T10:30:00"),
        sent(tenant, str(uuid.uuid4()), channel="piccione"),
    ):
        with pytest.raises(UndecodableMessage):
            await on_notice_sent(None, bad)  # type: ignore[arg-type]
