"""The relazione di scarico across the services, over RabbitMQ: a Comune's file is ingested, an
operator's call opens a dispute, the office cancels the disputed position (sgravio), payments are
recorded and one is partly refunded; the final relazione's lines then add up to what the other
services say, and the cancelled position's reason is the office's sgravio."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import eventually
from tests.e2e.conftest import Comune, Running
from tests.support import FIXTURES

UUID = r"[0-9a-f-]{36}"


def cents(text: str) -> int:
    """«1.234,56» as cents."""
    return int(Decimal(text.replace(".", "").replace(",", ".")) * 100)


async def ingested(
    running: Running, comune: Comune, name: str | Path = "comune-c-utf8.csv"
) -> dict[str, Any]:
    fixture = name if isinstance(name, Path) else FIXTURES / name
    async with running.api(comune) as api:
        upload = await api.post(
            "/api/v1/ingest/batches", files={"file": (fixture.name, fixture.read_bytes(), "text/csv")}
        )
        assert upload.status_code == 202, upload.text

        async def done() -> dict[str, Any] | None:
            body: dict[str, Any] = (await api.get(f"/api/v1/ingest/batches/{upload.json()['id']}")).json()
            return body if body["status"] in ("completed", "failed") else None

        batch: dict[str, Any] = await eventually(done, timeout=60)
    assert batch["status"] == "completed"
    return batch


async def dispute(running: Running, comune: Comune) -> str:
    """The operator's call on the next debtor ends in a dispute; the debtor's id."""
    base = f"/t/{comune.slug}/contact"
    async with await running.browser(comune.staff["operator"], "Operatore") as operator:

        async def next_card() -> str | None:
            location = (await operator.post(f"{base}/next")).headers.get("location", "")
            return location if "/debtors/" in location else None

        card = await eventually(next_card, timeout=60)
        answer = await operator.post(
            f"{card}/outcomes", data={"outcome": "contestazione", "note": "Immobile venduto nel 2018"}
        )
        assert answer.status_code in (200, 303), answer.text
    found = re.search(rf"/debtors/({UUID})", card)
    assert found is not None
    return found.group(1)


async def sgravio(running: Running, comune: Comune) -> str:
    """The office cancels the disputed position from its worklist; the position's id."""
    base = f"/t/{comune.slug}/reporting/pratiche"
    async with await running.browser(comune.staff["comune_admin"], "Ufficio") as office:

        async def case_link() -> str | None:
            found = re.search(rf"{base}/({UUID})", (await office.get(base)).text)
            return found.group(1) if found else None

        case_id = await eventually(case_link, timeout=60)
        page = (await office.get(f"{base}/{case_id}")).text
        position = re.search(rf'name="posizioni" value="({UUID})"', page)
        assert position is not None, page
        answer = await office.post(
            f"{base}/{case_id}/risposta",
            data={
                "esito": "cancelled",
                "nota": "Atto annullato in autotutela",
                "posizioni": position.group(1),
                "conferma": "1",
            },
        )
        assert answer.status_code in (200, 303), answer.text
    return position.group(1)


async def paid_and_refunded(running: Running, comune: Comune, cancelled: str) -> tuple[dict[str, int], int]:
    """Two payments by the Comune's software on positions other than the cancelled one, the first
    partly refunded by the office; what each position collected, and the refund."""
    async with running.api(comune) as api:

        async def positions() -> list[dict[str, Any]] | None:
            body = (await api.get("/api/v1/payments/positions", params={"status": "open"})).json()
            # Positions that can take the payments below (at least € 100.00 still due).
            items = [p for p in body["positions"] if p["id"] != cancelled and p["residual_cents"] >= 10_000]
            return items if len(items) >= 2 else None

        first, second = (await eventually(positions, timeout=60))[:2]
        made = []
        for position, amount in ((first, 10_000), (second, 2_345)):
            answer = await api.post(
                f"/api/v1/payments/positions/{position['id']}/payments",
                json={"amount_cents": amount, "paid_on": date.today().isoformat(), "reason": "Bonifico"},
            )
            assert answer.status_code == 201, answer.text
            made.append(answer.json()["payment_id"])
    async with await running.browser(comune.staff["comune_admin"], "Ufficio") as office:
        refund = await office.post(
            f"/t/{comune.slug}/payments/payments/{made[0]}/rimborsi",
            data={
                "amount": "25,00",
                "refunded_on": date.today().strftime("%d/%m/%Y"),
                "reason": "Doppio",
                "conferma": "1",
            },
        )
        assert refund.status_code == 303, refund.text
    return {first["id"]: 10_000 - 2_500, second["id"]: 2_345}, 2_500


