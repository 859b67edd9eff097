"""The Ufficio tributi's worklist: cases from the contact service's events, the office's answers
(kept, audited, sent back as `CaseAnswered`), the receipts of a claimed payment, and the answer's
effect on the contact service's card and queue."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid

import pytest
import sqlalchemy as sa

from services.contact import domain_answers
from services.contact.domain import Status
from services.contracts import (
    AlreadyPaidClaimed,
    AlreadyPaidEvidenceAttached,
    CaseAnswered,
    DisputeOpened,
    HardshipFlagged,
)
from services.kernel.bus import IncomingMessage
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.kernel.messaging import inbox_handler
from services.kernel.storage import tenant_key
from services.platform import Platform
from services.reporting import domain_cases
from services.reporting.consumers import CASES
from tests.conftest import service_client
from tests.contact import helpers as contact
from tests.reporting.helpers import deliver, fact, registered
from tests.support import make_identity

OPENED = "2026-11-23T10:00:00+01:00"
PDF = b"%PDF-1.4 ricevuta del bollettino\n"


async def to_cases(platform: Platform, tenant_id: uuid.UUID, *events: object) -> None:
    handle = inbox_handler(platform.databases["reporting"], CASES)
    for event in events:
        env = event.envelope(tenant_id, "test")  # type: ignore[attr-defined]
        await handle(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))


def viewer(who: Identity, role: str = "comune_viewer") -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=(role,), user_id=f"ut-{role}")


async def outbox(platform: Platform, tenant_id: uuid.UUID) -> list[dict[str, object]]:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        rows = await uow.execute(
            sa.text("SELECT body FROM reporting.outbox WHERE routing_key = :k ORDER BY id"),
            {"k": CaseAnswered.routing_key()},
        )
        return [json.loads(bytes(r.body))["payload"] for r in rows]


def test_answers_are_checked_at_their_field() -> None:
    assert (
        domain_cases.check_answer("rejected", "  Pagamento non risulta  ", "").note == "Pagamento non risulta"
    )
    for raw, field in (
        (("boh", "motivo valido", ""), "esito"),
        (("upheld", "ok", ""), "nota"),
        (("upheld", "motivo valido", "10,00"), "importo"),
        (("corrected", "motivo valido", ""), "posizioni"),  # a correction names its position
        (("cancelled", "motivo valido", ""), "posizioni"),
    ):
        with pytest.raises(DomainError) as refused:
            domain_cases.check_answer(*raw)
        assert refused.value.field == field
    with pytest.raises(DomainError, match="Scegli la posizione di cui correggere l'importo"):
        domain_cases.check_answer("corrected", "motivo valido", "10,00")


def test_what_an_answer_does_to_the_calls() -> None:
    assert domain_answers.status_after("dispute", "rejected") is Status.DA_LAVORARE
    assert domain_answers.status_after("already_paid", "corrected") is Status.DA_LAVORARE
    assert domain_answers.status_after("hardship", "upheld") is Status.SOSPESO
    assert domain_answers.status_after("dispute", "suspended") is Status.SOSPESO
    assert domain_answers.status_after("dispute", "upheld") is Status.CHIUSO
    assert domain_answers.status_after("deceased", "upheld") is Status.CHIUSO
    assert domain_answers.status_after("hardship", "cancelled") is Status.CHIUSO


@pytest.mark.asyncio
async def test_the_office_sees_its_cases_downloads_a_receipt_and_answers(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    tid = tenant.tenant_id
    position = fact(50_000, debtor_name="VERDI ANNA")
    await deliver(platform, tid, registered(position))
    debtor, claim, dispute = position.debtor_id, str(uuid.uuid4()), str(uuid.uuid4())
    key = tenant_key(tid, "contact", "evidence", claim, "ricevuta.pdf")
    await platform.storage.put_bytes(tid, key, PDF, "application/pdf")
    attachment = str(uuid.uuid4())
    await to_cases(
        platform,
        tid,
        AlreadyPaidClaimed(claim, debtor, "Pagato il 3 marzo con bollettino", "op-1", OPENED),
        AlreadyPaidEvidenceAttached(
            attachment,
            claim,
            debtor,
            "ricevuta.pdf",
            "application/pdf",
            len(PDF),
            hashlib.sha256(PDF).hexdigest(),
            key,
            "Olga Russo",
            OPENED,
        ),
        DisputeOpened(dispute, debtor, "Dice che l'immobile è stato venduto nel 2019", "op-1", OPENED),
    )
    await to_cases(platform, tid, DisputeOpened(dispute, debtor, "ripetuto", "op-1", OPENED))  # once
    base = f"/t/{tenant.tenant_slug}/reporting/pratiche"
    async with service_client(platform, "reporting", viewer(tenant)) as client:
        listed = await client.get(base)
        assert listed.status_code == 200
        assert 'data-testid="waiting-count">2<' in listed.text and "VERDI ANNA" in listed.text
        assert "immobile è stato venduto" in listed.text and "ripetuto" not in listed.text
        download = await client.get(f"{base}/ricevute/{attachment}")
        assert download.status_code == 200 and download.content == PDF
        refused = await client.post(f"{base}/{dispute}/risposta", data={"esito": "rejected", "nota": "no"})
        assert refused.status_code == 403  # the viewer reads, the office's administrator answers
    async with service_client(platform, "reporting", viewer(tenant, "comune_admin")) as client:
        bad = await client.post(
            f"{base}/{dispute}/risposta",
            data={"esito": "corrected", "nota": "Ricalcolato", "posizioni": position.position_id},
            headers={"HX-Request": "true"},
        )
        assert bad.status_code == 400 and 'data-field="importo"' in bad.text
        first = {
            "esito": "corrected",
            "nota": "Ricalcolata la rendita",
            "importo": "320,00",
            "posizioni": position.position_id,
            "conferma": "1",
        }
        assert (await client.post(f"{base}/{dispute}/risposta", data=first)).status_code == 303
        second = {"esito": "rejected", "nota": "L'atto di vendita è del 2021"}
        again = await client.post(f"{base}/{dispute}/risposta", data=second, headers={"HX-Request": "true"})
        assert again.status_code == 400 and "ha già una risposta definitiva" in again.text
        detail = await client.get(f"{base}/{dispute}")
        given = detail.text.split('data-testid="answers"')[1].split("</ol>")[0]
        assert given.count("<li>") == 1 and "€ 320,00" in given
        assert 'data-testid="case-closed"' in detail.text and 'name="esito"' not in detail.text
        listed = await client.get(base)
        assert 'data-testid="waiting-count">1<' in listed.text
    sent = await outbox(platform, tid)
    assert [(p["kind"], p["answer"], p["corrected_cents"], p["position_ids"]) for p in sent] == [
        ("dispute", "corrected", 32_000, [position.position_id]),
    ]
    async with platform.databases["reporting"].unit_of_work(tid) as uow:
        logged = await uow.execute(sa.text("SELECT action FROM reporting.access_log ORDER BY id"))
        actions = [r.action for r in logged]
    assert {"view_cases", "download_evidence", "answer_case", "view_case"} <= set(actions)
    async with service_client(platform, "reporting", viewer(other_tenant)) as client:
        other = f"/t/{other_tenant.tenant_slug}/reporting/pratiche"
        assert (await client.get(f"{other}/{dispute}")).status_code == 404
        assert (await client.get(f"{other}/ricevute/{attachment}")).status_code == 404
        assert 'data-testid="waiting-count">0<' in (await client.get(other)).text


@pytest.mark.asyncio
async def test_a_case_page_says_what_each_answer_does_and_offers_only_those_that_apply(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    position = fact(40_000, debtor_name="GIALLI PIETRO")
    await deliver(platform, tid, registered(position))
    debtor, dispute, hardship = position.debtor_id, str(uuid.uuid4()), str(uuid.uuid4())
    await to_cases(
        platform,
        tid,
        DisputeOpened(dispute, debtor, "Dice di aver venduto l'immobile", "op-1", OPENED),
        HardshipFlagged(hardship, debtor, "Ha perso il lavoro", "op-1", OPENED),
    )
    base = f"/t/{tenant.tenant_slug}/reporting/pratiche"
    async with service_client(platform, "reporting", viewer(tenant, "comune_admin")) as client:
        dispute_page = (await client.get(f"{base}/{dispute}")).text
        hardship_page = (await client.get(f"{base}/{hardship}")).text
        dashboard = (await client.get(f"/t/{tenant.tenant_slug}/reporting/")).text
    # The dashboard says how many cases wait for the office (their calls wait with them).
    assert 'data-testid="cases-waiting">2<' in dashboard
    # An amount is corrected only for a dispute or a declared payment.
    assert 'id="esito-corrected"' in dispute_page and 'id="esito-corrected"' not in hardship_page
    assert 'id="importo"' in dispute_page and 'id="importo"' not in hardship_page
    assert "Le chiamate riprendono e la riscossione continua" in dispute_page
    # The debtor's file (positions, payments, calls) is a click away.
    assert f'/reporting/portale/debitori/{debtor}" data-testid="debtor-file"' in hardship_page


@pytest.mark.asyncio
async def test_the_answer_reaches_the_operators_card_and_queue(platform: Platform, tenant: Identity) -> None:
    tid = tenant.tenant_id
    paused, helped = str(uuid.uuid4()), str(uuid.uuid4())
    await contact.seed(platform, tid, contact.fact(paused, 40_000), contact.fact(helped, 30_000))
    answer = CaseAnswered(
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        paused,
        "dispute",
        "rejected",
        "L'atto di vendita è del 2021",
        0,
        "Anna Bianchi",
        "2026-11-24T09:00:00+01:00",
    )
    hardship = dataclasses.replace(
        answer, answer_id=str(uuid.uuid4()), debtor_id=helped, kind="hardship", answer="upheld"
    )
    for event in (answer, hardship):
        await contact.deliver(platform, event.envelope(tid, "test"))
    await contact.deliver(platform, answer.envelope(tid, "test"))  # a republish changes nothing
    rejected, upheld = (
        await contact.debtor(platform, tid, paused),
        await contact.debtor(platform, tid, helped),
    )
    assert rejected is not None and upheld is not None
    assert (rejected.status, upheld.status) == ("da_lavorare", "sospeso")
    operator = make_identity(tid, tenant.tenant_slug, roles=("operator",), user_id="op-card")
    async with service_client(platform, "contact", operator) as client:
        card = (await client.get(f"/t/{tenant.tenant_slug}/contact/debtors/{paused}")).text
    assert "Risposta dell&#39;Ufficio tributi" in card or "Risposta dell'Ufficio tributi" in card
    assert (
        "Contestazione: Respinta" in card
        and card.count("L&#39;atto di vendita") + card.count("L'atto di vendita") == 1
    )
