"""Manual payments: a reason and the evidence file are required on the form; the evidence is kept
in object storage, linked from the position page and its download is audited."""

from __future__ import annotations

import re

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, position, scalar, seed
from tests.support import EVIDENCE

FORM = {"paid_on": "02/05/2024", "amount": "25,00", "reason": "Bonifico sul conto di tesoreria"}


def url(who: Identity, position_id: str) -> str:
    return f"/t/{who.tenant_slug}/payments/positions/{position_id}/payments"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("form", "files", "field", "message"),
    [
        ({**FORM, "reason": ""}, EVIDENCE, "reason", "motivo"),
        (FORM, None, "evidence", "Allega la ricevuta"),
        (FORM, {"evidence": ("nota.txt", b"solo testo", "text/plain")}, "evidence", "PDF, un JPEG o un PNG"),
    ],
)
async def test_a_manual_payment_without_reason_or_proper_evidence_is_refused(
    platform: Platform, tenant: Identity, form: dict[str, str], files: object, field: str, message: str
) -> None:
    f = fact(10_000)
    await seed(platform, tenant.tenant_id, f)
    async with service_client(platform, "payments", tenant) as client:
        response = await client.post(
            url(tenant, f.position_id),
            data=form,
            files=files,
            headers={"HX-Request": "true"},  # type: ignore[arg-type]
        )
    assert response.status_code == 400 and f'data-field="{field}"' in response.text
    assert message in response.text
    row = await position(platform, tenant.tenant_id, f.position_id)
    assert row is not None and row.paid_cents == 0


@pytest.mark.asyncio
async def test_the_evidence_is_kept_linked_and_its_download_audited(
    platform: Platform, tenant: Identity
) -> None:
    f = fact(10_000)
    await seed(platform, tenant.tenant_id, f)
    async with service_client(platform, "payments", tenant) as client:
        created = await client.post(url(tenant, f.position_id), data=FORM, files=EVIDENCE)
        assert created.status_code == 303
        page = await client.get(f"/t/{tenant.tenant_slug}/payments/positions/{f.position_id}")
        assert "Bonifico sul conto di tesoreria" in page.text
        assert "<td>Utente di prova · Bonifico sul conto di tesoreria" in page.text  # a name, not an id
        link = re.search(r'href="([^"]+/evidence)"', page.text)
        assert link is not None
        download = await client.get(link.group(1))
    assert download.status_code == 200 and download.content == EVIDENCE["evidence"][1]
    assert download.headers["content-type"] == "application/pdf"
    audited = "SELECT count(*) FROM payments.access_log WHERE tenant_id = :t AND action = 'download_evidence'"
    assert await scalar(platform, tenant.tenant_id, audited, t=tenant.tenant_id) == 1


@pytest.mark.asyncio
async def test_the_api_takes_the_evidence_as_multipart(platform: Platform, tenant: Identity) -> None:
    from tests.payments.test_notices import api

    f = fact(10_000)
    await seed(platform, tenant.tenant_id, f)
    async with service_client(platform, "payments", api(tenant)) as client:
        no_reason = await client.post(
            f"/api/v1/payments/positions/{f.position_id}/payments",
            json={"amount_cents": 100, "paid_on": "2024-05-02"},
        )
        assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
        created = await client.post(
            f"/api/v1/payments/positions/{f.position_id}/payments",
            data={"amount_cents": "2500", "paid_on": "2024-05-02", "reason": "Sportello"},
            files=EVIDENCE,
        )
    assert created.status_code == 201, created.text
    kept = "SELECT evidence_name FROM payments.payments WHERE tenant_id = :t"
    assert await scalar(platform, tenant.tenant_id, kept, t=tenant.tenant_id) == "ricevuta.pdf"


@pytest.mark.asyncio
async def test_a_manual_payment_retires_the_notices_it_made_wrong(
    platform: Platform, tenant: Identity
) -> None:
    """In a plan it pays the installments in due order; notices of a changed amount stop being
    payable and the next issue gives new ones for what is left."""
    import uuid

    from tests.payments.test_notices import api, with_creditor
    from tests.support import position_fact

    await with_creditor(platform, tenant)
    a = position_fact(120_000, debtor_id=str(uuid.uuid4()), credit=("IMU", 2023, "P"))
    await seed(platform, tenant.tenant_id, a)
    async with service_client(platform, "payments", api(tenant)) as http:
        plan = (
            await http.post(
                "/api/v1/payments/plans", json={"position_ids": [a.position_id], "installments": 5}
            )
        ).json()
        before = (await http.post("/api/v1/payments/notices", json={"plan_id": plan["plan_id"]})).json()[
            "options"
        ]
        first = before[1]["amount_cents"]
        cents = first + 1_000
        paid = await http.post(
            f"/api/v1/payments/positions/{a.position_id}/payments",
            json={"amount_cents": cents, "paid_on": "2026-11-02", "reason": "Bonifico in tesoreria"},
        )
        assert paid.status_code == 201, paid.text
        after = (await http.post("/api/v1/payments/notices", json={"plan_id": plan["plan_id"]})).json()[
            "options"
        ]
    statuses = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND nav = :n"
    assert (
        await scalar(platform, tenant.tenant_id, statuses, t=tenant.tenant_id, n=before[0]["nav"])
        == "replaced"
    )
    assert (
        await scalar(platform, tenant.tenant_id, statuses, t=tenant.tenant_id, n=before[1]["nav"])
        == "unpayable"
    )
    assert (
        await scalar(platform, tenant.tenant_id, statuses, t=tenant.tenant_id, n=before[2]["nav"])
        == "replaced"
    )
    assert [o["installment"] for o in after] == [None, 2, 3, 4, 5]
    # The plan's single payment asks for the debt still owed: what the payment paid of the
    # installments' interest (each one's first, `domain_interest`) did not pay the debt.
    interest = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT interest_cents FROM payments.payments WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert after[0]["amount_cents"] == 120_000 - cents + interest and after[0]["nav"] != before[0]["nav"]
    assert after[1]["amount_cents"] == before[2]["amount_cents"] - 1_000
    assert after[2]["nav"] == before[3]["nav"]  # untouched installments keep their notice
    # The rest paid by hand: the debt is paid, so no installment is owed (their interest included)
    # and none of the plan's notices can be paid any more.
    async with service_client(platform, "payments", api(tenant)) as http:
        rest = await http.post(
            f"/api/v1/payments/positions/{a.position_id}/payments",
            json={
                "amount_cents": 120_000 - cents + interest,
                "paid_on": "2026-11-03",
                "reason": "Saldo in tesoreria",
            },
        )
        assert rest.status_code == 201, rest.text
        again = await http.post("/api/v1/payments/notices", json={"plan_id": plan["plan_id"]})
    assert again.status_code == 409 and "già saldate" in again.text
    owed = (
        "SELECT count(*) FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p"
        " AND paid_cents < principal_cents + interest_cents"
    )
    assert (
        await scalar(platform, tenant.tenant_id, owed, t=tenant.tenant_id, p=uuid.UUID(plan["plan_id"])) == 0
    )
    payable = "SELECT count(*) FROM payments.payment_options WHERE tenant_id = :t AND status = 'payable'"
    assert await scalar(platform, tenant.tenant_id, payable, t=tenant.tenant_id) == 0
