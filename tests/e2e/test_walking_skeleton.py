"""End to end across every service, over RabbitMQ and SeaweedFS: API upload → contact queue → call
outcome → payment → relazione di scarico in S3 whose totals equal the payments made."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from services.contracts import PositionFact, PositionsRegistered
from services.kernel.bus import OutgoingMessage
from services.kernel.money import format_euro
from tests.conftest import eventually
from tests.e2e.conftest import Running
from tests.support import EVIDENCE, FIXTURES


async def _batch_done(api: httpx.AsyncClient, batch_id: str) -> dict[str, object] | None:
    body: dict[str, object] = (await api.get(f"/api/v1/ingest/batches/{batch_id}")).json()
    return body if body["status"] in ("completed", "failed") else None


@pytest.mark.asyncio
async def test_upload_contact_pay_and_report(running: Running) -> None:
    comune = await running.new_comune("Comune di Prova E2E")
    base = f"/t/{comune.slug}"
    fixture = FIXTURES / "comune-c-utf8.csv"
    expected = json.loads((FIXTURES / "comune-c-utf8.csv.expected.json").read_text())

    # A: the Comune's software uploads its credits through the API.
    async with running.api(comune) as api:
        upload = await api.post(
            "/api/v1/ingest/batches", files={"file": (fixture.name, fixture.read_bytes(), "text/csv")}
        )
        assert upload.status_code == 202, upload.text
        batch = await eventually(lambda: _batch_done(api, upload.json()["id"]), timeout=60)
    assert batch["status"] == "completed"
    for field in ("data_rows", "accepted", "accepted_total_cents", "duplicates", "conflicts", "rejected"):
        assert batch[field] == expected[field], field

    operator = await running.browser(comune.staff["operator"], "Operatore E2E")
    async with operator:
        # C: the positions reach the contact service's own work queue; the operator takes the next debtor.
        async def next_debtor() -> str | None:
            response = await operator.post(f"{base}/contact/next")
            location = response.headers.get("location", "")
            return location if "/debtors/" in location else None

        card_url = await eventually(next_debtor, timeout=60)
        card = await operator.get(card_url)
        assert card.status_code == 200
        fiscal_code = re.search(
            r"\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b", card.text
        )
        assert fiscal_code, "the debtor card shows the codice fiscale"
        outcome = await operator.post(
            f"{card_url}/outcomes",
            data={
                "outcome": "promessa_pagamento",
                "note": "Paga entro fine mese",
                "promise_amount": "10,00",
                "promise_due": "30/11/2026",
            },
        )
        assert outcome.status_code in (200, 303), outcome.text

        # D: the payments service knows the debtor's positions; the operator records two payments.
        async def positions() -> list[str]:
            search = await operator.get(f"{base}/payments/", params={"q": fiscal_code.group(0)})
            return re.findall(rf"{base}/payments/positions/([0-9a-f-]{{36}})", search.text)

        position_ids = await eventually(positions, timeout=60)
        paid = [1234, 5678]
        for position_id, cents in zip([position_ids[0], position_ids[0]], paid, strict=True):
            response = await operator.post(
                f"{base}/payments/positions/{position_id}/payments",
                files=EVIDENCE,
                data={
                    "reason": "Bonifico sul conto di tesoreria",
                    "paid_on": date.today().strftime("%d/%m/%Y"),
                    "amount": f"{cents // 100},{cents % 100:02d}",
                },
            )
            assert response.status_code in (200, 303), response.text
        too_much = await operator.post(
            f"{base}/payments/positions/{position_ids[0]}/payments",
            files=EVIDENCE,
            data={
                "reason": "Bonifico in tesoreria",
                "paid_on": date.today().isoformat(),
                "amount": "99999999,00",
            },
        )
        assert too_much.status_code == 400 and "residuo" in too_much.text

    # E/F: the reporting service's totals follow the events; the report lands in S3.
    async with running.api(comune) as api:

        async def summary() -> dict[str, int] | None:
            body: dict[str, int] = (await api.get("/api/v1/reporting/summary")).json()
            done = body["collected_cents"] == sum(paid) and body["outcomes"] == 1
            return body if done and body["assigned_cents"] == expected["accepted_total_cents"] else None

        totals = await eventually(summary, timeout=60)
        assert totals["residual_cents"] == expected["accepted_total_cents"] - sum(paid)
        period = {"kind": "final", "period_from": "2020-01-01", "period_to": date.today().isoformat()}
        queued = await api.post("/api/v1/reporting/reports", json=period)
        assert queued.status_code == 202, queued.text

        # F: the reporting worker writes the relazione (PDF, XLSX, CSV) into S3.
        async def report_done() -> dict[str, Any] | None:
            body: dict[str, Any] = (await api.get(f"/api/v1/reporting/reports/{queued.json()['id']}")).json()
            return body if body["status"] in ("done", "failed") else None

        record = await eventually(report_done, timeout=60)
        assert record["status"] == "done", record
        assert record["collected_cents"] == sum(paid)
        assert record["assigned_cents"] == expected["accepted_total_cents"]
        pdf = (await api.get(record["files"]["pdf"]["url"])).content
        csv_body = (await api.get(record["files"]["csv"]["url"])).content
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == record["files"]["pdf"]["sha256"]
    assert hashlib.sha256(csv_body).hexdigest() == record["files"]["csv"]["sha256"]
    assert format_euro(sum(paid)).replace("€ ", "").encode() in csv_body

    admin = await running.browser(comune.staff["comune_admin"], "Ufficio tributi E2E")
    async with admin:
        dashboard = await admin.get(f"{base}/reporting/")
        assert dashboard.status_code == 200 and format_euro(sum(paid)) in dashboard.text
        download = await admin.get(f"{base}/reporting/reports/{record['id']}.pdf")
        assert download.status_code == 200 and download.content == pdf


@pytest.mark.asyncio
async def test_a_poison_event_is_dead_lettered_by_every_real_consumer(running: Running) -> None:
    platform = running.platform
    comune = await running.new_comune("Comune Veleno")
    good = PositionFact(
        position_id=str(uuid.uuid4()),
        debtor_id=str(uuid.uuid4()),
        fiscal_code="RSSMRA80A01H501U",
        debtor_name="ROSSI MARIO",
        revenue_type="IMU",
        year=2022,
        act_number="2022/7",
        amount_cents=4_200,
    )
    event = PositionsRegistered(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, positions=(good,))
    poison = event.envelope(comune.tenant_id)
    poison.payload["positions"][0]["amount_cents"] = "42,00"  # a producer bug: text where cents belong
    healthy = event.envelope(comune.tenant_id)
    await platform.bus.publish_many(
        [OutgoingMessage(e.routing_key, e.encode(), str(e.message_id)) for e in (poison, healthy)]
    )
    queues = [
        c.queue(platform.settings.queue_prefix).name
        for s in ("contact", "payments", "reporting")
        for c in platform.consumers(s)
        if PositionsRegistered.routing_key() in c.handlers
    ]

    async def dead_everywhere() -> bool:
        for queue in queues:
            if str(poison.message_id) not in [m.message_id for m in await platform.bus.dead_letters(queue)]:
                return False
        return True

    assert await eventually(dead_everywhere, timeout=30)
    async with running.api(comune) as api:

        async def healthy_counted() -> bool:
            summary = (await api.get("/api/v1/reporting/summary")).json()
            return bool(summary["assigned_cents"] == 4_200)

        assert await eventually(healthy_counted, timeout=30)
