from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.kernel.identity import Identity
from services.payments import repository
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, position, scalar, seed
from tests.support import EVIDENCE, make_identity

TODAY = datetime.now(ZoneInfo("Europe/Rome")).date()


def base(who: Identity) -> str:
    return f"/t/{who.tenant_slug}/payments"


def api_identity(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-1")


async def payment_events(platform: Platform, who: Identity, position_id: str) -> list[dict[str, object]]:
    raw = await scalar(
        platform,
        who.tenant_id,
        "SELECT coalesce(json_agg(convert_from(body, 'UTF8')::jsonb -> 'payload'), '[]') FROM payments.outbox "
        "WHERE routing_key = 'payments.payment_received.v1' "
        "AND convert_from(body, 'UTF8')::jsonb -> 'payload' ->> 'position_id' = :p",
        p=position_id,
    )
    return list(raw if isinstance(raw, list) else json.loads(str(raw)))


@pytest.mark.asyncio
async def test_search_and_position_page(platform: Platform, tenant: Identity) -> None:
    f = fact(123_456, name="GIALLI PIERO", fiscal_code="GLLPRI60C10L219K")
    await seed(platform, tenant.tenant_id, f, fact(100, name="ALTRO NOME", fiscal_code="LTRNMO50A01H501A"))
    async with service_client(platform, "payments", tenant) as client:
        found = await client.get(f"{base(tenant)}/", params={"q": "GLLPRI"}, headers={"HX-Request": "true"})
        page = await client.get(f"{base(tenant)}/positions/{f.position_id}")
    assert found.status_code == 200
    assert "GIALLI PIERO" in found.text and "ALTRO NOME" not in found.text
    assert "<html" not in found.text
    assert page.status_code == 200
    assert "€ 1.234,56" in page.text
    assert "Nessun pagamento registrato." in page.text


@pytest.mark.asyncio
async def test_a_debtor_without_a_name_is_still_a_link_that_says_so(
    platform: Platform, tenant: Identity
) -> None:
    f = fact(5_000, name="", fiscal_code="GLLPRI60C10L219K")
    await seed(platform, tenant.tenant_id, f)
    async with service_client(platform, "payments", tenant) as client:
        found = await client.get(f"{base(tenant)}/", params={"q": "GLLPRI"}, headers={"HX-Request": "true"})
        page = await client.get(f"{base(tenant)}/positions/{f.position_id}")
    link = f'<a href="/t/{tenant.tenant_slug}/payments/positions/{f.position_id}">'
    assert link + "Nominativo mancante · GLLPRI60C10L219K</a>" in found.text
    assert '<h1 class="h2">Nominativo mancante · GLLPRI60C10L219K</h1>' in page.text


@pytest.mark.asyncio
async def test_searches_and_position_pages_are_logged(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    f = fact(123_456, name="GIALLI PIERO", fiscal_code="GLLPRI60C10L219K")
    await seed(platform, tenant.tenant_id, f)
    async with service_client(platform, "payments", tenant) as client:
        await client.get(f"{base(tenant)}/", params={"q": "NESSUNO"})
        await client.get(f"{base(tenant)}/", params={"q": "GLLPRI"})
        await client.get(f"{base(tenant)}/positions/{f.position_id}")
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        logged = await repository.access.entries(uow, tenant.tenant_id)
    async with platform.databases["payments"].unit_of_work(other_tenant.tenant_id) as uow:
        assert await repository.access.entries(uow, other_tenant.tenant_id) == []
    # A search that found nobody showed no personal data.
    assert [(e.action, e.subject_id, e.user_id) for e in logged] == [
        ("search_positions", None, tenant.user_id),
        ("view_position", uuid.UUID(f.position_id), tenant.user_id),
    ]
    assert logged[0].detail == "«GLLPRI»"


@pytest.mark.asyncio
async def test_record_payment_web_happy_path(platform: Platform, tenant: Identity) -> None:
    f = fact(50_000)
    await seed(platform, tenant.tenant_id, f)
    paid_on = TODAY.strftime("%d/%m/%Y")
    async with service_client(platform, "payments", tenant) as client:
        response = await client.post(
            f"{base(tenant)}/positions/{f.position_id}/payments",
            files=EVIDENCE,
            data={
                "reason": "Bonifico in tesoreria",
                "paid_on": paid_on,
                "amount": "€ 123,45",
                "csrf_token": "t",
            },
            headers={"HX-Request": "true"},
        )
        assert response.headers["HX-Redirect"] == f"{base(tenant)}/positions/{f.position_id}?registrato=1"
        page = await client.get(response.headers["HX-Redirect"])
    assert "Pagamento registrato." in page.text
    assert "€ 376,55" in page.text
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 12_345
    events = await payment_events(platform, tenant, f.position_id)
    assert len(events) == 1
    assert (events[0]["amount_cents"], events[0]["paid_on"], events[0]["recorded_by"]) == (
        12_345,
        TODAY.isoformat(),
        "test-user",
    )
    assert events[0]["debtor_id"] == f.debtor_id


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"paid_on": "01/02/2024", "amount": "600,00"}, "amount", "supera il residuo da pagare (€ 499,99)"),
        ({"paid_on": "01/02/2024", "amount": "-5"}, "amount", "non può essere negativo"),
        ({"paid_on": "01/02/2024", "amount": "abc"}, "amount", "non valido"),
        ({"paid_on": (TODAY + timedelta(days=1)).strftime("%d/%m/%Y"), "amount": "5"}, "paid_on", "futuro"),
        ({"paid_on": "31/12/1999", "amount": "5"}, "paid_on", "2000"),
        ({"paid_on": "", "amount": "5"}, "paid_on", "Indica la data"),
    ],
)
async def test_bad_payment_input_is_refused(
    platform: Platform, tenant: Identity, data: dict[str, str], field: str, message: str
) -> None:
    f = fact(50_000)
    await seed(platform, tenant.tenant_id, f)
    async with service_client(platform, "payments", tenant) as client:
        await client.post(
            f"{base(tenant)}/positions/{f.position_id}/payments",
            files=EVIDENCE,
            data={"reason": "Bonifico in tesoreria", "paid_on": "01/01/2024", "amount": "0,01"},
        )
        response = await client.post(
            f"{base(tenant)}/positions/{f.position_id}/payments",
            data={**data, "reason": "Bonifico in tesoreria"},
            files=EVIDENCE,
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 400
    assert f'data-field="{field}"' in response.text
    assert message in response.text.replace("&#x27;", "'")
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 1
    assert len(await payment_events(platform, tenant, f.position_id)) == 1


@pytest.mark.asyncio
async def test_api_records_payment(platform: Platform, tenant: Identity) -> None:
    f = fact(10_000)
    await seed(platform, tenant.tenant_id, f)
    url = f"/api/v1/payments/positions/{f.position_id}/payments"
    async with service_client(platform, "payments", api_identity(tenant)) as client:
        created = await client.post(
            url, json={"reason": "Bonifico in tesoreria", "paid_on": "2024-05-02", "amount_cents": 2_500}
        )
        over = await client.post(
            url, json={"reason": "Bonifico in tesoreria", "paid_on": "2024-05-02", "amount_cents": 7_501}
        )
        bad_date = await client.post(
            url, json={"reason": "Bonifico in tesoreria", "paid_on": "2999-01-01", "amount_cents": 1}
        )
        not_json = await client.post(url, content=b"{", headers={"content-type": "application/json"})
    assert created.status_code == 201
    body = created.json()
    assert (body["amount_cents"], body["paid_on"], body["paid_cents"], body["residual_cents"]) == (
        2_500,
        "2024-05-02",
        2_500,
        7_500,
    )
    assert uuid.UUID(body["payment_id"])
    assert over.status_code == 400
    assert over.json() == {
        "error": "L'importo supera il residuo da pagare (€ 75,00).",
        "field": "amount_cents",
    }
    assert (bad_date.status_code, bad_date.json()["field"]) == (400, "paid_on")
    assert not_json.status_code == 400
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 2_500


@pytest.mark.asyncio
async def test_concurrent_api_payments_cannot_overpay(platform: Platform, tenant: Identity) -> None:
    f = fact(1_000)
    await seed(platform, tenant.tenant_id, f)
    url = f"/api/v1/payments/positions/{f.position_id}/payments"
    async with service_client(platform, "payments", api_identity(tenant)) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    url,
                    json={"reason": "Bonifico in tesoreria", "paid_on": "2024-05-02", "amount_cents": 400},
                )
                for _ in range(4)
            )
        )
    assert sorted(r.status_code for r in responses)[:2] == [201, 201]
    assert all(r.status_code in (201, 400, 409) for r in responses)
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 800
    assert len(await payment_events(platform, tenant, f.position_id)) == 2


