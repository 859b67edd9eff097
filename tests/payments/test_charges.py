"""The c.803 collection charges of a plan (L. 160/2019, art. 1 c. 803) against the real database: a
pagoPA notice of their own beside the plan's, paid and revoked apart from the positions (no
position is reduced by them), announced as `ChargesPaid`/`ChargesRevoked`, left owed when the plan
is paid another way, printed and published on GPD as what they are."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from services.contracts import ChargesPaid, ChargesRevoked, HandoverReady
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.money import format_euro
from services.kernel.storage import read_all
from services.payments import (
    handlers_answers,
    handlers_gpd,
    handlers_handover,
    handlers_notices,
    repository_gpd,
    repository_reconciliation,
)
from services.payments.domain_answers import Decision
from services.payments.domain_lapse import ROME
from services.payments.domain_notices import printed
from services.payments.domain_schedule import month_end
from services.payments.handlers_delivery import _option_lines
from services.payments.seed import seed_creditors
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.delivery_helpers import pdfs_in, post
from tests.payments.helpers import scalar, seed
from tests.payments.test_notices import api
from tests.payments.test_plan_life import make_plan, run
from tests.payments.test_reconciliation import FDR, RECEIPTS, flow_xml, receipts_csv, upload
from tests.smtp_server import Inbox
from tests.support import position_fact

SEND = "/api/v1/payments/notices/send"


async def charging(platform: Platform, who: Identity, seeded: bool = False) -> None:
    """The demo Comune's creditor data, applying the c.803 charges."""
    if not seeded:
        await seed_creditors(platform.databases["payments"], {"comune-demo-a": who.tenant_id})
    sql = "UPDATE payments.creditors SET applies_charges = true WHERE tenant_id = :t RETURNING 1"
    await run(platform, who, lambda uow: uow.execute(sa.text(sql), {"t": who.tenant_id}))


async def charged_plan(platform: Platform, who: Identity) -> tuple[uuid.UUID, str, list[dict[str, Any]]]:
    """A plan of € 1,000.00 in six installments with 3% charges (€ 30.00), and its notices."""
    await charging(platform, who)
    plan_id, position_id, _ = await make_plan(platform, who, None)
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.post("/api/v1/payments/notices", json={"plan_id": str(plan_id)})
    assert response.status_code == 201, response.text
    return plan_id, position_id, response.json()["options"]


async def sent(platform: Platform, who: Identity, routing_key: str) -> list[Envelope]:
    sql = "SELECT body FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k ORDER BY id"
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        bodies = (await uow.execute(sa.text(sql), {"t": who.tenant_id, "k": routing_key})).scalars()
        return [Envelope.decode(b) for b in bodies]


async def column(platform: Platform, who: Identity, sql: str, **params: object) -> Any:
    return await scalar(platform, who.tenant_id, sql, t=who.tenant_id, **params)


async def lapsed(platform: Platform, who: Identity, plan_id: uuid.UUID) -> None:
    """The plan as a lapse leaves it (its positions out of it), without the lapse's notices."""
    lapse = (
        "UPDATE payments.plans SET status = 'lapsed' WHERE id = :p;"
        " UPDATE payments.plan_positions SET active = false WHERE plan_id = :p"
    )
    for statement in lapse.split(";"):
        await run(platform, who, lambda uow, sql=statement: uow.execute(sa.text(sql), {"p": plan_id}))


