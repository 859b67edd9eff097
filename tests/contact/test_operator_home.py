"""The operator's home, through the real gateway and services: each assigned Comune with its queue
(embedded from the contact service as an HTMX fragment), a Comune opened on the operator's queue,
and fragments that do not count as moves between Comuni in the audit."""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime

import pytest

from gateway import repository_audit as audit
from services.cli import build_gateway
from services.contact.domain import ROME
from services.contracts import PaymentReceived
from services.platform import Platform
from tests.contact.helpers import deliver, fact, seed
from tests.gateway.helpers import client, make_person, make_tenant, sign_in
from tests.payments.helpers import seed as seed_payments
from tests.support import contact_clock

HX = {"HX-Request": "true"}


def figure(html: str, name: str) -> int:
    found = re.search(rf'data-testid="{name}">(\d+)<', html)
    assert found, name
    return int(found.group(1))


@pytest.mark.asyncio
async def test_an_operator_lands_on_the_queues_of_their_comuni(platform: Platform) -> None:
    a, b = await make_tenant(platform), await make_tenant(platform)
    await seed(platform, a.id, fact(str(uuid.uuid4()), 10_000), fact(str(uuid.uuid4()), 20_000))
    await seed(platform, b.id, fact(str(uuid.uuid4()), 30_000))
    operator = await make_person(platform, {a.id: "operator", b.id: "operator"})
    gw = build_gateway(platform)
    async with client(gw) as c:
        await sign_in(gw, c, operator)
        home = await c.get("/")
        assert home.status_code == 200
        for tenant in (a, b):
            assert tenant.name in home.text and f'hx-get="/t/{tenant.slug}/contact/summary"' in home.text
        with contact_clock(platform, datetime(2026, 11, 30, 10, 0, tzinfo=ROME)):
            of_a = await c.get(f"/t/{a.slug}/contact/summary", headers=HX)
            of_b = await c.get(f"/t/{b.slug}/contact/summary", headers=HX)
        assert of_a.status_code == of_b.status_code == 200
        assert "<html" not in of_a.text and (figure(of_a.text, "to-call"), figure(of_b.text, "to-call")) == (
            2,
            1,
        )
        assert f'href="/t/{a.slug}/contact/"' in of_a.text
        with contact_clock(platform, datetime(2026, 12, 6, 10, 0, tzinfo=ROME)):
            sunday = await c.get(f"/t/{a.slug}/contact/summary", headers=HX)
        assert "è domenica: non si telefona" in sunday.text
        opened = await c.get(f"/t/{a.slug}/")
        assert opened.status_code == 303 and opened.headers["location"] == f"/t/{a.slug}/contact/"
    # Loading the fragments of two Comuni was not a move from one to the other, nor an entry: only
    # opening A's queue entered a Comune.
    for tenant, entries in ((a, ["tenant_enter"]), (b, [])):
        async with platform.databases["gateway"].unit_of_work(tenant.id) as uow:
            assert [e.action for e in await audit.tenant_entries(uow, tenant.id)] == entries


@pytest.mark.asyncio
async def test_the_comunes_staff_still_land_on_their_dashboard(platform: Platform) -> None:
    a = await make_tenant(platform)
    staff = await make_person(platform, {a.id: "comune_admin"})
    gw = build_gateway(platform)
    async with client(gw) as c:
        await sign_in(gw, c, staff)
        home = await c.get("/")
        assert home.status_code == 303 and home.headers["location"] == f"/t/{a.slug}/"
        opened = await c.get(f"/t/{a.slug}/")
        assert opened.headers["location"] == f"/t/{a.slug}/reporting/"


@pytest.mark.asyncio
async def test_the_card_embeds_the_payments_plan_builder_for_the_positions_still_owed(
    platform: Platform,
) -> None:
    a = await make_tenant(platform)
    d = str(uuid.uuid4())
    owed, settled = fact(d, 120_000, name="GALLI ROSA"), fact(d, 5_000, name="GALLI ROSA")
    await seed(platform, a.id, owed, settled)
    await seed_payments(platform, a.id, owed, settled)
    payment = PaymentReceived(str(uuid.uuid4()), settled.position_id, d, 5_000, "2026-11-20", "pagoPA")
    await deliver(platform, payment.envelope(a.id))
    operator = await make_person(platform, {a.id: "operator"})
    gw = build_gateway(platform)
    async with client(gw) as c:
        await sign_in(gw, c, operator)
        card = await c.get(f"/t/{a.slug}/contact/debtors/{d}")
        assert card.status_code == 200 and "Pagata in parte" not in card.text and "Pagata" in card.text
        found = re.search(r'hx-get="([^"]+/payments/plans/builder\?[^"]+)"', card.text)
        assert found is not None
        url = html.unescape(found.group(1))
        assert owed.position_id in url and settled.position_id not in url
        builder = await c.get(url, headers=HX)
    assert builder.status_code == 200
    assert 'id="plan-builder"' in builder.text and "<html" not in builder.text
    assert "€ 1.200,00" in builder.text