@pytest.mark.asyncio
async def test_roles(platform: Platform, tenant: Identity) -> None:
    f = fact(1_000)
    await seed(platform, tenant.tenant_id, f)
    viewer = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("comune_viewer",))
    async with service_client(platform, "payments", viewer) as client:
        web = [
            await client.get(f"{base(tenant)}/"),
            await client.get(f"{base(tenant)}/positions/{f.position_id}"),
            await client.post(
                f"{base(tenant)}/positions/{f.position_id}/payments",
                files=EVIDENCE,
                data={"reason": "Bonifico in tesoreria", "paid_on": "01/01/2024", "amount": "1"},
            ),
            await client.post(
                f"/api/v1/payments/positions/{f.position_id}/payments",
                json={"reason": "Bonifico in tesoreria", "paid_on": "2024-01-01", "amount_cents": 1},
            ),
        ]
    async with service_client(platform, "payments", api_identity(tenant)) as client:
        api_on_web = await client.get(f"{base(tenant)}/")
    async with service_client(platform, "payments", tenant) as client:
        web_on_api = await client.post(
            f"/api/v1/payments/positions/{f.position_id}/payments",
            json={"reason": "Bonifico in tesoreria", "paid_on": "2024-01-01", "amount_cents": 1},
        )
    # The office reads a position (read only: `test_plan_reamount`), never records a payment.
    assert [r.status_code for r in web] == [403, 200, 403, 403]
    assert (api_on_web.status_code, web_on_api.status_code) == (403, 403)
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 0


