"""The office's answers as pure rules: one final answer per case (after any suspended ones), the
positions a cancellation or a correction names, the amount of a correction, what each does."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from services.contact import domain_answers as contact_rules
from services.contact.domain import Status
from services.contracts import CaseAnswered
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.errors import Conflict, DomainError
from services.payments import domain_answers as payment_rules
from services.reporting import domain_cases
from services.reporting.domain_cases import Effect, OpenPosition

A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
OFFERED = {
    A: OpenPosition(A, "IMU-2019-1", 500_000, 0),
    B: OpenPosition(B, "IMU-2020-7", 30_000, 10_000),
    C: OpenPosition(C, "TARI-2021-3", 20_000, 0, in_active_plan=True),
}


def refused(field: str, *args: object, **kw: object) -> str:
    with pytest.raises(DomainError) as caught:
        domain_cases.check_answer(*args, **kw)  # type: ignore[arg-type]
    assert caught.value.field == field, caught.value.message
    return caught.value.message


def test_a_case_takes_one_final_answer_after_any_suspended_ones() -> None:
    domain_cases.may_answer(None)
    domain_cases.may_answer("suspended")
    for final in ("upheld", "rejected", "cancelled", "corrected"):
        with pytest.raises(DomainError) as caught:
            domain_cases.may_answer(final)
        assert caught.value.field == "esito"
        assert "ha già una risposta definitiva" in caught.value.message


def test_a_cancellation_names_open_positions_with_nothing_collected() -> None:
    answer = domain_cases.check_answer("cancelled", "Immobile venduto nel 2018", "", [str(A)], OFFERED)
    assert answer.position_ids == (A,) and answer.corrected_cents is None
    assert "almeno una posizione" in refused("posizioni", "cancelled", "Immobile venduto", "", [], OFFERED)
    assert "già riscossi € 100,00" in refused("posizioni", "cancelled", "Venduto", "", [str(B)], OFFERED)
    # One in an active plan too (payments spreads the plan again on what is left).
    planned = domain_cases.check_answer("cancelled", "Venduto nel 2018", "", [str(C)], OFFERED)
    assert planned.position_ids == (C,)
    assert "aperte" in refused("posizioni", "cancelled", "Venduto", "", [str(uuid.uuid4())], OFFERED)
    assert "aperte" in refused("posizioni", "cancelled", "Venduto", "", ["non-un-id"], OFFERED)
    refused("importo", "cancelled", "Venduto", "10,00", [str(A)], OFFERED)
    # The same box ticked twice counts once.
    twice = domain_cases.check_answer("cancelled", "Venduto nel 2018", "", [str(A), str(A)], OFFERED)
    assert twice.position_ids == (A,)


def test_a_correction_names_one_position_and_an_amount_below_it_not_below_what_was_collected() -> None:
    answer = domain_cases.check_answer("corrected", "Ricalcolo rendita", "1.234,56", [str(A)], OFFERED)
    assert answer.position_ids == (A,) and answer.corrected_cents == 123_456
    assert "una sola" in refused("posizioni", "corrected", "Ricalcolo", "100", [str(A), str(B)], OFFERED)
    assert "Scegli la posizione" in refused("posizioni", "corrected", "Ricalcolo", "100", [], OFFERED)
    assert "inferiore a quello in carico (€ 300,00)" in refused(
        "importo", "corrected", "Ricalcolo", "300,00", [str(B)], OFFERED
    )
    assert "già riscosso (€ 100,00)" in refused(
        "importo", "corrected", "Ricalcolo", "99,99", [str(B)], OFFERED
    )
    assert "Annullata (sgravio)" in refused("importo", "corrected", "Ricalcolo", "0", [str(A)], OFFERED)
    assert "Annullata (sgravio)" in refused("importo", "corrected", "Ricalcolo", "€ 0,00", [str(A)], OFFERED)
    refused("importo", "corrected", "Ricalcolo", "-5", [str(A)], OFFERED)
    refused("importo", "corrected", "Ricalcolo", "abc", [str(A)], OFFERED)
    refused("importo", "corrected", "Ricalcolo", "", [str(A)], OFFERED)
    refused("esito", "corrected", "Ricalcolo", "10", [str(A)], OFFERED, kind="hardship")
    # A position in an active plan is corrected all the same: payments spreads the plan again.
    planned = domain_cases.check_answer("corrected", "Superficie errata", "150,00", [str(C)], OFFERED)
    assert planned.position_ids == (C,) and planned.corrected_cents == 15_000
    # Exactly what was collected: the act is settled by the correction.
    settled = domain_cases.check_answer("corrected", "Ricalcolo", "100,00", [str(B)], OFFERED)
    assert settled.corrected_cents == 10_000


def test_other_answers_name_no_position_and_no_amount() -> None:
    assert domain_cases.check_answer("rejected", "  Non risulta  pagato ", "").note == "Non risulta pagato"
    refused("posizioni", "upheld", "Accolta la contestazione", "", [str(A)], OFFERED)
    refused("importo", "suspended", "In verifica catastale", "10,00")
    refused("esito", "boh", "Motivo valido", "")
    refused("nota", "rejected", "no", "")


def test_what_an_answer_does_to_its_positions() -> None:
    assert domain_cases.effects("cancelled", (A, B), None) == [Effect(A, True, None), Effect(B, True, None)]
    assert domain_cases.effects("corrected", (B,), 12_000) == [Effect(B, False, 12_000)]
    assert domain_cases.effects("upheld", (), None) == []
    assert domain_cases.effects("corrected", (), 12_000) == []  # an answer of old names no position


def test_case_answered_of_old_decodes_with_no_positions() -> None:
    event = CaseAnswered(
        "a", "c", "d", "dispute", "cancelled", "nota", 0, "Anna", "2026-11-24T09:00:00+01:00"
    )
    old = event.envelope(uuid.uuid4())
    payload = {k: v for k, v in old.payload.items() if k != "position_ids"}
    written_before = Envelope(type=old.type, version=old.version, tenant_id=old.tenant_id, payload=payload)
    assert CaseAnswered.from_envelope(written_before).position_ids == ()
    named = dataclasses.replace(event, position_ids=(str(A), str(B)))
    through = Envelope.decode(named.envelope(uuid.uuid4()).encode())
    assert CaseAnswered.from_envelope(through) == named
    bad = Envelope(
        type=old.type, version=old.version, tenant_id=old.tenant_id, payload={**payload, "position_ids": "x"}
    )
    with pytest.raises(UndecodableMessage):
        CaseAnswered.from_envelope(bad)


def test_the_calls_after_an_answer() -> None:
    assert contact_rules.status_after("dispute", "cancelled", still_owed=True) is Status.DA_LAVORARE
    assert contact_rules.status_after("dispute", "cancelled", still_owed=False) is Status.CHIUSO
    assert contact_rules.status_after("dispute", "cancelled") is Status.CHIUSO  # of old: no positions
    assert contact_rules.status_after("dispute", "corrected", still_owed=True) is Status.DA_LAVORARE
    note = contact_rules.answer_note("dispute", "cancelled", "Venduto.", 0, positions=2)
    assert note == "Contestazione: Annullata (sgravio) (2 posizioni). Venduto."
    named = contact_rules.answer_note("dispute", "cancelled", "Venduto.", 0, ["2021/90002", "2022/1"], 2)
    assert named == "Contestazione: Annullata (sgravio) (atti 2021/90002, 2022/1). Venduto."
    one = contact_rules.answer_note("dispute", "corrected", "Superficie.", 80_000, ["2022/90004"], 1)
    assert one == "Contestazione: Importo corretto (€ 800,00, atto 2022/90004). Superficie."


def test_what_payments_does_with_a_decision() -> None:
    assert payment_rules.decision("cancelled", (str(A), str(B)), 0) == payment_rules.Decision(cancel=(A, B))
    corrected = payment_rules.decision("corrected", (str(B),), 12_000)
    assert corrected == payment_rules.Decision(correct=B, new_cents=12_000)
    assert corrected is not None and corrected.position_ids == (B,)
    assert payment_rules.decision("upheld", (), 0) is None
    assert payment_rules.decision("corrected", (), 12_000) is None
    assert payment_rules.corrected_amount(12_000, 15_000) == 15_000  # never below what was paid
    assert payment_rules.corrected_amount(12_000, 5_000) == 12_000

    class Cancelled:
        state, act_number = "cancelled", "IMU-2019-1"

    payment_rules.refuse_cancelled([])
    with pytest.raises(Conflict) as caught:
        payment_rules.refuse_cancelled([Cancelled()])
    assert "annullata dall'Ufficio tributi" in caught.value.message
