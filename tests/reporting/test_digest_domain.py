"""The digest's pure rules: when its periods end (weekly on a chosen day, every two weeks, monthly,
every N days), which period is due or sent on demand, the periods as instants across a change of the
clocks, the settings as typed, and what the digest says (e-mail and PDF)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pypdfium2
import pytest

from services.kernel.errors import DomainError
from services.reporting import domain_digest as d
from services.reporting import pdf_digest

MON, THU = 0, 3


def period(a: str, b: str) -> d.Period:
    return d.Period(date.fromisoformat(a), date.fromisoformat(b))


@pytest.mark.parametrize(
    ("schedule", "today", "expected"),
    [
        # Weekly on Monday (the default): Monday to Sunday, sent on the Monday after.
        (d.Schedule(), "2026-11-30", ("2026-11-23", "2026-11-29")),
        (d.Schedule(), "2026-11-29", ("2026-11-16", "2026-11-22")),
        (d.Schedule(), "2026-12-01", ("2026-11-23", "2026-11-29")),
        # Weekly on Thursday: Thursday to Wednesday.
        (d.Schedule(d.WEEKLY, THU), "2026-11-30", ("2026-11-19", "2026-11-25")),
        (d.Schedule(d.WEEKLY, THU), "2026-11-26", ("2026-11-19", "2026-11-25")),
        # Across the year's end.
        (d.Schedule(), "2027-01-04", ("2026-12-28", "2027-01-03")),
        # Monthly: the previous calendar month, whatever its length.
        (d.Schedule(d.MONTHLY), "2026-03-01", ("2026-02-01", "2026-02-28")),
        (d.Schedule(d.MONTHLY), "2024-03-01", ("2024-02-01", "2024-02-29")),
        (d.Schedule(d.MONTHLY), "2026-01-15", ("2025-12-01", "2025-12-31")),
        (d.Schedule(d.MONTHLY), "2026-05-31", ("2026-04-01", "2026-04-30")),
        (d.Schedule(d.MONTHLY), "2026-08-01", ("2026-07-01", "2026-07-31")),
        # Every 10 days from 1 November.
        (
            d.Schedule(d.DAYS, every_days=10, starts_on=date(2026, 11, 1)),
            "2026-11-11",
            ("2026-11-01", "2026-11-10"),
        ),
        (
            d.Schedule(d.DAYS, every_days=10, starts_on=date(2026, 11, 1)),
            "2026-11-25",
            ("2026-11-11", "2026-11-20"),
        ),
        (
            d.Schedule(d.DAYS, every_days=1, starts_on=date(2026, 11, 1)),
            "2026-11-25",
            ("2026-11-24", "2026-11-24"),
        ),
    ],
)
def test_the_last_period_ended(schedule: d.Schedule, today: str, expected: tuple[str, str]) -> None:
    assert d.last_ended(schedule, date.fromisoformat(today)) == period(*expected)


def test_no_period_of_n_days_has_ended_before_the_first_is_over() -> None:
    schedule = d.Schedule(d.DAYS, every_days=10, starts_on=date(2026, 11, 1))
    assert d.last_ended(schedule, date(2026, 11, 10)) is None
    assert d.last_ended(schedule, date(2026, 10, 20)) is None


@pytest.mark.parametrize("weekday", range(7))
def test_two_week_periods_follow_each_other_and_do_not_depend_on_today(weekday: int) -> None:
    schedule = d.Schedule(d.BIWEEKLY, weekday)
    seen = {d.last_ended(schedule, date(2026, 1, 1) + timedelta(days=n)) for n in range(400)}
    periods = sorted((p for p in seen if p is not None), key=lambda p: p.start)
    assert all(p.days == 14 and p.start.weekday() == weekday for p in periods)
    assert all(b.start == a.end + timedelta(days=1) for a, b in itertools.pairwise(periods))
    # The period is sent on its weekday and not again until 14 days later.
    p = periods[5]
    send_day = p.end + timedelta(days=1)
    assert d.last_ended(schedule, send_day) == p
    assert d.last_ended(schedule, send_day + timedelta(days=13)) == p
    assert d.last_ended(schedule, send_day + timedelta(days=14)) != p


def test_due_starts_after_the_last_period_sent() -> None:
    weekly, today = d.Schedule(), date(2026, 11, 30)
    assert d.due(weekly, today, None) == period("2026-11-23", "2026-11-29")
    assert d.due(weekly, today, date(2026, 11, 22)) == period("2026-11-23", "2026-11-29")
    assert d.due(weekly, today, date(2026, 11, 29)) is None  # sent already
    assert d.due(weekly, date(2026, 12, 6), date(2026, 11, 29)) is None  # next week not over
    # A week missed (the office had no address, or the mail server refused) is covered by the next.
    assert d.due(weekly, today, date(2026, 11, 15)) == period("2026-11-16", "2026-11-29")
    # From monthly to weekly: the next digest starts where the last month ended, no day twice.
    assert d.due(weekly, today, date(2026, 10, 31)) == period("2026-11-01", "2026-11-29")
    # From weekly to monthly: the month is cut where the last week ended.
    assert d.due(d.Schedule(d.MONTHLY), date(2026, 12, 1), date(2026, 11, 22)) == period(
        "2026-11-23", "2026-11-30"
    )


def test_send_now_covers_from_the_last_period_sent_to_today() -> None:
    weekly = d.Schedule()
    assert d.on_demand(weekly, date(2026, 12, 2), date(2026, 11, 29)) == period("2026-11-30", "2026-12-02")
    # Nothing sent yet: from the start of the period the daily run would send next, up to today.
    assert d.on_demand(weekly, date(2026, 12, 2), None) == period("2026-11-23", "2026-12-02")
    assert d.on_demand(d.Schedule(d.MONTHLY), date(2026, 12, 2), None) == period("2026-11-01", "2026-12-02")
    assert d.on_demand(weekly, date(2026, 11, 30), None) == period("2026-11-23", "2026-11-30")


@pytest.mark.parametrize(
    ("first", "last", "start_utc", "end_utc", "hours"),
    [
        # Clocks go forward on 29/03/2026: the week lasts 167 hours.
        ("2026-03-23", "2026-03-29", "2026-03-22T23:00", "2026-03-29T22:00", 167),
        # Clocks go back on 25/10/2026: 169 hours.
        ("2026-10-19", "2026-10-25", "2026-10-18T22:00", "2026-10-25T23:00", 169),
        ("2026-11-23", "2026-11-29", "2026-11-22T23:00", "2026-11-29T23:00", 168),
        # A month holding both changes is still midnight to midnight in Rome.
        ("2026-02-01", "2026-02-28", "2026-01-31T23:00", "2026-02-28T23:00", 28 * 24),
    ],
)
def test_a_period_as_instants_runs_from_midnight_to_midnight_in_rome(
    first: str, last: str, start_utc: str, end_utc: str, hours: int
) -> None:
    since, until = period(first, last).bounds()
    assert since.astimezone(UTC) == datetime.fromisoformat(start_utc).replace(tzinfo=UTC)
    assert until.astimezone(UTC) == datetime.fromisoformat(end_utc).replace(tzinfo=UTC)
    # (Aware datetimes of one zone subtract as wall clock: compare the instants.)
    assert until.timestamp() - since.timestamp() == hours * 3600


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        period("2026-11-30", "2026-11-29")
    assert refused.value.field == "period_to" and "termina prima di iniziare" in refused.value.message


def test_the_schedule_as_typed() -> None:
    today = date(2026, 11, 30)
    assert d.check_schedule("weekly", "3", "", today) == d.Schedule(d.WEEKLY, 3)
    assert d.check_schedule("biweekly", "0", "12", today) == d.Schedule(d.BIWEEKLY, 0)
    assert d.check_schedule("monthly", "", "", today) == d.Schedule(d.MONTHLY)
    assert d.check_schedule("days", "0", " 15 ", today) == d.Schedule(d.DAYS, 0, 15, today)
    for raw, field in (
        (("yearly", "0", ""), "periodo"),
        (("", "0", ""), "periodo"),
        (("weekly", "7", ""), "giorno"),
        (("weekly", "lunedì", ""), "giorno"),
        (("days", "0", ""), "ogni_giorni"),
        (("days", "0", "0"), "ogni_giorni"),
        (("days", "0", "93"), "ogni_giorni"),
        (("days", "0", "7,5"), "ogni_giorni"),
    ):
        with pytest.raises(DomainError) as refused:
            d.check_schedule(*raw, today)
        assert refused.value.field == field


def test_the_offices_addresses_as_typed() -> None:
    assert d.check_addresses(
        "tributi@Comune.Esempio.IT, uff.tributi@pec.it;\n tributi@comune.esempio.it\n"
    ) == (
        "tributi@comune.esempio.it",
        "uff.tributi@pec.it",
    )
    assert d.check_addresses("  \n ") == ()
    # One mailbox, written in another case: one copy of each message.
    assert d.check_addresses("tributi@comune-a.it, ragioneria@comune-a.it, TRIBUTI@comune-a.it") == (
        "tributi@comune-a.it",
        "ragioneria@comune-a.it",
    )
    for bad in (
        "tributi",
        "a@b",
        "a@@b.it",
        "a@b..it",
        "a.@-b.it",
        "<a@b.it>",
        "a@b_c.it",
        "x" * 65 + "@b.it",
    ):
        with pytest.raises(DomainError) as refused:
            d.check_addresses(f"ok@comune.it\n{bad}")
        assert refused.value.field == "indirizzi" and "non è un indirizzo valido" in refused.value.message
    with pytest.raises(DomainError) as refused:
        d.check_addresses("\n".join(f"u{n}@comune.it" for n in range(11)))
    assert refused.value.field == "indirizzi"


def _case(case_id: str, kind: str, answer: str | None, opened: str) -> d.CaseRow:
    return d.CaseRow(
        case_id, kind, answer, datetime.fromisoformat(opened), f"Debitore {case_id}", "RSSMRA80A01H501U"
    )


def test_the_cases_awaiting_the_office_with_their_age() -> None:
    rows = [
        _case("b", "hardship", "suspended", "2026-11-20T10:00:00+01:00"),
        _case("c", "dispute", "upheld", "2026-11-01T10:00:00+01:00"),
        _case("a", "dispute", None, "2026-11-02T10:00:00+01:00"),
        # 00:30 in Rome on the 30th is still the 29th in UTC: opened today, 0 days.
        _case("d", "deceased", None, "2026-11-29T23:30:00+00:00"),
    ]
    waiting = d.pending_cases(rows, date(2026, 11, 30))
    assert [(p.case_id, p.age_days, p.suspended) for p in waiting] == [
        ("a", 28, False),
        ("b", 10, True),
        ("d", 0, False),
    ]
    assert waiting[0].kind_label == "Contestazione" and waiting[2].kind_label == "Contribuente deceduto"


def _digest(**kw: object) -> d.Digest:
    values: dict[str, object] = {
        "ente": "Comune di Esempio",
        "period": period("2026-11-23", "2026-11-29"),
        "generated_at": datetime(2026, 11, 30, 5, 0, tzinfo=UTC),
        "figures": d.Figures(
            positions_assigned=3,
            assigned_cents=123_456,
            outcomes=5,
            debtors_reached=2,
            promises_made=1,
            promises_kept=1,
            promises_broken=0,
            plans_created=1,
            plans_lapsed=0,
            collected_cents=60_000,
            revoked_cents=5_000,
            refunded_cents=2_500,
        ),
        "pending": d.pending_cases(
            [_case("a", "dispute", None, "2026-11-02T10:00:00+01:00")], date(2026, 11, 30)
        ),
        "by_type": (d.RevenueLine("IMU", 2, 50_000, 2_500), d.RevenueLine("TARI", 1, 10_000, 0)),
    }
    values.update(kw)
    return d.Digest(**values)  # type: ignore[arg-type]


def test_the_email_summarises_the_digest() -> None:
    digest = _digest()
    assert d.subject(digest) == "Comune di Esempio: riepilogo della riscossione dal 23/11/2026 al 29/11/2026"
    text = d.mail_text(digest, "https://riscossa.example/t/esempio/reporting/riepiloghi")
    for line in (
        "- Carico affidato nel periodo, al netto di sgravi e rettifiche: € 1.234,56",
        "- Contribuenti raggiunti: 2",
        "- Riscosso (pagamenti validi): € 600,00",
        "- Pagamenti revocati: € 50,00",
        "- Riscosso netto: € 575,00",
        "1 pratica è in attesa della risposta dell'ufficio (la più vecchia da 28 giorni).",
        "- IMU: € 475,00",
        "- TARI: € 100,00",
    ):
        assert line in text
    today = d.pending_cases([_case("b", "dispute", None, "2026-11-30T09:00:00+01:00")], date(2026, 11, 30))
    fresh = d.mail_text(_digest(pending=today), "https://x/")
    assert "(la più vecchia aperta oggi)." in fresh  # not «da 0 giorni»
    page = d.mail_html(_digest(ente="Comune di <Prova> & C."), "https://x/")
    assert "Comune di &lt;Prova&gt; &amp; C." in page and "<Prova>" not in page
    assert "<caption>Riscosso netto per tipo di entrata</caption>" in page
    empty = _digest(pending=(), by_type=())
    assert "Nessuna pratica è in attesa" in d.mail_text(empty, "https://x/")
    assert "per tipo di entrata" not in d.mail_text(empty, "https://x/")


def test_the_pdf_holds_the_figures_the_cases_and_the_collected_by_type() -> None:
    body = pdf_digest.render(_digest())
    assert body.startswith(b"%PDF") and body == pdf_digest.render(_digest())  # invariant
    text = pypdfium2.PdfDocument(body)[0].get_textpage().get_text_range()
    for expected in (
        "Riepilogo della riscossione",
        "Comune di Esempio",
        "dal 23/11/2026 al 29/11/2026",
        "Carico affidato nel periodo, al netto di sgravi e rettifiche € 1.234,56",
        "Riscosso netto € 575,00",
        "IMU 2 € 500,00 € 25,00 € 475,00",
        "Totale 3 € 600,00 € 25,00 € 575,00",
        "Pratiche in attesa di risposta dell'ufficio: 1",
        "02/11/2026 28 Contestazione Da decidere Debitore a RSSMRA80A01H501U",
    ):
        assert expected in text, expected
    assert _digest().filename == "riepilogo-20261123-20261129.pdf"


@pytest.mark.parametrize(
    ("schedule", "today", "coming", "sent_on"),
    [
        # Tuesday 1 December: the week under way goes out on Monday 7.
        (d.Schedule(), "2026-12-01", ("2026-11-30", "2026-12-06"), "2026-12-07"),
        # On the day one goes out, the next one is a week away.
        (d.Schedule(), "2026-12-07", ("2026-12-07", "2026-12-13"), "2026-12-14"),
        (d.Schedule(d.MONTHLY), "2026-12-01", ("2026-12-01", "2026-12-31"), "2027-01-01"),
        (d.Schedule(d.MONTHLY), "2027-02-28", ("2027-02-01", "2027-02-28"), "2027-03-01"),
        # Every ten days from the day it was saved: the first period, not yet begun, also shows.
        (
            d.Schedule(d.DAYS, every_days=10, starts_on=date(2026, 12, 1)),
            "2026-12-01",
            ("2026-12-01", "2026-12-10"),
            "2026-12-11",
        ),
        (
            d.Schedule(d.DAYS, every_days=92, starts_on=date(2026, 12, 1)),
            "2026-12-01",
            ("2026-12-01", "2027-03-02"),
            "2027-03-03",
        ),
    ],
)
def test_the_next_digest_is_the_period_under_way_and_the_day_it_goes_out(
    schedule: d.Schedule, today: str, coming: tuple[str, str], sent_on: str
) -> None:
    got_period, got_day = d.next_send(schedule, date.fromisoformat(today))
    assert got_period == period(*coming) and got_day == date.fromisoformat(sent_on)
