"""Refunds: the Comune's administrator records that part or all of a received payment was given
back; the amount is owed again, `PaymentRefunded` leaves through the outbox, and once projected by
reporting it comes off the aggio's base."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.contracts import PaymentReceived, PaymentRefunded
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, position, scalar, seed
from tests.reporting.helpers import deliver, deliver_envelope, registered
from tests.support import make_identity


def as_role(who: Identity, *roles: str) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=roles, name=who.tenant_name)


def refunds_url(who: Identity, position_id: str) -> str:
    return f"/t/{who.tenant_slug}/payments/positions/{position_id}/rimborsi"


async def outbox(platform: Platform, who: Identity, routing_key: str) -> list[Envelope]:
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        rows = await uow.execute(
            sa.text("SELECT body FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k ORDER BY id"),
            {"t": who.tenant_id, "k": routing_key},
        )
        return [Envelope.decode(r.body) for r in rows]


async def paid(platform: Platform, who: Identity, position_id: str, cents: int, on: str) -> str:
    async with service_client(platform, "payments", as_role(who, "api")) as client:
        answer = await client.post(
            f"/api/v1/payments/positions/{position_id}/payments",
            json={"amount_cents": cents, "paid_on": on, "reason": "Bonifico sul conto di tesoreria"},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["payment_id"])


@pytest.mark.asyncio
async def test_a_refund_is_owed_again_published_and_off_the_aggio_base(
    platform: Platform, tenant: Identity
) -> None:
    f = fact(10_000)
    await seed(platform, tenant.tenant_id, f)
    payment_id = await paid(platform, tenant, f.position_id, 6_000, "2026-10-05")
    admin = as_role(tenant, "comune_admin")
    post = f"/t/{tenant.tenant_slug}/payments/payments/{payment_id}/rimborsi"
    form = {"amount": "25,00", "refunded_on": "20/10/2026", "reason": "Pagamento effettuato due volte"}
    async with service_client(platform, "payments", admin) as client:
        shown = await client.get(refunds_url(tenant, f.position_id))
        assert shown.status_code == 200 and "€ 60,00" in shown.text and "Controlla il rimborso" in shown.text
        for bad, field, words in (
            ({"amount": "70,00"}, "amount", "supera quanto resta"),
            ({"refunded_on": "01/01/2099"}, "refunded_on", "nel futuro"),
            ({"refunded_on": "01/10/2026"}, "refunded_on", "precedere"),
            ({"reason": ""}, "reason", "motivo del rimborso"),
            ({"amount": "abc"}, "amount", "non valido"),
        ):
            refused = await client.post(post, data={**form, **bad})
            assert (
                refused.status_code == 400
                and f'data-field="{field}"' in refused.text
                and words in refused.text
            )
        row = await position(platform, tenant.tenant_id, f.position_id)
        assert row is not None and row.paid_cents == 6_000  # nothing changed
        # A refused form leaves its address in the browser: reloading it opens the page again.
        reloaded = await client.get(post)
        assert reloaded.status_code == 303 and reloaded.headers["location"] == refunds_url(
            tenant, f.position_id
        )
        # The form's first sending only shows what the refund will do: a refund cannot be undone.
        once = {**form, "idempotency_key": "modulo-rimborso-1"}
        check = await client.post(post, data=once)
        assert check.status_code == 200 and "Conferma il rimborso" in check.text
        assert "da € 40,00 a € 65,00" in check.text and "Pagamento effettuato due volte" in check.text
        assert 'name="conferma" value="1"' in check.text and 'value="modulo-rimborso-1"' in check.text
        again = await client.post(post, data={**once, "modifica": "1"})
        assert (
            again.status_code == 200 and 'value="25,00"' in again.text and 'value="20/10/2026"' in again.text
        )
        row = await position(platform, tenant.tenant_id, f.position_id)
        assert row is not None and row.paid_cents == 6_000  # nothing written yet
        done = await client.post(post, data={**once, "conferma": "1"})
        assert done.status_code == 303
        twice = await client.post(post, data={**once, "conferma": "1"})
        assert twice.status_code == 409
        too_much = await client.post(post, data={**form, "amount": "35,01", "conferma": "1"})
        assert too_much.status_code == 400 and "€ 35,00" in too_much.text
        page = await client.get(refunds_url(tenant, f.position_id) + "?rimborsato=1")
    assert "Rimborso registrato" in page.text and "Pagamento effettuato due volte" in page.text
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 3_500  # 25,00 owed again
    [envelope] = await outbox(platform, tenant, PaymentRefunded.routing_key())
    event = PaymentRefunded.from_envelope(envelope)
    assert (event.payment_id, event.position_id, event.debtor_id) == (payment_id, f.position_id, f.debtor_id)
    assert (event.amount_cents, event.refunded_on, event.recorded_by) == (2_500, "2026-10-20", admin.user_id)
    audited = "SELECT count(*) FROM payments.access_log WHERE tenant_id = :t AND action = 'view_refunds'"
    assert await scalar(platform, tenant.tenant_id, audited, t=tenant.tenant_id) >= 2  # type: ignore[operator]

    # The payment and its refund, projected by reporting from the very envelopes payments wrote.
    await deliver(platform, tenant.tenant_id, registered(f))
    [received] = await outbox(platform, tenant, PaymentReceived.routing_key())
    await deliver_envelope(platform, received)
    await deliver_envelope(platform, envelope)
    firm = as_role(tenant, "platform_admin")
    contract = {"reference": "Rep. 1", "start_date": "01/01/2026", "row-1-type": "*", "row-1-rate": "10"}
    async with service_client(platform, "reporting", firm) as client:
        assert (
            await client.post(f"/t/{tenant.tenant_slug}/reporting/aggio/contratto", data=contract)
        ).status_code == 303
    async with service_client(platform, "reporting", as_role(tenant, "api")) as client:
        body = (
            await client.get("/api/v1/reporting/aggio?period_from=2026-10-01&period_to=2026-10-31")
        ).json()
    assert (body["collected_cents"], body["refunded_cents"], body["taxable_cents"]) == (6_000, 2_500, 3_500)
    assert (body["aggio_cents"], body["vat_cents"]) == (350, 0)


@pytest.mark.asyncio
async def test_only_the_comune_admin_and_the_firm_admin_refund(platform: Platform, tenant: Identity) -> None:
    f = fact(10_000)
    await seed(platform, tenant.tenant_id, f)
    payment_id = await paid(platform, tenant, f.position_id, 1_000, "2026-10-05")
    form = {"amount": "1,00", "refunded_on": "20/10/2026", "reason": "Errore"}
    async with service_client(platform, "payments", as_role(tenant, "operator")) as client:
        assert (await client.get(refunds_url(tenant, f.position_id))).status_code == 403
        refused = await client.post(
            f"/t/{tenant.tenant_slug}/payments/payments/{payment_id}/rimborsi", data=form
        )
        assert refused.status_code == 403
    async with service_client(platform, "payments", as_role(tenant, "platform_admin")) as client:
        unknown = await client.post(
            f"/t/{tenant.tenant_slug}/payments/payments/{uuid.uuid4()}/rimborsi", data=form
        )
        assert unknown.status_code == 404
        position_page = await client.get(f"/t/{tenant.tenant_slug}/payments/positions/{f.position_id}")
        assert "Rimborsi di questa posizione" in position_page.text