async def final_relazione(api: httpx.AsyncClient) -> tuple[dict[str, Any], list[dict[str, str]]]:
    period = {"kind": "final", "period_from": "2020-01-01", "period_to": date.today().isoformat()}
    queued = await api.post("/api/v1/reporting/reports", json=period)
    assert queued.status_code == 202, queued.text

    async def done() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(f"/api/v1/reporting/reports/{queued.json()['id']}")).json()
        return body if body["status"] in ("done", "failed") else None

    record = await eventually(done, timeout=90)
    assert record["status"] == "done", record
    text = (await api.get(record["files"]["csv"]["url"])).content.decode("utf-8-sig")
    return record, list(csv.DictReader(io.StringIO(text), delimiter=";"))


@pytest.mark.asyncio
async def test_the_relazione_adds_up_to_what_the_other_services_did(running: Running) -> None:
    comune = await running.new_comune("Comune di Riscontro")
    batch = await ingested(running, comune)
    await dispute(running, comune)
    cancelled = await sgravio(running, comune)
    collected, refunded = await paid_and_refunded(running, comune, cancelled)
    async with running.api(comune) as api:
        payments_side = (await api.get(f"/api/v1/payments/positions/{cancelled}")).json()
        assert payments_side["state"] == "cancelled"
        cancelled_cents = int(payments_side["amount_cents"])

        async def settled() -> dict[str, Any] | None:
            body: dict[str, Any] = (await api.get("/api/v1/reporting/summary")).json()
            target = (batch["accepted_total_cents"] - cancelled_cents, sum(collected.values()))
            return body if (body["assigned_cents"], body["collected_cents"]) == target else None

        summary = await eventually(settled, timeout=60)
        record, lines = await final_relazione(api)

    # Every accepted row of the file is a line; the cancelled one hands over its amount and takes
    # it off as a sgravio.
    assert len(lines) == batch["accepted"]
    sgravi = [
        line for line in lines if line["Motivo mancata riscossione"] == "Annullata dall'ufficio (sgravio)"
    ]
    assert len(sgravi) == 1 and cents(sgravi[0]["Carico affidato"]) == cancelled_cents
    assert cents(sgravi[0]["Sgravi"]) == cancelled_cents and cents(sgravi[0]["Residuo"]) == 0
    assert sum(cents(line["Carico affidato"]) for line in lines) == batch["accepted_total_cents"]
    standing = sum(
        cents(line["Carico affidato"]) - cents(line["Sgravi"]) - cents(line["Rettifiche"]) for line in lines
    )
    assert standing == summary["assigned_cents"]
    assert sum(cents(line["Riscosso"]) for line in lines) == sum(collected.values())
    assert record["collected_cents"] == summary["collected_cents"] == 10_000 + 2_345 - refunded
    assert record["assigned_cents"] == summary["assigned_cents"]
    # A line is paid what payments recorded for it, net of the refund.
    riscosso = sorted(cents(line["Riscosso"]) for line in lines if cents(line["Riscosso"]))
    assert riscosso == sorted(collected.values())
    assert json.dumps(record)  # the API's answer is plain JSON