def euro(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


@pytest.mark.asyncio
async def test_the_charges_get_a_notice_of_their_own_issued_once(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, position_id, options = await charged_plan(platform, tenant)
    [charges] = [o for o in options if o["kind"] == "charges"]
    debt = [o for o in options if o["kind"] == "debt"]
    assert charges["amount_cents"] == 3_000 and charges["installment"] is None
    assert len(debt) == 7  # the single payment and six installments, none of them holding the charges
    assert sum(o["amount_cents"] for o in debt if o["installment"] is not None) < 101_000
    # Due with the first installment; this plan's (made in January) has passed: a month on.
    first_due = date.fromisoformat(min(o["due_date"] for o in debt if o["installment"] is not None))
    today = datetime.now(ROME).date()
    assert charges["due_date"] == (first_due if first_due >= today else month_end(today, 1)).isoformat()
    async with service_client(platform, "payments", api(tenant)) as http:
        again = await http.post("/api/v1/payments/notices", json={"plan_id": str(plan_id)})
    assert [o["nav"] for o in again.json()["options"] if o["kind"] == "charges"] == [charges["nav"]]
    issued = "SELECT count(*) FROM payments.payment_options WHERE tenant_id = :t AND kind = 'charges'"
    assert await column(platform, tenant, issued) == 1
    [event] = [
        e for e in await sent(platform, tenant, "payments.notice_issued.v1") if e.payload["kind"] == "charges"
    ]
    assert event.payload["amount_cents"] == 3_000 and event.payload["plan_id"] == str(plan_id)
    async with service_client(platform, "payments", tenant) as http:
        page = await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")
    assert page.status_code == 200
    assert (
        "Oneri di riscossione (L. 160/2019 c. 803)</td>" in page.text and 'data-testid="charges"' in page.text
    )


@pytest.mark.asyncio
async def test_paid_charges_reduce_no_position_and_a_revoked_payment_makes_them_owed_again(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, position_id, options = await charged_plan(platform, tenant)
    [charges] = [o for o in options if o["kind"] == "charges"]
    [first] = [o for o in options if o["installment"] == 1]
    rows = receipts_csv((first["iuv"], euro(first["amount_cents"]), "R-1"), (charges["iuv"], "30,00", "R-C"))
    status, answer = await upload(platform, tenant, RECEIPTS, rows)
    assert status == 200 and answer["matched"] == 2, answer
    paid = "SELECT paid_cents FROM payments.positions WHERE tenant_id = :t AND id = :p"
    # The installment's principal goes on the position; its interest is owed on top (`domain_interest`).
    principal = "SELECT principal_cents FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p AND number = 1"
    assert await column(platform, tenant, paid, p=uuid.UUID(position_id)) == await column(
        platform, tenant, principal, p=uuid.UUID(str(plan_id))
    )
    statuses = "SELECT kind || ':' || coalesce(installment, 0) || ':' || status FROM payments.payment_options WHERE tenant_id = :t ORDER BY kind, installment NULLS FIRST"
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        found = list((await uow.execute(sa.text(statuses), {"t": tenant.tenant_id})).scalars())
    # The charges paid change no other notice: the installment made the single payment unpayable.
    assert found[0] == "charges:0:paid" and found[1] == "debt:0:unpayable" and found[2] == "debt:1:paid"
    assert all(s.endswith(":payable") for s in found[3:])
    [event] = await sent(platform, tenant, ChargesPaid.routing_key())
    facts = ChargesPaid.from_envelope(event)
    assert (facts.plan_id, facts.amount_cents, facts.revenue_type, facts.iuv) == (
        str(plan_id),
        3_000,
        "TARI",
        charges["iuv"],
    )
    assert facts.paid_on == "2026-11-27"
    [payments_event] = await sent(platform, tenant, "payments.payments_received.v1")
    assert sum(f["amount_cents"] for f in payments_event.payload["payments"]) == first["amount_cents"]
    # The package a Comune keeps at the end of the mandate lists them.
    await run(
        platform,
        tenant,
        lambda uow: handlers_handover.export_handover(uow, tenant.tenant_id, platform.storage),
    )
    [ready] = await sent(platform, tenant, HandoverReady.routing_key())
    key = json.loads(ready.payload["files"])[0]["key"]
    with zipfile.ZipFile(io.BytesIO(await read_all(platform.storage, tenant.tenant_id, key))) as archive:
        listed = archive.read("oneri-c803.csv").decode("utf-8-sig").splitlines()
    assert (
        len(listed) == 2
        and listed[1].startswith("27/11/2026;30,00;PAID;")
        and "VERDI ANNA;TARI;" in listed[1]
    )
    # A flow confirms the receipt: the charges' payment is reported with it.
    status, answer = await upload(platform, tenant, FDR, flow_xml([(charges["iuv"], "R-C", 3_000, 0)]))
    assert status == 200, answer
    reported = (
        "SELECT state || ' ' || coalesce(flow_id, '-') FROM payments.charge_payments WHERE tenant_id = :t"
    )
    assert str(await column(platform, tenant, reported)).startswith("REPORTED 2026-11-28ABI03069-")
    # The flow reports the charges' payment revoked: owed again, and said so.
    revoked = flow_xml([(charges["iuv"], "R-C", 3_000, 3)])
    status, answer = await upload(platform, tenant, FDR, revoked)
    assert status == 200 and answer["revoked"] == 1, answer
    state = "SELECT state FROM payments.charge_payments WHERE tenant_id = :t"
    assert await column(platform, tenant, state) == "REVOKED"
    option = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND kind = 'charges'"
    assert await column(platform, tenant, option) == "payable"
    [gone] = await sent(platform, tenant, ChargesRevoked.routing_key())
    assert ChargesRevoked.from_envelope(gone).amount_cents == 3_000
    assert await column(platform, tenant, paid, p=uuid.UUID(position_id)) == await column(
        platform, tenant, principal, p=uuid.UUID(str(plan_id))
    )  # the position's payment stands


@pytest.mark.asyncio
async def test_paying_the_plan_at_once_leaves_the_charges_owed_and_a_partial_payment_is_reviewed(
    platform: Platform, tenant: Identity
) -> None:
    _, _, options = await charged_plan(platform, tenant)
    [charges] = [o for o in options if o["kind"] == "charges"]
    [single] = [o for o in options if o["kind"] == "debt" and o["installment"] is None]
    rows = receipts_csv(
        (single["iuv"], euro(single["amount_cents"]), "R-S"), (charges["iuv"], "10,00", "R-P")
    )
    status, answer = await upload(platform, tenant, RECEIPTS, rows)
    assert status == 200 and answer["matched"] == 1 and answer["partial"] == 1, answer
    option = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND kind = 'charges'"
    assert await column(platform, tenant, option) == "payable"
    assert (
        await column(platform, tenant, "SELECT count(*) FROM payments.charge_payments WHERE tenant_id = :t")
        == 0
    )
    async with service_client(platform, "payments", api(tenant)) as http:
        [item] = (await http.get("/api/v1/payments/reconciliation/review")).json()["items"]
    assert "oneri di riscossione del piano" in item["detail"]
    # The review page links it to no position (its money is not the position's credit).
    [row] = await run(
        platform, tenant, lambda uow: repository_reconciliation.open_reviews(uow, tenant.tenant_id)
    )
    assert row.position_id is None


@pytest.mark.asyncio
async def test_the_charges_notice_prints_and_is_mailed_and_published_as_charges(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, _, options = await charged_plan(platform, tenant)
    [charges] = [o for o in options if o["kind"] == "charges"]

    async def notice(uow: Any) -> Any:
        return await handlers_notices.notice_for(uow, tenant, charges["nav"])

    printed = await run(platform, tenant, notice)
    assert "oneri di riscossione (L. 160/2019 c. 803)" in printed.reason and printed.amount_cents == 3_000
    lines = _option_lines(
        [
            _Option(None, 1, 20_000, "A"),
            _Option(None, None, 100_000, "B"),
            _Option(None, None, 3_000, "C", "charges"),
        ]
    )
    assert lines[-2:] == [
        "Inoltre, in ogni caso, gli oneri di riscossione (L. 160/2019, art. 1 c. 803):",
        "- codice avviso C: € 30,00 entro il 31/01/2026",
    ]
    assert not any("C:" in line for line in lines[:-1])

    async def gpd(uow: Any) -> Any:
        return await handlers_gpd._plan_debts(uow, tenant.tenant_id, await _heads(uow, tenant, plan_id))

    debts = await run(platform, tenant, gpd)
    assert [d.kind for d in debts] == ["plan", "charges"]
    assert [o.nav for o in debts[1].options] == [charges["nav"]]
    assert charges["nav"] not in [o.nav for o in debts[0].options]
    assert debts[1].reason.startswith("Oneri di riscossione L. 160/2019 c. 803")


async def _heads(uow: Any, who: Identity, plan_id: uuid.UUID) -> Any:
    return await repository_gpd.plan_heads(uow, who.tenant_id, plan_id)


class _Option:
    def __init__(self, position_id: Any, installment: int | None, cents: int, nav: str, kind: str = "debt"):
        self.plan_id = uuid.uuid4()
        self.position_id = position_id
        self.installment = installment
        self.amount_cents = cents
        self.nav = nav
        self.kind = kind
        self.due_date = date(2026, 1, 31)


@pytest.mark.asyncio
async def test_two_requests_at_once_issue_one_charges_notice(platform: Platform, tenant: Identity) -> None:
    await charging(platform, tenant)
    plan_id, _, _ = await make_plan(platform, tenant, None)

    async def issue() -> list[str]:
        async with service_client(platform, "payments", api(tenant)) as http:
            answer = await http.post("/api/v1/payments/notices", json={"plan_id": str(plan_id)})
        assert answer.status_code == 201, answer.text
        return [o["nav"] for o in answer.json()["options"] if o["kind"] == "charges"]

    first, second = await asyncio.gather(issue(), issue())
    assert first == second and len(first) == 1
    issued = "SELECT count(*) FROM payments.payment_options WHERE tenant_id = :t AND kind = 'charges'"
    assert await column(platform, tenant, issued) == 1


@pytest.mark.asyncio
async def test_after_a_lapse_the_charges_notice_is_still_shown_and_a_sgravio_of_the_plan_retires_it(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, position_id, _ = await charged_plan(platform, tenant)
    await lapsed(platform, tenant, plan_id)
    async with service_client(platform, "payments", tenant) as http:
        page = await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")
    assert page.status_code == 200 and "Oneri di riscossione (L. 160/2019 c. 803)</td>" in page.text
    # The office cancels the plan's only position: charges on a credit that no longer stands go.
    decided = Decision(cancel=(uuid.UUID(position_id),))
    at = datetime.now(ROME)
    await run(
        platform, tenant, lambda uow: handlers_answers.office_decided(uow, tenant.tenant_id, decided, at)
    )
    option = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND kind = 'charges'"
    assert await column(platform, tenant, option) == "unpayable"


@pytest.mark.asyncio
async def test_the_plan_made_in_the_operators_card_tells_the_charges(
    platform: Platform, tenant: Identity
) -> None:
    await charging(platform, tenant)
    owed = position_fact(80_000, credit=("IMU", 2023, "A"))
    await seed(platform, tenant.tenant_id, owed)
    form = {"position_id": owed.position_id, "installments": "5", "embedded": "1", "csrf_token": "t"}
    async with service_client(platform, "payments", tenant) as http:
        made = await http.post(
            f"/t/{tenant.tenant_slug}/payments/plans", data=form, headers={"HX-Request": "true"}
        )
    assert made.status_code == 200, made.text
    assert "oneri di riscossione (L. 160/2019, art. 1 c. 803): € 24,00, con un avviso a parte" in made.text
    # It replaces the builder inside the card's «Pagamento» section (h2): nested headings.
    assert '<h3 id="plan-created-title"' in made.text and '<h4 class="h4" id="delivery-title">' in made.text


@pytest.mark.asyncio
async def test_the_plan_builders_preview_tells_the_charges_before_the_plan_is_made(
    platform: Platform, tenant: Identity
) -> None:
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": tenant.tenant_id})
    owed = position_fact(80_000, credit=("IMU", 2023, "A"))
    await seed(platform, tenant.tenant_id, owed)
    builder = f"/t/{tenant.tenant_slug}/payments/plans/builder?position_id={owed.position_id}&installments=5"
    async with service_client(platform, "payments", tenant) as http:
        without = await http.get(builder)
        await charging(platform, tenant, seeded=True)
        shown = await http.get(builder)
        simulated = await http.post(
            "/api/v1/payments/plans/simulate", json={"position_ids": [owed.position_id], "installments": 5}
        )
    assert without.status_code == 200 and 'data-testid="plan-charges"' not in without.text
    assert 'data-testid="plan-charges"' in shown.text and "€ 24,00, con un avviso a parte" in shown.text
    assert simulated.status_code == 200 and simulated.json()["charges_cents"] == 2_400


@pytest.mark.asyncio
async def test_a_plan_made_earlier_can_send_its_notices_from_the_card(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, position_id, _ = await charged_plan(platform, tenant)
    sender = f"/t/{tenant.tenant_slug}/payments/plans/{plan_id}/send"
    async with service_client(platform, "payments", tenant) as http:
        shown = await http.get(sender, headers={"HX-Request": "true"})
        own_page = await http.get(sender)
        unknown = await http.get(f"/t/{tenant.tenant_slug}/payments/plans/{uuid.uuid4()}/send")
    assert shown.status_code == 200 and 'data-testid="plan-sender"' in shown.text
    # In the card's «Pagamento» section (h2) its heading is a level down; on its own page, under h1.
    assert '<h3 class="h4" id="delivery-title-plan">' in shown.text
    assert '<h2 class="h4" id="delivery-title-plan">' in own_page.text
    assert f'name="plan_id" value="{plan_id}"' in shown.text and 'id="delivery-email-plan"' in shown.text
    assert (
        "€ 30,00, con un avviso a parte" in shown.text and f"/payments/positions/{position_id}" in shown.text
    )
    assert unknown.status_code == 404 and "non più attivo" in unknown.text
    # The plan as it stands, for a callback: its six installments, the total with interest.
    table = shown.text.split('data-testid="plan-sender-schedule"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr><td>") == 6 and table.count("Da pagare") == 6
    rows = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT sum(principal_cents + interest_cents) FROM payments.plan_installments WHERE plan_id = :p",
        p=plan_id,
    )
    assert f'Totale, interessi compresi</th><td class="text-end">{format_euro(int(rows))}</td>' in table


@pytest.mark.asyncio
async def test_after_a_lapse_the_positions_notice_is_sent_with_the_charges_still_owed(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    plan_id, position_id, _ = await charged_plan(platform, tenant)
    await lapsed(platform, tenant, plan_id)
    to = f"contribuente-{uuid.uuid4().hex[:8]}@example.it"
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position_id], "email": to})
    assert status == 201, answer
    [message] = await smtp.wait_for(to)
    assert len(pdfs_in(message)) == 2  # the position's residual, and the charges
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    charges = "SELECT nav FROM payments.payment_options WHERE tenant_id = :t AND kind = 'charges'"
    nav = await column(platform, tenant, charges)
    assert "Inoltre, in ogni caso, gli oneri di riscossione (L. 160/2019, art. 1 c. 803):" in text
    assert f"- codice avviso {printed(nav)}: € 30,00" in text
    # Paid, the charges are not sent again.
    paid = "UPDATE payments.payment_options SET status = 'paid' WHERE kind = 'charges' AND plan_id = :p"
    await run(platform, tenant, lambda uow: uow.execute(sa.text(paid), {"p": plan_id}))
    again = f"contribuente-{uuid.uuid4().hex[:8]}@example.it"
    status, answer = await post(platform, tenant, SEND, {"position_ids": [position_id], "email": again})
    assert status == 201, answer
    [message] = await smtp.wait_for(again)
    assert len(pdfs_in(message)) == 1 and nav not in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
