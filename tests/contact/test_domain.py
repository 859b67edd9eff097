from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest

from services.contact.domain import (
    ANSWERED,
    CONVERSATIONS,
    ROME,
    ContactRecord,
    Outcome,
    Status,
    card_order,
    decide_outcome,
    dedupe_records,
    is_e164,
    page_offset,
    parse_callback,
    parse_found_on,
    parse_outcome,
    within_call_window,
)
from services.contact.domain_lists import check_can_record, held_by_other
from services.kernel.errors import Conflict, DomainError

MONDAY_10 = datetime(2025, 3, 10, 10, 0, tzinfo=ROME)


def test_parse_outcome_accepts_known_values_only() -> None:
    assert parse_outcome(" promessa_pagamento ") is Outcome.PROMESSA_PAGAMENTO
    with pytest.raises(DomainError) as err:
        parse_outcome("minaccia")
    assert err.value.field == "outcome"


def test_parse_callback_formats() -> None:
    assert parse_callback("") is None
    assert parse_callback("2025-03-11T09:30") == datetime(2025, 3, 11, 9, 30, tzinfo=ROME)
    assert parse_callback("11/03/2025 09:30") == datetime(2025, 3, 11, 9, 30, tzinfo=ROME)
    with pytest.raises(DomainError) as err:
        parse_callback("domani")
    assert err.value.field == "callback_at"


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.CONTATTATO, Status.LAVORATO),
        (Outcome.PROMESSA_PAGAMENTO, Status.PROMESSA),
        (Outcome.RIFIUTO, Status.LAVORATO),
        (Outcome.CONTESTAZIONE, Status.SOSPESO),
        (Outcome.NUMERO_ERRATO, Status.DA_RINTRACCIARE),
        (Outcome.GIA_PAGATO, Status.SOSPESO),
        (Outcome.DIFFICOLTA, Status.SOSPESO),
        (Outcome.DECEDUTO, Status.CHIUSO),
        (Outcome.IRREPERIBILE, Status.DA_RINTRACCIARE),
        (Outcome.VUOLE_RATEIZZARE, Status.LAVORATO),
    ],
)
def test_final_outcomes_close_the_debtor(outcome: Outcome, status: Status) -> None:
    decision = decide_outcome(outcome, "  nota  ", None, MONDAY_10)
    assert decision.status is status
    assert decision.callback_at is None
    assert decision.note == "nota"


def test_richiamare_requires_a_callback() -> None:
    with pytest.raises(DomainError) as err:
        decide_outcome(Outcome.RICHIAMARE, "", None, MONDAY_10)
    assert err.value.field == "callback_at"


def test_richiamare_callback_must_be_in_the_future() -> None:
    with pytest.raises(DomainError, match="futuro"):
        decide_outcome(Outcome.RICHIAMARE, "", MONDAY_10 - timedelta(minutes=1), MONDAY_10)


def test_richiamare_callback_must_be_in_call_hours() -> None:
    sunday = datetime(2025, 3, 16, 11, 0, tzinfo=ROME)
    saturday_evening = datetime(2025, 3, 15, 16, 0, tzinfo=ROME)
    for when in (sunday, saturday_evening, MONDAY_10.replace(hour=22)):
        with pytest.raises(DomainError, match=r"Richiamo non possibile\. .*(domenica|fasce orarie)"):
            decide_outcome(Outcome.RICHIAMARE, "", when, MONDAY_10)


def test_richiamare_keeps_the_callback() -> None:
    when = MONDAY_10 + timedelta(days=1, hours=2)
    decision = decide_outcome(Outcome.RICHIAMARE, "", when, MONDAY_10)
    assert (decision.status, decision.callback_at) == (Status.DA_RICHIAMARE, when)


def test_a_callback_the_queue_could_not_keep_today_is_refused() -> None:
    """One conversation a day (UNIREC): a callback later today would wait, unoffered, until
    tomorrow; a call nobody answered comes back tomorrow. Both are refused at the field."""
    later_today = MONDAY_10 + timedelta(hours=2)
    for outcome, words in (
        (Outcome.RICHIAMARE, "Questa chiamata è la conversazione di oggi"),
        (Outcome.PROMESSA_PAGAMENTO, "Questa chiamata è la conversazione di oggi"),
        (Outcome.OCCUPATO, "torna in coda da domani"),
        (Outcome.NON_RISPONDE, "torna in coda da domani"),
    ):
        with pytest.raises(DomainError) as refused:
            decide_outcome(outcome, "", later_today, MONDAY_10)
        assert words in refused.value.message and refused.value.field == "callback_at", outcome


def test_a_callback_typed_with_an_outcome_is_kept_or_refused_never_dropped() -> None:
    """«Chiede di rateizzare» with a callback tomorrow: the debtor waits for it (it was recorded
    «Lavorato» and the callback lost); an outcome whose calls stop or pause refuses it at the field."""
    tomorrow = MONDAY_10 + timedelta(days=1)
    for outcome in (Outcome.VUOLE_RATEIZZARE, Outcome.CONTATTATO, Outcome.RIFIUTO):
        decision = decide_outcome(outcome, "", tomorrow, MONDAY_10)
        assert (decision.status, decision.callback_at) == (Status.DA_RICHIAMARE, tomorrow), outcome
    for outcome, words in (
        (Outcome.CONTESTAZIONE, "finché l'Ufficio tributi non decide"),
        (Outcome.DECEDUTO, "le chiamate cessano"),
        (Outcome.NUMERO_ERRATO, "non porta al contribuente"),
        (Outcome.IRREPERIBILE, "non porta al contribuente"),
    ):
        with pytest.raises(DomainError) as refused:
            decide_outcome(outcome, "il motivo", tomorrow, MONDAY_10)
        assert words in refused.value.message and refused.value.field == "callback_at", outcome
    with pytest.raises(DomainError, match="conversazione di oggi"):
        decide_outcome(Outcome.VUOLE_RATEIZZARE, "", MONDAY_10 + timedelta(hours=3), MONDAY_10)


