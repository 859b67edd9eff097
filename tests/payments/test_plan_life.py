"""The life of a plan against the real database, object storage and SMTP server: the sollecito
e-mailed with its PDF (or kept for the post), the lapse (c.800, art. 202-bis), the one extension
(c.798), the c.803 charges."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

import pypdfium2
import pytest
import sqlalchemy as sa

from services.contracts import NoticeSent, PlanExtended, PlanLapsed
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict
from services.kernel.identity import Identity
from services.kernel.storage import read_all
from services.payments import handlers_lapse, handlers_notices, handlers_plans
from services.payments.daily import run_daily
from services.payments.domain import format_cents
from services.payments.domain_schedule import schedule
from services.payments.domain_simulation import PlanRequest
from services.payments.repository_emails import EmailRecord, keep_emails
from services.payments.seed import seed_creditors
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import scalar, seed
from tests.smtp_server import Inbox
from tests.support import make_identity, position_fact

PLAN_DAY = date(2026, 1, 10)
# Six installments due 28/02, 31/03, 30/04, 31/05, 30/06, 31/07/2026.


def solleciti(mails: list[EmailMessage]) -> list[EmailMessage]:
    """The sollecito e-mails among those a debtor received (the daily run sends others too)."""
    return [m for m in mails if "sollecito" in str(m["Subject"])]


def pdf_text(pdf: bytes) -> str:
    return str(pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range())


async def run(platform: Platform, who: Identity, work: Any) -> Any:
    return await platform.databases["payments"].run(who.tenant_id, work)


async def make_plan(
    platform: Platform,
    who: Identity,
    email: str | None,
    credit: tuple[str, int, str] = ("TARI", 2024, "T"),
    **kw: Any,
) -> tuple[uuid.UUID, str, str]:
    """A plan of six installments for one position of € 1,000.00; returns plan, position, debtor."""
    debtor = str(uuid.uuid4())
    fact = position_fact(kw.get("cents", 100_000), debtor_id=debtor, credit=credit, name="VERDI ANNA")
    await seed(platform, who.tenant_id, fact)
    if email is not None:
        record = EmailRecord(uuid.uuid4(), uuid.UUID(debtor), "email", email, True)
        await run(platform, who, lambda uow: keep_emails(uow, who.tenant_id, [record]))
    request = PlanRequest((uuid.UUID(fact.position_id),), kw.get("installments", 6), None, credit[0] == "CDS")
    plan = await run(platform, who, lambda uow: handlers_plans.create_plan(uow, who, request, PLAN_DAY))
    return plan.plan_id, fact.position_id, debtor


async def pay(
    platform: Platform, who: Identity, plan_id: uuid.UUID, number: int, cents: int | None = None
) -> None:
    async def work(uow: UnitOfWork) -> None:
        sql = "SELECT principal_cents + interest_cents FROM payments.plan_installments WHERE plan_id = :p AND number = :n"
        due = int((await uow.execute(sa.text(sql), {"p": plan_id, "n": number})).scalar_one())
        await handlers_lapse.mark_installment_paid(
            uow, who.tenant_id, plan_id, number, due if cents is None else cents
        )

    await run(platform, who, work)


async def daily(platform: Platform, who: Identity, day: date) -> dict[str, Any]:
    done = await run_daily(platform.context("payments"), day, [who.tenant_id])
    return done[who.tenant_id]


async def plan_row(platform: Platform, who: Identity, plan_id: uuid.UUID, columns: str) -> Any:
    sql = f"SELECT ({columns}) FROM payments.plans WHERE id = :p"
    return await scalar(platform, who.tenant_id, sql, p=plan_id)


async def count(platform: Platform, who: Identity, table: str, where: str = "true", **params: object) -> int:
    sql = f"SELECT count(*) FROM payments.{table} WHERE tenant_id = :t AND {where}"
    found: Any = await scalar(platform, who.tenant_id, sql, t=who.tenant_id, **params)
    return int(found)


@pytest.mark.asyncio
async def test_the_sollecito_is_mailed_once_with_its_pdf_then_two_missed_installments_lapse_the_plan(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    address = f"{uuid.uuid4().hex[:10]}@example.it"
    plan_id, position_id, debtor = await make_plan(platform, tenant, address)
    # Installment 1 falls due on Saturday 28 February 2026: payable until Monday 2 March.
    assert (await daily(platform, tenant, date(2026, 3, 2)))["sollecito_and_lapse"].emailed == 0
    report = (await daily(platform, tenant, date(2026, 3, 3)))["sollecito_and_lapse"]
    assert (report.emailed, report.by_post, report.lapsed) == (1, [], 0)
    [mail] = solleciti(await smtp.wait_for(address))
    assert "sollecito" in str(mail["Subject"]) and "Comune di Demo A" in str(mail["Subject"])
    body = mail.get_body(("plain",))
    assert body is not None and "comma 800" in body.get_content()
    [attached] = list(mail.iter_attachments())
    assert attached.get_content_type() == "application/pdf"
    text = " ".join(pdf_text(attached.get_content()).split())
    assert "SOLLECITO DI PAGAMENTO" in text and "VERDI ANNA" in text and "28/02/2026" in text
    residue = 100_000 + schedule(100_000, 6, PLAN_DAY, date(2026, 2, 28))[0].interest_cents
    assert "comma 800" in text and f"Residuo del piano: {format_cents(residue)}" in text
    assert await count(platform, tenant, "messages", "kind = 'sollecito' AND recipient = :r", r=address) == 1
    assert await plan_row(platform, tenant, plan_id, "reminder_sent_at IS NOT NULL") is True
    sent = "routing_key = :k AND convert_from(body, 'UTF8') LIKE :w"
    assert await count(platform, tenant, "outbox", sent, k=NoticeSent.routing_key(), w="%sollecito%") == 1
    assert await count(platform, tenant, "outbox", sent, k=NoticeSent.routing_key(), w=f"%{address}%") == 1
    # Once per plan.
    await pay(platform, tenant, plan_id, 2)
    await daily(platform, tenant, date(2026, 4, 1))
    assert len(solleciti(smtp.to(address))) == 1
    # Installment 1 missed before the reminder, 2 paid, 3 missed after it: the plan lapses.
    assert (await daily(platform, tenant, date(2026, 4, 30)))["sollecito_and_lapse"].lapsed == 0
    assert (await daily(platform, tenant, date(2026, 5, 1)))["sollecito_and_lapse"].lapsed == 1
    assert await plan_row(platform, tenant, plan_id, "status || ' ' || lapsed_on") == "lapsed 2026-05-01"
    assert await count(platform, tenant, "plan_positions", "plan_id = :p AND active", p=plan_id) == 0
    body_sql = (
        "SELECT convert_from(body, 'UTF8') FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k"
    )
    event = await scalar(platform, tenant.tenant_id, body_sql, t=tenant.tenant_id, k=PlanLapsed.routing_key())
    assert position_id in str(event) and debtor in str(event)
    # The residue is due at once: no new plan, nothing recorded.
    request = PlanRequest((uuid.UUID(position_id),), 4, None, False)
    with pytest.raises(Conflict, match="decaduto") as refused:
        await run(
            platform, tenant, lambda uow: handlers_plans.create_plan(uow, tenant, request, date(2026, 5, 2))
        )
    assert "unica soluzione" in refused.value.message
    assert await count(platform, tenant, "plans") == 1
    # Nor an extension.
    with pytest.raises(Conflict, match="decaduto"):
        await run(
            platform,
            tenant,
            lambda uow: handlers_lapse.extend_plan(uow, tenant, plan_id, 10, "Malattia", date(2026, 5, 2)),
        )
    assert await count(platform, tenant, "plan_extensions") == 0


@pytest.mark.asyncio
async def test_without_an_address_the_sollecito_is_kept_for_the_post(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, _, _ = await make_plan(platform, tenant, None)
    report = (await daily(platform, tenant, date(2026, 3, 3)))["sollecito_and_lapse"]
    assert report.emailed == 0 and len(report.by_post) == 1
    pdf = await read_all(platform.storage, tenant.tenant_id, report.by_post[0])
    assert "SOLLECITO DI PAGAMENTO" in pdf_text(pdf)
    assert await count(platform, tenant, "messages", "kind = 'sollecito' AND channel = 'post'") == 1
    # The contact service's history takes e-mail and SMS only: no event for the post.
    assert await count(platform, tenant, "outbox", "routing_key = :k", k=NoticeSent.routing_key()) == 0
    assert await plan_row(platform, tenant, plan_id, "reminder_sent_at IS NOT NULL") is True


@pytest.mark.asyncio
async def test_one_missed_installment_lapses_a_cds_plan_without_a_sollecito(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    address = f"{uuid.uuid4().hex[:10]}@example.it"
    plan_id, position_id, _ = await make_plan(
        platform, tenant, address, ("CDS", 2025, "V"), cents=60_000, installments=3
    )
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    await run(platform, tenant, lambda uow: handlers_notices.issue_plan_notices(uow, tenant, plan_id))
    report = (await daily(platform, tenant, date(2026, 3, 3)))["sollecito_and_lapse"]
    assert (report.emailed, report.lapsed) == (0, 1)
    assert await plan_row(platform, tenant, plan_id, "status") == "lapsed"
    # Its notices stop being payable: the residue is due at once, on a new notice.
    assert (
        await count(platform, tenant, "payment_options", "plan_id = :p AND status = 'replaced'", p=plan_id)
        == 4
    )
    residue = "position_id = :p AND plan_id IS NULL AND status = 'payable' AND amount_cents = 60000"
    assert await count(platform, tenant, "payment_options", residue, p=uuid.UUID(position_id)) == 1
    assert solleciti(smtp.to(address)) == []
    request = PlanRequest((uuid.UUID(position_id),), 2, None, True)
    with pytest.raises(Conflict, match="202-bis"):
        await run(
            platform, tenant, lambda uow: handlers_plans.create_plan(uow, tenant, request, date(2026, 3, 4))
        )


@pytest.mark.asyncio
async def test_an_l160_plan_with_one_missed_installment_does_not_lapse(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, _, _ = await make_plan(platform, tenant, f"{uuid.uuid4().hex[:10]}@example.it")
    await daily(platform, tenant, date(2026, 3, 1))
    for number in (2, 3, 4):
        await pay(platform, tenant, plan_id, number)
    assert (await daily(platform, tenant, date(2026, 6, 1)))["sollecito_and_lapse"].lapsed == 0
    assert await plan_row(platform, tenant, plan_id, "status") == "active"


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-7")


async def extend(
    platform: Platform, who: Identity, plan_id: uuid.UUID, body: dict[str, Any]
) -> tuple[int, Any]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.post(f"/api/v1/payments/plans/{plan_id}/extension", json=body)
    return response.status_code, response.json()


@pytest.mark.asyncio
async def test_a_plan_is_extended_once_for_its_residual_principal(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, _, _ = await make_plan(platform, tenant, None)
    await pay(platform, tenant, plan_id, 1)
    assert len((await daily(platform, tenant, date(2026, 4, 1)))["sollecito_and_lapse"].by_post) == 1
    status, answer = await extend(
        platform, tenant, plan_id, {"installments": 10, "reason": "Perdita del lavoro"}
    )
    assert status == 201, answer
    principal_1 = 100_000 // 6
    assert answer["residual_principal_cents"] == 100_000 - principal_1
    assert (answer["installments_before"], answer["installments_after"]) == (6, 11)
    assert [i["number"] for i in answer["schedule"]] == list(range(7, 17))
    assert sum(i["principal_cents"] for i in answer["schedule"]) == 100_000 - principal_1
    total = "SELECT sum(principal_cents) FROM payments.plan_installments WHERE plan_id = :p"
    assert await scalar(platform, tenant.tenant_id, total, p=plan_id) == 100_000
    assert await count(platform, tenant, "plan_installments", "plan_id = :p", p=plan_id) == 11
    assert await plan_row(platform, tenant, plan_id, "installments") == 11
    # The new schedule starts afresh: its own first missed installment gets a new sollecito.
    assert await plan_row(platform, tenant, plan_id, "reminder_sent_at IS NULL") is True
    reason = "SELECT reason FROM payments.plan_extensions WHERE plan_id = :p"
    assert await scalar(platform, tenant.tenant_id, reason, p=plan_id) == "Perdita del lavoro"
    assert await count(platform, tenant, "outbox", "routing_key = :k", k=PlanExtended.routing_key()) == 1
    # The second time: refused in Italian, nothing recorded.
    again = await extend(platform, tenant, plan_id, {"installments": 20, "reason": "Malattia"})
    assert again[0] == 409 and "una sola proroga" in again[1]["error"]
    assert await count(platform, tenant, "plan_installments", "plan_id = :p", p=plan_id) == 11
    assert await count(platform, tenant, "plan_extensions") == 1
    assert await count(platform, tenant, "outbox", "routing_key = :k", k=PlanExtended.routing_key()) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"installments": 10}, 400, "peggioramento"),
        ({"installments": 10, "reason": " "}, 400, "peggioramento"),
        ({"installments": 6, "reason": "Malattia"}, 400, "più rate"),
        ({"installments": 73, "reason": "Malattia"}, 400, "al massimo in 72"),
        ({"installments": "10", "reason": "Malattia"}, 400, "numero intero"),
        ({"installments": 10, "reason": "Malattia", "first_due_date": "2099-01-31"}, 400, "entro tre mesi"),
    ],
)
async def test_a_bad_extension_is_refused_in_italian_and_nothing_recorded(
    platform: Platform, tenant: Identity, body: dict[str, Any], status: int, words: str
) -> None:
    plan_id, _, _ = await make_plan(platform, tenant, None)
    answer = await extend(platform, tenant, plan_id, body)
    assert answer[0] == status and words in answer[1]["error"]
    assert await count(platform, tenant, "plan_extensions") == 0
    assert await count(platform, tenant, "plan_installments", "plan_id = :p", p=plan_id) == 6


@pytest.mark.asyncio
async def test_another_comunes_plan_is_not_found(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    plan_id, _, _ = await make_plan(platform, tenant, None)
    status, answer = await extend(platform, other_tenant, plan_id, {"installments": 10, "reason": "Malattia"})
    assert status == 404 and "non trovato" in answer["error"]


@pytest.mark.asyncio
async def test_the_collection_charges_are_added_when_the_comune_applies_them(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    for who in (tenant, other_tenant):
        await seed_creditors(platform.databases["payments"], {"comune-demo-a": who.tenant_id})
    sql = "UPDATE payments.creditors SET applies_charges = true WHERE tenant_id = :t RETURNING 1"
    await run(platform, tenant, lambda uow: uow.execute(sa.text(sql), {"t": tenant.tenant_id}))
    plan_id, _, _ = await make_plan(platform, tenant, None)
    assert await plan_row(platform, tenant, plan_id, "charges_cents") == 3_000
    other, _, _ = await make_plan(platform, other_tenant, None)
    assert await plan_row(platform, other_tenant, other, "charges_cents") == 0
    # The API tells them.
    fact = position_fact(80_000, credit=("IMU", 2023, "A"))
    await seed(platform, tenant.tenant_id, fact)
    async with service_client(platform, "payments", api(tenant)) as http:
        response = await http.post(
            "/api/v1/payments/plans", json={"position_ids": [fact.position_id], "installments": 5}
        )
    assert response.status_code == 201 and response.json()["charges_cents"] == 2_400


@pytest.mark.asyncio
async def test_charges_are_6_percent_more_than_60_days_after_the_first_notice(
    platform: Platform, tenant: Identity
) -> None:
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    sql = "UPDATE payments.creditors SET applies_charges = true WHERE tenant_id = :t RETURNING 1"
    await run(platform, tenant, lambda uow: uow.execute(sa.text(sql), {"t": tenant.tenant_id}))
    late, early = (position_fact(250_000, credit=("IMU", 2023, "I")) for _ in range(2))
    await seed(platform, tenant.tenant_id, late, early)
    notice = sa.text(
        "INSERT INTO payments.payment_options (id, tenant_id, position_id, debtor_id, nav, iuv, amount_cents,"
        " due_date, issued_by, issued_at) VALUES (:id, :t, :p, :d, :nav, :iuv, 1, '2025-12-31', 'x', :at)"
    )
    for fact, issued in ((late, "2025-11-10T10:00:00+01:00"), (early, "2025-11-11T10:00:00+01:00")):
        nav = f"3{uuid.uuid4().int % 10**17:017d}"
        values: dict[str, Any] = {"id": uuid.uuid4(), "t": tenant.tenant_id, "p": uuid.UUID(fact.position_id)}
        values |= {
            "d": uuid.UUID(fact.debtor_id),
            "nav": nav,
            "iuv": nav[1:],
            "at": datetime.fromisoformat(issued),
        }
        await run(platform, tenant, lambda uow, v=values: uow.execute(notice, v))
    # 10/11/2025 → 10/01/2026 is 61 days: 6%, at most € 600.00; 11/11 → 10/01 is 60 days: 3%.
    for fact, charges in ((late, 15_000), (early, 7_500)):
        request = PlanRequest((uuid.UUID(fact.position_id),), 6, None, False)
        plan = await run(
            platform, tenant, lambda uow, r=request: handlers_plans.create_plan(uow, tenant, r, PLAN_DAY)
        )
        assert plan.charges_cents == charges
        assert await plan_row(platform, tenant, plan.plan_id, "charges_cents") == charges
