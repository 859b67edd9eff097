"""The relazione's rules without I/O: each reason from a history, the next step, the request's
checks, the CSV cells and formula injection."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.kernel.errors import DomainError
from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting import domain_relazione_totals as tot
from services.reporting.domain import format_cents
from services.reporting.domain_relazione import NextStep, Reason

AS_OF = date(2025, 6, 30)
SCOPE = rel.Scope("final", date(2025, 1, 1), date(2025, 6, 30), AS_OF)


def history(**kw: object) -> rel.History:
    base = rel.History("RSSMRA80A01H501U", "IMU", 2022, "ACC-1", 10_000, date(2025, 2, 1))
    return replace(base, **kw)  # type: ignore[arg-type]


PROMISED = {"promise_state": "made", "promise_due_on": date(2025, 7, 15)}


def paid(cents: int, on: date = date(2025, 3, 14), flow: str = "F-1") -> rel.Receipt:
    return rel.Receipt("01234567890123456", on, flow, cents)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, Reason.NOT_WORKED),
        ({"attempts": 2, "last_outcome": "non_risponde"}, Reason.IN_PROGRESS),
        ({"attempts": 1, "last_outcome": "irreperibile"}, Reason.UNTRACEABLE),
        ({"attempts": 3, "grade": "none"}, Reason.UNTRACEABLE),
        ({"attempts": 1, "last_outcome": "deceduto"}, Reason.DECEASED),
        ({"attempts": 1, "last_outcome": "difficolta"}, Reason.HARDSHIP),
        ({"attempts": 1, "last_outcome": "contestazione"}, Reason.DISPUTED),
        ({"attempts": 1, "last_outcome": "rifiuto"}, Reason.REFUSED),
        ({"attempts": 1, "last_outcome": "gia_pagato"}, Reason.PAID_BEFORE),
        # A part payment dated before the assignment: the rest is still due, pursued as any other.
        ({"receipts": (paid(1_000, date(2025, 1, 10)),)}, Reason.NOT_WORKED),
        ({"state": "cancelled", "attempts": 1, "last_outcome": "rifiuto"}, Reason.CANCELLED),
        ({"year": 2019}, Reason.TIME_BARRED),
        ({"plan_installments": 6}, Reason.IN_PLAN),
        ({"plan_installments": 6, "plan_lapsed_on": date(2025, 5, 1)}, Reason.PLAN_LAPSED),
        ({"receipts": (paid(10_000),)}, None),
        # The office rejected the claim, corrected the amount or cancelled other positions: what is
        # still due is collected.
        ({"attempts": 1, "last_outcome": "contestazione", "claim_answer": "rejected"}, Reason.IN_PROGRESS),
        ({"attempts": 1, "last_outcome": "gia_pagato", "claim_answer": "corrected"}, Reason.IN_PROGRESS),
        ({"attempts": 1, "last_outcome": "difficolta", "claim_answer": "rejected"}, Reason.IN_PROGRESS),
        ({"attempts": 1, "last_outcome": "gia_pagato", "claim_answer": "cancelled"}, Reason.IN_PROGRESS),
        (
            {
                "attempts": 1,
                "last_outcome": "contestazione",
                "claim_answer": "rejected",
                "plan_installments": 4,
            },
            Reason.IN_PLAN,
        ),
        # Still waiting for the office, or upheld: the claim gives the reason.
        ({"attempts": 1, "last_outcome": "difficolta", "claim_answer": "suspended"}, Reason.HARDSHIP),
        ({"attempts": 1, "last_outcome": "difficolta", "claim_answer": "upheld"}, Reason.HARDSHIP),
        # An open promise whose day has not passed; one past its day, kept or broken does not count.
        ({"attempts": 1, "last_outcome": "promessa_pagamento", **PROMISED}, Reason.PROMISED),
        ({"attempts": 1, **PROMISED, "promise_due_on": AS_OF}, Reason.PROMISED),
        ({"attempts": 1, **PROMISED, "promise_due_on": date(2025, 6, 29)}, Reason.IN_PROGRESS),
        ({"attempts": 1, **PROMISED, "promise_state": "broken"}, Reason.IN_PROGRESS),
        ({"attempts": 1, **PROMISED, "promise_state": "kept"}, Reason.IN_PROGRESS),
        ({"attempts": 2, "last_outcome": "rifiuto", **PROMISED}, Reason.REFUSED),
        (
            {"attempts": 1, **PROMISED, "plan_installments": 6, "plan_lapsed_on": date(2025, 5, 1)},
            Reason.PROMISED,
        ),
    ],
)
def test_each_reason_follows_from_the_history(changes: dict[str, object], expected: Reason | None) -> None:
    assert rel.reason(history(**changes), AS_OF) is expected


def test_limitation_runs_five_years_from_the_first_of_january_after_the_year() -> None:
    assert history(year=2019).barred_on == date(2025, 1, 1)
    assert rel.reason(history(year=2019), date(2024, 12, 31)) is Reason.NOT_WORKED
    assert rel.reason(history(year=2019), date(2025, 1, 1)) is Reason.TIME_BARRED
    assert rel.reason(history(year=2020), date(2025, 12, 31)) is Reason.NOT_WORKED


def test_limitation_runs_from_the_acts_day_when_the_file_gives_it() -> None:
    """A 2020 fine notified on 16 March 2022 is not time-barred with its year: until 16 March 2027."""
    notified = history(year=2020, act_on=date(2022, 3, 16))
    assert notified.barred_on == date(2027, 3, 17)
    assert rel.reason(notified, date(2026, 12, 3)) is Reason.NOT_WORKED
    assert rel.reason(notified, date(2027, 3, 17)) is Reason.TIME_BARRED
    # The line names the act's day beside its number: the office sees where the term runs from.
    texts = dict(zip(rel.COLUMNS, rel.line(notified, SCOPE).texts, strict=True))
    assert texts["Atto"] == f"{notified.act_number} del 16/03/2022"
    assert (
        dict(zip(rel.COLUMNS, rel.line(history(), SCOPE).texts, strict=True))["Atto"] == history().act_number
    )


def test_a_payment_while_the_limitation_runs_starts_it_again() -> None:
    """Paid in part on 10 March 2024 (c.c. art. 2944), a 2019 act is enforceable until 10 March
    2029; a payment after the term ran out revives nothing."""
    part = {
        "year": 2019,
        "registered_on": date(2024, 1, 15),
        "receipts": (paid(2_000, date(2024, 3, 10)),),
        "paid_days": (date(2024, 3, 10),),
    }
    assert history(**part).barred_on == date(2029, 3, 11)
    assert rel.reason(history(**part), date(2026, 6, 30)) is Reason.NOT_WORKED
    assert rel.reason(history(**part), date(2029, 3, 11)) is Reason.TIME_BARRED
    late = {"year": 2018, "paid_days": (date(2024, 6, 1),)}
    assert rel.reason(history(**late), date(2026, 6, 30)) is Reason.TIME_BARRED


def test_a_cancellation_or_a_claim_of_payment_comes_before_the_outcome() -> None:
    refused_then_cancelled = history(state="cancelled", last_outcome="rifiuto", attempts=4)
    assert rel.reason(refused_then_cancelled, AS_OF) is Reason.CANCELLED
    assert refused_then_cancelled.residual_cents == 0
    barred_and_refused = history(year=2018, last_outcome="rifiuto", attempts=1)
    assert rel.reason(barred_and_refused, AS_OF) is Reason.TIME_BARRED


@pytest.mark.parametrize(
    ("changes", "step", "text"),
    [
        ({"receipts": (paid(10_000),)}, NextStep.NONE, "Nessuno"),
        ({"plan_installments": 6}, NextStep.NONE, "Nessuno"),
        ({"state": "cancelled"}, NextStep.DISCHARGE, "Discarico"),
        # A payment the taxpayer declares: suspended while the office checks it; upheld, discharged.
        (
            {"attempts": 1, "last_outcome": "gia_pagato"},
            NextStep.CLAIM_REVIEW,
            "Sospesa: pagamento dichiarato in esame dall'Ufficio",
        ),
        (
            {"attempts": 1, "last_outcome": "gia_pagato", "claim_answer": "upheld"},
            NextStep.DISCHARGE,
            "Discarico",
        ),
        (
            {"attempts": 1, "last_outcome": "gia_pagato", "claim_answer": "suspended"},
            NextStep.CLAIM_REVIEW,
            "Sospesa: pagamento dichiarato in esame dall'Ufficio",
        ),
        ({"year": 2019}, NextStep.DISCHARGE, "Discarico"),
        ({"attempts": 1, "last_outcome": "deceduto"}, NextStep.DISCHARGE, "Discarico"),
        ({"attempts": 1, "last_outcome": "irreperibile"}, NextStep.DISCHARGE, "Discarico"),
        ({"attempts": 1, "last_outcome": "rifiuto"}, NextStep.ENFORCE, "Riscossione coattiva"),
        (
            {"plan_installments": 6, "plan_lapsed_on": date(2025, 5, 1)},
            NextStep.ENFORCE,
            "Riscossione coattiva",
        ),
        ({"attempts": 2, "last_outcome": "non_risponde"}, NextStep.ENFORCE, "Riscossione coattiva"),
        # Never worked, at the mandate's end: returned to the Comune, not proposed for enforced
        # collection (an interim relazione says «Da lavorare»).
        ({}, NextStep.RETURNED, "Riconsegna al Comune: mai lavorata"),
        # An open promise not yet due: wait for the payment promised, by its day.
        (
            {"attempts": 1, "last_outcome": "promessa_pagamento", **PROMISED},
            NextStep.AWAIT_PROMISE,
            "In attesa del pagamento promesso entro il 15/07/2025",
        ),
        (
            {
                "attempts": 1,
                "last_outcome": "promessa_pagamento",
                **PROMISED,
                "promise_due_on": date(2025, 6, 1),
            },
            NextStep.ENFORCE,
            "Riscossione coattiva",
        ),
        # Hardship (tutela sociale): suspended while the office examines it, and once it upheld it.
        (
            {"attempts": 1, "last_outcome": "difficolta"},
            NextStep.HARDSHIP_REVIEW,
            "Sospesa: tutela sociale in esame dall'Ufficio",
        ),
        (
            {"attempts": 1, "last_outcome": "difficolta", "claim_answer": "suspended"},
            NextStep.HARDSHIP_REVIEW,
            "Sospesa: tutela sociale in esame dall'Ufficio",
        ),
        (
            {"attempts": 1, "last_outcome": "difficolta", "claim_answer": "upheld"},
            NextStep.HARDSHIP_UPHELD,
            "Sospesa: tutela sociale accolta dall'Ufficio",
        ),
        (
            {"attempts": 1, "last_outcome": "difficolta", "claim_answer": "rejected"},
            NextStep.ENFORCE,
            "Riscossione coattiva",
        ),
        # A dispute: suspended while the office examines it; upheld, the credit is discharged.
        (
            {"attempts": 1, "last_outcome": "contestazione"},
            NextStep.DISPUTE_REVIEW,
            "Sospesa: contestazione in esame dall'Ufficio",
        ),
        (
            {"attempts": 1, "last_outcome": "contestazione", "claim_answer": "upheld"},
            NextStep.DISCHARGE,
            "Discarico",
        ),
        (
            {"attempts": 1, "last_outcome": "contestazione", "claim_answer": "rejected"},
            NextStep.ENFORCE,
            "Riscossione coattiva",
        ),
    ],
)
def test_next_step(changes: dict[str, object], step: NextStep, text: str) -> None:
    item = rel.line(history(**changes), SCOPE)
    assert item.next_step is step
    assert dict(zip(rel.COLUMNS, item.texts, strict=True))["Prossimo passo"] == text
    assert rel.next_step(item.reason, item.history) is step


def test_an_interim_relazione_proposes_to_go_on_with_work_without_result() -> None:
    """While the mandate runs, a position worked without result is to be worked on, not sent to
    enforced collection (the final relazione proposes that); a refusal is proposed either way."""
    interim = rel.Scope("interim", date(2025, 1, 1), date(2025, 6, 30), AS_OF)
    tried = history(attempts=1, last_outcome="non_risponde")
    assert rel.line(tried, interim).next_step is NextStep.CONTINUE
    assert dict(zip(rel.COLUMNS, rel.line(tried, interim).texts, strict=True))["Prossimo passo"] == (
        "Proseguire i contatti (mandato in corso)"
    )
    assert rel.line(tried, SCOPE).next_step is NextStep.ENFORCE
    assert rel.line(history(), interim).next_step is NextStep.TO_WORK
    assert rel.line(history(attempts=1, last_outcome="rifiuto"), interim).next_step is NextStep.ENFORCE


def test_no_proposal_of_enforced_collection_without_a_reason_for_it() -> None:
    """Enforced collection is proposed only for a refusal, a lapsed plan or work without result
    (a claim the office overruled included), never for what waits or was not worked yet."""
    enforced = set()
    for why in Reason:
        for answer in ("", "suspended", "upheld", "rejected"):
            h = history(claim_answer=answer, promise_state="made", promise_due_on=date(2025, 7, 15))
            if rel.next_step(why, h) is NextStep.ENFORCE:
                enforced.add(why)
    assert enforced == {Reason.REFUSED, Reason.PLAN_LAPSED, Reason.IN_PROGRESS}


def test_collected_is_net_of_refunds_and_totals_leave_cancelled_positions_apart() -> None:
    totals = tot.Totals()
    partly = history(receipts=(paid(3_000), paid(2_000, flow="")), refunded_cents=500, revoked_cents=700)
    cancelled = history(state="cancelled", revenue_type="TARI", year=2023, assigned_cents=4_000)
    for h in (partly, cancelled):
        totals.add(rel.line(h, SCOPE))
    assert (partly.collected_cents, partly.residual_cents) == (4_500, 5_500)
    overall = totals.overall
    assert (overall.positions, overall.assigned_cents, overall.cancelled_cents) == (2, 10_000, 4_000)
    assert (overall.collected_cents, overall.residual_cents) == (4_500, 5_500)
    assert [(t, y) for t, y, _ in totals.type_year_rows()] == [("IMU", 2022), ("TARI", 2023)]
    bases = totals.aggio_bases()
    assert (bases["IMU"].collected_cents, bases["IMU"].refunded_cents, bases["IMU"].revoked_cents) == (
        5_000,
        500,
        700,
    )
    assert bases["IMU"].taxable_cents == 4_500


def test_every_line_and_total_reads_handed_over_less_sgravi_rettifiche_and_collected() -> None:
    cancelled = history(state="cancelled", assigned_cents=25_093, act_number="SGRAVIO")
    corrected = history(assigned_cents=150_000, corrected_cents=50_000, receipts=(paid(20_000),))
    overpaid = history(receipts=(paid(12_000),), refunded_cents=1_000)
    totals = tot.Totals()
    rows = []
    for h in (cancelled, corrected, overpaid):
        item = rel.line(h, SCOPE)
        totals.add(item)
        rows.append(rel.amounts(h))
        money = [item.texts[rel.COLUMNS.index(name)] for name in rel.MONEY_HEADERS]
        assert money == [format_cents(c) for c in rel.amounts(h)]
    assert rows == [
        (25_093, 25_093, 0, 0, 0),
        (200_000, 0, 50_000, 20_000, 130_000),
        (10_000, 0, 0, 11_000, -1_000),
    ]
    for original, sgravi, rettifiche, collected, residual in [*rows, tot.group_amounts(totals.overall)]:
        assert original - sgravi - rettifiche - collected == residual
    assert tot.group_amounts(totals.overall) == tuple(map(sum, zip(*rows, strict=True)))
    assert totals.overall.assigned_cents == 160_000  # what stands of the load, as the portal counts it


def test_csv_cells_use_italian_money_and_neutralise_formulas() -> None:
    h = history(
        act_number='=HYPERLINK("http://x")',
        fiscal_code="+39CMD",
        receipts=(paid(123_456),),
        assigned_cents=200_000,
        attempts=2,
        last_outcome="rifiuto",
    )
    row = rel.csv_cells(rel.line(h, SCOPE))
    assert dict(zip(rel.COLUMNS, row, strict=True)) == {
        "Codice fiscale": "'+39CMD",
        "Entrata": "IMU",
        "Anno": "2022",
        "Atto": '\'=HYPERLINK("http://x")',
        "Carico affidato": "2.000,00",
        "Sgravi": "0,00",
        "Rettifiche": "0,00",
        "Riscosso": "1.234,56",
        "Residuo": "765,44",
        "Pagamenti (IUV, data, flusso)": "IUV 01234567890123456 del 14/03/2025, flusso F-1: 1.234,56",
        "Tentativi di contatto": "2",
        "Ultimo esito": "Rifiuto",
        "Esito rintraccio": "Non rilevato",
        "Piano (rate)": "",
        "Piano decaduto il": "",
        "Motivo mancata riscossione": "Rifiuto di pagare",
        "Prossimo passo": "Riscossione coattiva",
    }
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert rel.neutralise(f"{start}1+1") == f"'{start}1+1"
    assert rel.neutralise("RSSMRA80A01H501U") == "RSSMRA80A01H501U"


TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("kind", "start", "end", "field", "words"),
    [
        ("weekly", "2025-01-01", "2025-03-31", "kind", "interim"),
        (None, "2025-01-01", "2025-03-31", "kind", "final"),
        ("interim", "2025-02-30", "2025-03-31", "period_from", "iniziale"),
        ("interim", "01-01-2025", "2025-03-31", "period_from", "GG/MM/AAAA"),
        ("final", "2025-01-01", 20250331, "period_to", "finale"),
        ("interim", "2025-03-31", "2025-01-01", "period_to", "termina prima"),
        ("interim", "2026-01-01", "2026-12-02", "period_to", "non può finire dopo oggi (01/12/2026)"),
        ("interim", "1900-01-01", "2025-03-31", "period_from", "prima del 01/01/2000"),
    ],
)
def test_bad_requests_are_refused_at_their_field(
    kind: object, start: object, end: object, field: str, words: str
) -> None:
    with pytest.raises(DomainError) as refused:
        frame.parse_request(kind, start, end, TODAY)
    assert refused.value.field == field and words in refused.value.message


def test_a_request_takes_iso_or_italian_dates() -> None:
    wanted = frame.parse_request("interim", "2025-01-01", "31/03/2025", TODAY)
    assert wanted == frame.Request("interim", date(2025, 1, 1), date(2025, 3, 31))
    assert frame.parse_request("final", "1/1/2025", "1/1/2025", TODAY).period_to == date(2025, 1, 1)
    assert frame.parse_request("final", "2026-01-01", "2026-12-01", TODAY).period_to == TODAY  # today: yes
