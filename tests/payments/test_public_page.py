"""The taxpayer's public page through the real gateway: the signed link shows the Comune, the notices
(PDFs through the same link), the plan and what is paid, nothing else about the person; an altered
or expired link is refused in Italian; requests are limited per client address; views are logged."""

from __future__ import annotations

import functools
import html
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.app import Gateway
from gateway.proxy import AsgiUpstream
from services.kernel.identity import Identity
from services.payments import consumers, repository, repository_delivery
from services.payments.domain_links import LinkGrant, sign
from services.platform import Platform
from tests.conftest import service_client
from tests.gateway.helpers import client, make_gateway
from tests.payments.delivery_helpers import (
    FISCAL_CODE,
    comune,
    debtor_with_positions,
    plan_with_notices,
    post,
)
from tests.payments.test_office_decisions import answered, deliver
from tests.support import make_identity

SEND = "/api/v1/payments/notices/send"


def gateway(platform: Platform) -> Gateway:
    return make_gateway(platform, {"payments": AsgiUpstream(platform.app("payments"))})


def a_client(gw: Gateway):  # type: ignore[no-untyped-def]
    """A client from an address of its own, so the per-address limit counts this test alone."""
    return client(gw, ip=f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")


async def sent_link(platform: Platform, who: Identity, body: dict[str, object]) -> str:
    status, answer = await post(platform, who, SEND, {**body, "email": "pagina@example.it"})
    assert status == 201, answer
    return str(answer["link"]).split("://", 1)[1].split("/", 1)[1]  # the path: /avvisi/<token>


def visible_text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def body_rows(markup: str, testid: str) -> list[str]:
    """The visible text of each body row of the table marked `data-testid=<testid>`."""
    table = markup.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [visible_text(row) for row in body.split("<tr>")[1:]]


def list_items(markup: str, testid: str) -> list[str]:
    """The visible text of each item of the list marked `data-testid=<testid>`."""
    listed = markup.split(f'data-testid="{testid}"', 1)[1].split("</ul>", 1)[0]
    return [visible_text(item) for item in listed.split("<li")[1:]]


async def access_entries(platform: Platform, who: Identity) -> list[tuple[str, str]]:
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        rows = await repository.access.entries(uow, who.tenant_id)
    return [(r.user_id, r.action) for r in rows if r.user_id == "public"]


@pytest.mark.asyncio
async def test_the_link_shows_the_notices_and_downloads_the_pdf_through_the_gateway(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    _, [position] = await debtor_with_positions(platform, tenant, 45_600)
    path = "/" + await sent_link(platform, tenant, {"position_ids": [position]})
    async with a_client(gateway(platform)) as http:
        page = await http.get(path)
        assert page.status_code == 200, page.text
        assert page.headers["cache-control"] == "private, no-store"
        text = visible_text(page.text)
        assert "Comune di Consegna" in text and "€ 456,00" in text and "Da pagare" in text
        assert 'data-testid="one-way"' not in page.text  # one notice: no choice to explain
        assert FISCAL_CODE not in page.text and "VERDI" not in page.text  # nothing else about the person
        # Which debt, in words a taxpayer reads (not an acronym alone), and until when the link works.
        [notice] = list_items(page.text, "notices")
        assert re.search(r"> (Imposta|Tassa|Canone|Sanzioni|Altre)[^·]+ \d{4}, atto \S+", notice), notice
        assert re.search(r"Il collegamento vale fino al \d\d/\d\d/\d{4}", text)
        [pdf_link] = [h for h in re.findall(r'href="([^"]+)"', page.text) if "/pdf/" in h]
        assert pdf_link.startswith(path + "/pdf/3")
        pdf = await http.get(pdf_link)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]
        # Another notice number under the same link is not found; the staff route is not reachable.
        other = await http.get(path + "/pdf/300700000000000099")
        assert other.status_code == 404
        staff = await http.get(f"/t/{tenant.tenant_slug}/payments/notices/{pdf_link.rsplit('/', 1)[1]}/pdf")
        assert staff.status_code == 303  # to the login page
    assert await access_entries(platform, tenant) == [
        ("public", "public_view"),
        ("public", "public_download_notice"),
    ]


@pytest.mark.asyncio
async def test_a_plan_link_shows_the_schedule_and_what_is_paid(platform: Platform, tenant: Identity) -> None:
    await comune(platform, tenant)
    _, positions = await debtor_with_positions(platform, tenant, 60_000)
    plan_id = await plan_with_notices(platform, tenant, positions, 5)
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        await uow.execute(
            __import__("sqlalchemy").text(
                "UPDATE payments.plan_installments SET paid_cents = principal_cents + interest_cents"
                " WHERE tenant_id = :t AND plan_id = :p AND number = 1"
            ),
            {"t": tenant.tenant_id, "p": uuid.UUID(plan_id)},
        )
        await uow.commit()
    path = "/" + await sent_link(platform, tenant, {"plan_id": plan_id})
    async with a_client(gateway(platform)) as http:
        page = await http.get(path)
    assert page.status_code == 200, page.text
    rows = body_rows(page.text, "schedule")
    assert len(rows) == 5 and rows[0].endswith("Pagata") and rows[1].endswith("Da pagare")
    paid = rows[0].split()[2:4]  # "€ 120,84" (principal and interest of the first installment)
    assert f"Già pagato: {' '.join(paid)} su € 60" in visible_text(page.text)
    notices = list_items(page.text, "notices")
    assert len(notices) == 6 and "Saldo unico, in alternativa alle rate" in notices[0]
    assert "> Rata 1 · " in notices[1]
    # One way or the other, as the e-mail says.
    assert 'data-testid="one-way"' in page.text and "Paghi una sola delle due possibilità" in visible_text(
        page.text
    )


@pytest.mark.asyncio
async def test_a_plan_the_office_cancelled_says_so_on_its_link(platform: Platform, tenant: Identity) -> None:
    await comune(platform, tenant)
    _, positions = await debtor_with_positions(platform, tenant, 60_000)
    plan_id = await plan_with_notices(platform, tenant, positions, 5)
    path = "/" + await sent_link(platform, tenant, {"plan_id": plan_id})
    await deliver(platform, consumers.balances, answered(tenant, "cancelled", positions))
    async with a_client(gateway(platform)) as http:
        page = await http.get(path)
    assert page.status_code == 200, page.text
    text = visible_text(page.text)
    assert "Il Comune ha annullato le posizioni di questo piano: le sue rate non sono più dovute" in text
    assert 'data-testid="schedule"' not in page.text and "Da pagare" not in text
    assert "Già pagato" not in text and "Non più pagabile" in text


@pytest.mark.asyncio
async def test_an_altered_or_expired_link_is_refused_in_italian(platform: Platform, tenant: Identity) -> None:
    await comune(platform, tenant)
    debtor, [position] = await debtor_with_positions(platform, tenant, 10_100)
    path = "/" + await sent_link(platform, tenant, {"position_ids": [position]})
    token = path.rsplit("/", 1)[1]
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    past = datetime.now(UTC) - timedelta(minutes=1)
    grant = LinkGrant(tenant.tenant_id, uuid.UUID(debtor), (uuid.UUID(position),), None, past)
    expired = sign(grant, platform.settings.secret_key)
    forged = sign(
        grant.__class__(**{**grant.__dict__, "expires_at": past + timedelta(days=9)}), "not-our-key"
    )
    async with a_client(gateway(platform)) as http:
        for bad in (f"/avvisi/{flipped}", f"/avvisi/{token}x", f"/avvisi/{forged}", "/avvisi/nonvalido"):
            refused = await http.get(bad)
            assert refused.status_code == 400, bad
            assert "Collegamento non valido" in refused.text and "modificato" in refused.text
            assert (await http.get(f"{bad}/pdf/300700000000000099")).status_code == 400
        gone = await http.get(f"/avvisi/{expired}")
        assert gone.status_code == 410 and "Questo collegamento è scaduto" in gone.text
    assert await access_entries(platform, tenant) == []


@pytest.mark.asyncio
async def test_the_public_pages_are_rate_limited_per_address(
    platform: Platform, tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISCOSSA_PUBLIC_RATE_LIMIT", "3/60")
    gw = gateway(platform)
    async with a_client(gw) as http:
        statuses = [(await http.get("/avvisi/nonvalido")).status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        limited = await http.get("/avvisi/nonvalido")
        assert limited.status_code == 429 and "Troppi tentativi" in limited.text
        assert int(limited.headers["retry-after"]) > 0
    async with a_client(gw) as elsewhere:  # another address is not limited
        assert (await elsewhere.get("/avvisi/nonvalido")).status_code == 400


@pytest.mark.asyncio
async def test_only_the_public_identity_opens_the_public_routes(platform: Platform, tenant: Identity) -> None:
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",))
    async with service_client(platform, "payments", operator) as http:
        assert (await http.get("/avvisi/nonvalido")).status_code == 403
    async with service_client(platform, "payments", None) as http:
        assert (await http.get("/avvisi/nonvalido")).status_code == 401


@pytest.mark.asyncio
async def test_another_comune_sees_nothing_of_a_link_s_notices(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    await comune(platform, tenant)
    await comune(platform, other_tenant)
    debtor, [position] = await debtor_with_positions(platform, tenant, 33_300)
    await sent_link(platform, tenant, {"position_ids": [position]})
    ids = (uuid.UUID(position),)
    work = functools.partial(
        repository_delivery.shown_options,
        tenant_id=other_tenant.tenant_id,
        debtor_id=uuid.UUID(debtor),
        position_ids=ids,
        plan_id=None,
    )
    assert await platform.databases["payments"].run(other_tenant.tenant_id, work) == []
    # A link naming the other Comune with this debtor's positions (only the platform could sign it)
    # finds nothing there.
    future = datetime.now(UTC) + timedelta(days=1)
    elsewhere = sign(
        LinkGrant(other_tenant.tenant_id, uuid.UUID(debtor), ids, None, future), platform.settings.secret_key
    )
    async with a_client(gateway(platform)) as http:
        page = await http.get(f"/avvisi/{elsewhere}")
    assert page.status_code == 404 and "Nessun avviso disponibile" in page.text
