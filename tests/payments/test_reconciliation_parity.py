"""The bulk lane of reconciliation (`repository_bulk`, set-based SQL) against `reconcile` in Python.

The same import runs twice on the same data, each time in a transaction rolled back afterwards:
once as it always runs (plain payments in SQL, the rest in Python) and once with the SQL lane
switched off, so that `domain_reconciliation` decides every payment. Every row either run writes
(receipts, payments, option statuses, balances, installments, review items, flow lines) and every
event it publishes must be the same, ids aside.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.payments import handlers_flows, handlers_reconciliation, repository_bulk
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import seed
from tests.payments.test_notices import api
from tests.payments.test_reconciliation import RECEIPTS, noticed, receipts_csv, upload
from tests.payments.test_reconciliation import flow_xml as xml_of
from tests.support import position_fact

SNAPSHOT = {
    "receipts": "SELECT iuv, receipt_ref, amount_cents, paid_at, psp, option_id, state, applied, flow_id,"
    " source FROM payments.receipts WHERE tenant_id = :t",
    "payments": "SELECT p.position_id, p.debtor_id, p.amount_cents, p.paid_on, p.recorded_by, p.option_id,"
    " r.iuv, r.receipt_ref, p.state, p.source FROM payments.payments p"
    " LEFT JOIN payments.receipts r ON r.tenant_id = p.tenant_id AND r.id = p.receipt_id WHERE p.tenant_id = :t",
    "options": "SELECT id, status FROM payments.payment_options WHERE tenant_id = :t",
    "positions": "SELECT id, paid_cents FROM payments.positions WHERE tenant_id = :t",
    "installments": "SELECT plan_id, number, paid_cents FROM payments.plan_installments WHERE tenant_id = :t",
    "reviews": "SELECT kind, iuv, receipt_ref, amount_cents, expected_cents, source, detail, status"
    " FROM payments.review_items WHERE tenant_id = :t",
    "flow_lines": "SELECT flow_id, line, iuv, receipt_ref, payment_index, amount_cents, outcome, paid_on,"
    " state FROM payments.flow_lines WHERE tenant_id = :t",
}


async def snapshot(uow: UnitOfWork, tenant_id: uuid.UUID, before: set[uuid.UUID]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, sql in SNAPSHOT.items():
        rows = (await uow.execute(sa.text(sql), {"t": tenant_id})).all()
        found[name] = sorted(tuple(map(str, row)) for row in rows)
    outbox = sa.text("SELECT message_id, body FROM payments.outbox WHERE tenant_id = :t")
    events = []
    for message_id, body in (await uow.execute(outbox, {"t": tenant_id})).all():
        if message_id in before:
            continue
        envelope = json.loads(body)
        payload = envelope["payload"]
        for fact in payload.get("payments", [payload]):
            events.append((envelope["type"], json.dumps({**fact, "payment_id": None}, sort_keys=True)))
    found["events"] = sorted(events)
    return found


async def both_lanes(
    platform: Platform,
    tenant: Identity,
    run: Callable[[UnitOfWork], Awaitable[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The import run with both lanes and with Python alone, each rolled back; how many payments
    the SQL lane took and what each run wrote."""
    db = platform.databases["payments"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        sql = "SELECT message_id FROM payments.outbox WHERE tenant_id = :t"
        before = set((await uow.execute(sa.text(sql), {"t": tenant.tenant_id})).scalars())
    taken: list[int] = []
    apply_plain = repository_bulk.apply_plain

    async def counted(*args: Any) -> int:
        taken.append(await apply_plain(*args))
        return taken[-1]

    async def off(*args: Any) -> int:
        return 0

    results = []
    for lane in (counted, off):
        monkeypatch.setattr(repository_bulk, "apply_plain", lane)
        async with db.unit_of_work(tenant.tenant_id) as uow:
            answer = await run(uow)
            results.append({"answer": answer, **await snapshot(uow, tenant.tenant_id, before)})
    monkeypatch.setattr(repository_bulk, "apply_plain", apply_plain)
    return sum(taken), results[0], results[1]


async def debts(platform: Platform, tenant: Identity) -> dict[str, Any]:
    """Nine positions with a notice each (the third with a second payable one), two of them paid
    by receipts already, and a plan of five installments with its notices."""
    _, iuvs = await noticed(platform, tenant, *(10_000 + 1_111 * n for n in range(9)))
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        await uow.execute(
            sa.text(
                "INSERT INTO payments.payment_options (id, tenant_id, position_id, debtor_id, nav, iuv,"
                " amount_cents, due_date, issued_by) SELECT gen_random_uuid(), tenant_id, position_id,"
                " debtor_id, nav || '9', iuv || '9', amount_cents, due_date, issued_by"
                " FROM payments.payment_options WHERE tenant_id = :t AND iuv = :iuv"
            ),
            {"t": tenant.tenant_id, "iuv": iuvs[2]},
        )
        await uow.commit()
    earlier = receipts_csv((iuvs[3], "133,33", "OLD-3"), (iuvs[8], "188,88", "OLD-8"))
    assert (await upload(platform, tenant, RECEIPTS, earlier))[1]["matched"] == 2
    planned = position_fact(90_000, debtor_id=str(uuid.uuid4()), credit=("IMU", 2023, "P"))
    await seed(platform, tenant.tenant_id, planned)
    async with service_client(platform, "payments", api(tenant)) as http:
        body = {"position_ids": [planned.position_id], "installments": 5}
        plan = (await http.post("/api/v1/payments/plans", json=body)).json()
        assert "plan_id" in plan, plan
        made = await http.post("/api/v1/payments/notices", json={"plan_id": plan["plan_id"]})
    plan_options = [(o["iuv"], o["amount_cents"]) for o in made.json()["options"]]
    cents = {iuv: 10_000 + 1_111 * n for n, iuv in enumerate(iuvs)}
    return {"iuvs": iuvs, "cents": cents, "plan": plan_options}


def chosen_lines(found: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    """(IUV, receipt ref, cents, outcome): every case `reconcile` knows, and three plain payments."""
    iuvs, cents, plan = found["iuvs"], found["cents"], found["plan"]
    return [
        (iuvs[0], "R-0", cents[iuvs[0]], 0),  # plain
        (iuvs[1], "R-1", cents[iuvs[1]], 9),  # plain, outcome 9
        (iuvs[2], "R-2", cents[iuvs[2]], 0),  # plain; the position's other notice becomes unpayable
        (iuvs[3], "OLD-3", cents[iuvs[3]], 0),  # confirms a receipt
        (iuvs[3], "R-3", cents[iuvs[3]], 0),  # duplicate
        (iuvs[4], "R-4", cents[iuvs[4]] - 100, 0),  # partial
        (iuvs[5], "R-5a", cents[iuvs[5]], 0),  # paid twice in the same flow
        (iuvs[5], "R-5b", cents[iuvs[5]], 0),
        (iuvs[6], "R-6", cents[iuvs[6]] + 100, 0),  # over
        (iuvs[8], "OLD-8", cents[iuvs[8]], 3),  # revokes a payment
        ("99999999999999999", "R-X", 5_000, 0),  # unknown
        (plan[1][0], "R-P1", plan[1][1], 0),  # the plan's first installment
    ]


def random_lines(found: dict[str, Any], seed_value: int) -> list[tuple[str, str, int, int]]:
    """Thirty lines over the same notices, amounts, references and outcomes drawn at random."""
    draw = random.Random(seed_value)
    codes = [*found["iuvs"], *(iuv for iuv, _ in found["plan"]), "99999999999999999"]
    expected = {**found["cents"], **dict(found["plan"])}
    lines = []
    for n in range(30):
        iuv = draw.choice(codes)
        cents = expected.get(iuv, 5_000) + draw.choice([0, 0, 0, -100, 100])
        ref = draw.choice(["OLD-3", "OLD-8", f"R-{n}", f"R-{n}", "R-SAME"])
        lines.append((iuv, ref, cents, draw.choice([0, 0, 0, 9, 3])))
    return lines


async def assert_same(platform: Platform, tenant: Identity, lines: list[Any], mp: pytest.MonkeyPatch) -> int:
    data = xml_of(lines, flow_id="2026-11-28ABI03069-PARITY")

    async def run(uow: UnitOfWork) -> dict[str, Any]:
        return await handlers_flows.import_flow(uow, tenant, data)

    taken, with_sql, python_only = await both_lanes(platform, tenant, run, mp)
    for key in with_sql:
        assert with_sql[key] == python_only[key], key
    return taken


@pytest.mark.asyncio
async def test_a_flow_reconciled_in_sql_and_in_python_writes_the_same(
    platform: Platform, tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = await debts(platform, tenant)
    assert await assert_same(platform, tenant, chosen_lines(found), monkeypatch) == 3
    for seed_value in (1, 2, 3):
        await assert_same(platform, tenant, random_lines(found, seed_value), monkeypatch)


@pytest.mark.asyncio
async def test_receipts_reconciled_in_sql_and_in_python_write_the_same(
    platform: Platform, tenant: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = await debts(platform, tenant)
    iuvs, cents = found["iuvs"], found["cents"]
    rows = [(iuv, f"{cents[iuv] // 100},{cents[iuv] % 100:02d}", f"N-{n}") for n, iuv in enumerate(iuvs)]
    data = receipts_csv(*rows, (iuvs[4], "1,00", "N-extra"))

    async def run(uow: UnitOfWork) -> dict[str, Any]:
        return await handlers_reconciliation.import_receipts(uow, tenant, data)

    taken, with_sql, python_only = await both_lanes(platform, tenant, run, monkeypatch)
    assert taken == 6  # all but the fourth and the ninth (paid already) and the fifth (paid twice)
    for key in with_sql:
        assert with_sql[key] == python_only[key], key