def test_a_third_party_may_say_when_to_call_back_today() -> None:
    """«Risponde un terzo: rientra alle 19»: no conversation with the taxpayer was held, so the
    callback stands today; without one the debtor comes back tomorrow."""
    seven_pm = MONDAY_10.replace(hour=19)
    decision = decide_outcome(Outcome.TERZO_RISPONDE, "Rientra alle 19", seven_pm, MONDAY_10)
    assert (decision.status, decision.callback_at) == (Status.DA_RICHIAMARE, seven_pm)
    with pytest.raises(DomainError, match="Richiamo non possibile"):
        decide_outcome(Outcome.TERZO_RISPONDE, "", MONDAY_10.replace(hour=22), MONDAY_10)


def test_only_a_call_the_taxpayer_answered_is_a_conversation() -> None:
    assert {"terzo_risponde", "numero_errato", "irreperibile", "deceduto"}.isdisjoint(CONVERSATIONS)
    assert {"non_risponde", "occupato"}.isdisjoint(CONVERSATIONS | ANSWERED)
    assert {"contattato", "rifiuto", "richiamare", "promessa_pagamento"} <= CONVERSATIONS
    assert "terzo_risponde" in ANSWERED and "non_risponde" not in ANSWERED


def test_no_answer_and_third_party_retry_not_before_tomorrow() -> None:
    for outcome in (Outcome.NON_RISPONDE, Outcome.TERZO_RISPONDE):
        decision = decide_outcome(outcome, "", None, MONDAY_10)
        assert decision.status is Status.DA_RICHIAMARE
        assert decision.callback_at == MONDAY_10 + timedelta(days=1)
    later = MONDAY_10 + timedelta(days=3)
    assert decide_outcome(Outcome.NON_RISPONDE, "", later, MONDAY_10).callback_at == later


def test_note_length_is_bounded() -> None:
    with pytest.raises(DomainError) as err:
        decide_outcome(Outcome.CONTATTATO, "x" * 2001, None, MONDAY_10)
    assert err.value.field == "note"


def test_call_window() -> None:
    assert within_call_window(MONDAY_10.replace(hour=8, minute=30))
    assert not within_call_window(MONDAY_10.replace(hour=8, minute=29))
    assert within_call_window(datetime(2025, 3, 15, 15, 0, tzinfo=ROME))


def test_another_operators_lock_blocks_recording_but_not_supervisors() -> None:
    until = MONDAY_10 + timedelta(minutes=10)
    with pytest.raises(Conflict, match="ora in lavorazione a un altro operatore"):
        check_can_record(("op-2", None, until), "op-1", MONDAY_10, supervisor=False)
    with pytest.raises(Conflict, match=r"ora in lavorazione a Marco Ricci .*non è stato registrato"):
        check_can_record(("op-2", "Marco Ricci", until), "op-1", MONDAY_10, supervisor=False)
    check_can_record(("op-2", "Marco Ricci", until), "op-1", MONDAY_10, supervisor=True)
    check_can_record(("op-1", None, until), "op-1", MONDAY_10, supervisor=False)
    check_can_record(("op-2", None, MONDAY_10 - timedelta(minutes=1)), "op-1", MONDAY_10, supervisor=False)
    check_can_record((None, None, None), "op-1", MONDAY_10, supervisor=False)
    # The card says who holds it (the same rule): nobody else, or the lock over.
    assert held_by_other(("op-2", "Marco Ricci", until), "op-1", MONDAY_10) == "Marco Ricci"
    assert held_by_other(("op-1", "Io", until), "op-1", MONDAY_10) is None
    assert held_by_other(("op-2", None, MONDAY_10), "op-1", MONDAY_10) is None


def test_paging() -> None:
    assert page_offset(3, 25) == 50


def test_contact_rules() -> None:
    assert is_e164("+393471234567") and not is_e164("3471234567") and not is_e164("+39 347")
    assert parse_found_on("2026-11-20") == date(2026, 11, 20) and parse_found_on("") is None
    keys = [
        card_order(k, c)
        for k, c in [("address", 90), ("phone", 40), ("email", 60), ("phone", 80), ("pec", 1)]
    ]
    assert sorted(keys) == [(0, -80), (0, -40), (1, -60), (2, -1), (3, -90)]
    one, other = uuid.uuid4(), uuid.uuid4()
    first = ContactRecord(one, other, "phone", "+393471234567", "comune", None, 60, True)
    last = ContactRecord(one, other, "phone", "+393471234567", "comune", None, 60, False)
    assert dedupe_records([first, last]) == [last]


def test_a_promise_may_come_with_a_callback() -> None:
    later = MONDAY_10 + timedelta(days=2)
    decision = decide_outcome(Outcome.PROMESSA_PAGAMENTO, "", later, MONDAY_10)
    assert (decision.status, decision.callback_at) == (Status.DA_RICHIAMARE, later)