@pytest.mark.asyncio
async def test_foreign_position_is_not_found(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    f = fact(1_000)
    await seed(platform, tenant.tenant_id, f)
    async with service_client(platform, "payments", other_tenant) as client:
        page = await client.get(f"{base(other_tenant)}/positions/{f.position_id}")
        unknown = await client.get(f"{base(other_tenant)}/positions/{uuid.uuid4()}")
        write = await client.post(
            f"{base(other_tenant)}/positions/{f.position_id}/payments",
            files=EVIDENCE,
            data={"reason": "Bonifico in tesoreria", "paid_on": "01/01/2024", "amount": "1"},
        )
        found = await client.get(f"{base(other_tenant)}/", params={"q": "ROSSI"})
    async with service_client(platform, "payments", api_identity(other_tenant)) as client:
        api = await client.post(
            f"/api/v1/payments/positions/{f.position_id}/payments",
            json={"reason": "Bonifico in tesoreria", "paid_on": "2024-01-01", "amount_cents": 1},
        )
    assert [r.status_code for r in (page, unknown, write, api)] == [404, 404, 404, 404]
    assert page.text == unknown.text
    assert "ROSSI MARIO" not in found.text
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 0


@pytest.mark.asyncio
async def test_a_retried_api_payment_is_recorded_once(platform: Platform, tenant: Identity) -> None:
    f, other = fact(10_000), fact(10_000)
    await seed(platform, tenant.tenant_id, f, other)
    url = f"/api/v1/payments/positions/{f.position_id}/payments"
    body = {"reason": "Bonifico in tesoreria", "paid_on": "2024-05-02", "amount_cents": 2_500}
    key = {"idempotency-key": f"gestionale-{uuid.uuid4().hex}"}
    async with service_client(platform, "payments", api_identity(tenant)) as client:
        first = await client.post(url, json=body, headers=key)
        again = await client.post(url, json=body, headers=key)
        concurrent = await asyncio.gather(
            *(client.post(url, json=body, headers={"idempotency-key": "parallel-key-1"}) for _ in range(5))
        )
        misused = await client.post(
            f"/api/v1/payments/positions/{other.position_id}/payments", json=body, headers=key
        )
        bad_key = await client.post(url, json=body, headers={"idempotency-key": "x"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["payment_id"] == first.json()["payment_id"] and again.json()["replayed"] is True
    assert sorted(r.status_code for r in concurrent).count(201) == 1
    assert all(r.status_code in (200, 201, 409) for r in concurrent)
    assert misused.status_code == 409
    assert (bad_key.status_code, bad_key.json()["field"]) == (400, "idempotency_key")
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 5_000  # one for `key`, one for "parallel-key-1"
    outbox = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM payments.outbox WHERE routing_key = 'payments.payment_received.v1'",
    )
    assert outbox == 2


@pytest.mark.asyncio
async def test_a_double_submitted_payment_form_records_one_payment(
    platform: Platform, tenant: Identity
) -> None:
    f = fact(10_000)
    await seed(platform, tenant.tenant_id, f)
    async with service_client(platform, "payments", tenant) as client:
        page = await client.get(f"/t/{tenant.tenant_slug}/payments/positions/{f.position_id}")
        key = page.text.split('name="idempotency_key" value="')[1].split('"')[0]
        form = {
            "paid_on": "02/05/2024",
            "amount": "25,00",
            "idempotency_key": key,
            "reason": "Bonifico in tesoreria",
        }
        url = f"/t/{tenant.tenant_slug}/payments/positions/{f.position_id}/payments"
        responses = [await client.post(url, data=form, files=EVIDENCE) for _ in range(2)]
        fresh = await client.get(f"/t/{tenant.tenant_slug}/payments/positions/{f.position_id}")
    assert [r.status_code for r in responses] == [303, 303]
    assert 'name="idempotency_key" value="' + key not in fresh.text
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 2_500
