"""The conduct rules of collection calls with a frozen clock: every edge of the calling hours,
Sundays, national holidays (Easter Monday 2027), the patron saint, the daylight-saving changes,
the daily and weekly caps, a debtor who asked not to be phoned, a Comune's stricter rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from services.contact.domain_conduct import (
    DO_NOT_CALL,
    ROME,
    ConductRules,
    cap_reason,
    check_override,
    check_rules,
    closed_notice,
    closed_reason,
    day_bounds,
    hours_text,
    refusal,
    reopens,
    rules_text,
)
from services.kernel.errors import Conflict, DomainError

UNIREC = ConductRules()


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ROME)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at(2026, 11, 30, 8, 29), False),  # Monday
        (at(2026, 11, 30, 8, 30), True),
        (at(2026, 11, 30, 21, 0), True),
        (at(2026, 11, 30, 21, 1), False),
        (at(2026, 12, 4, 20, 59), True),  # Friday
        (at(2026, 12, 5, 8, 29), False),  # Saturday
        (at(2026, 12, 5, 8, 30), True),
        (at(2026, 12, 5, 15, 0), True),
        (at(2026, 12, 5, 15, 1), False),
        (at(2026, 12, 6, 10, 0), False),  # Sunday
    ],
)
def test_the_edges_of_the_calling_hours(moment: datetime, open_: bool) -> None:
    assert (closed_reason(UNIREC, moment) is None) is open_


def test_sundays_and_national_holidays_are_closed_all_day() -> None:
    assert closed_reason(UNIREC, at(2026, 12, 6, 10)) == "Il 06/12/2026 è domenica: non si telefona."
    assert closed_reason(UNIREC, at(2027, 3, 29, 10)) == (
        "Il 29/03/2027 è festivo (Lunedì dell'Angelo): non si telefona."
    )
    assert closed_reason(UNIREC, at(2027, 3, 30, 10)) is None  # the Tuesday after
    for day in ((2026, 12, 8), (2026, 12, 25), (2027, 1, 6), (2027, 6, 2), (2027, 10, 4)):
        assert "è festivo" in (closed_reason(UNIREC, at(*day, 10)) or ""), day
    # «L'8», «l'1», «l'11» as they are read (it said «Il 08/12/2026»).
    assert (closed_reason(UNIREC, at(2026, 12, 8, 10)) or "").startswith("L'08/12/2026 è festivo (")
    assert (closed_reason(UNIREC, at(2027, 1, 1, 10)) or "").startswith("L'01/01/2027 è festivo (")
    late = closed_reason(UNIREC, at(2026, 12, 11, 22))
    assert late == "Alle 22:00 dell'11/12/2026 si è fuori dalle fasce orarie consentite (" + (
        "lun–ven 8:30–21:00, sab 8:30–15:00)."
    ), late


def test_the_patron_saints_day_of_the_comune_is_closed() -> None:
    bologna = ConductRules(patron_day=(10, 4), patron_saint="San Petronio")
    assert closed_reason(bologna, at(2027, 10, 4, 10)) is not None  # also San Francesco, national
    milano = ConductRules(patron_day=(12, 7), patron_saint="Sant'Ambrogio")
    assert closed_reason(milano, at(2026, 12, 7, 10)) == (
        "Il 07/12/2026 è la festa del santo patrono del Comune (Sant'Ambrogio): non si telefona."
    )
    assert closed_reason(UNIREC, at(2026, 12, 7, 10)) is None


def test_the_daylight_saving_changes_are_read_in_rome_time() -> None:
    # Summer time from Sunday 29 March 2026: Sunday closed; on Saturday before, 08:30 is 07:30 UTC;
    # on Monday after, 08:30 is 06:30 UTC.
    assert closed_reason(UNIREC, datetime(2026, 3, 29, 9, 0, tzinfo=UTC)) is not None
    assert closed_reason(UNIREC, datetime(2026, 3, 28, 7, 29, tzinfo=UTC)) is not None
    assert closed_reason(UNIREC, datetime(2026, 3, 28, 7, 30, tzinfo=UTC)) is None
    assert closed_reason(UNIREC, datetime(2026, 3, 30, 6, 29, tzinfo=UTC)) is not None
    assert closed_reason(UNIREC, datetime(2026, 3, 30, 6, 30, tzinfo=UTC)) is None
    assert closed_reason(UNIREC, datetime(2026, 3, 30, 19, 0, tzinfo=UTC)) is None  # 21:00
    assert closed_reason(UNIREC, datetime(2026, 3, 30, 19, 1, tzinfo=UTC)) is not None
    # Back to standard time on Sunday 25 October 2026: on Saturday 15:00 is 13:00 UTC, on
    # Monday 21:00 is 20:00 UTC.
    assert closed_reason(UNIREC, datetime(2026, 10, 25, 10, 0, tzinfo=UTC)) is not None
    assert closed_reason(UNIREC, datetime(2026, 10, 24, 13, 0, tzinfo=UTC)) is None
    assert closed_reason(UNIREC, datetime(2026, 10, 24, 13, 1, tzinfo=UTC)) is not None
    assert closed_reason(UNIREC, datetime(2026, 10, 26, 20, 0, tzinfo=UTC)) is None
    assert closed_reason(UNIREC, datetime(2026, 10, 26, 20, 1, tzinfo=UTC)) is not None
    # The day of a change has 23 or 25 hours: the caps count it from its Rome midnight.
    assert day_bounds(datetime(2026, 3, 29, 21, 0, tzinfo=UTC))[0] == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert day_bounds(datetime(2026, 10, 25, 22, 0, tzinfo=UTC))[0] == datetime(
        2026, 10, 24, 22, 0, tzinfo=UTC
    )


def test_one_conversation_a_day_and_three_in_seven_days() -> None:
    monday = at(2026, 11, 30, 10)
    assert cap_reason(UNIREC, monday, []) is None
    assert "già stata una conversazione oggi" in (
        cap_reason(UNIREC, monday, [monday - timedelta(hours=1)]) or ""
    )
    # Yesterday late in the evening (Rome) is not today, even if it is today in UTC terms.
    assert cap_reason(UNIREC, monday, [at(2026, 11, 29, 23, 30)]) is None
    two = [at(2026, 11, 25, 10), at(2026, 11, 27, 10)]
    assert cap_reason(UNIREC, monday, two) is None
    three = [at(2026, 11, 24, 10), *two]
    assert "già state 3 conversazioni negli ultimi 7 giorni" in (cap_reason(UNIREC, monday, three) or "")
    # The seven days are the day of the call and the six before: on 1/12, 24/11 no longer counts.
    assert cap_reason(UNIREC, at(2026, 12, 1, 10), three) is None


def test_a_debtor_who_asked_not_to_be_phoned_is_never_phoned() -> None:
    assert refusal(UNIREC, at(2026, 11, 30, 10), [], do_not_call=True) == DO_NOT_CALL
    assert refusal(UNIREC, at(2026, 11, 30, 10), [], do_not_call=False) is None


def test_only_a_supervisor_with_a_written_reason_overrides() -> None:
    with pytest.raises(Conflict, match="Solo un supervisore"):
        check_override("Fuori orario.", "Il contribuente ha richiamato lui", supervisor=False)
    with pytest.raises(DomainError, match="scrivi il motivo") as refused:
        check_override("Fuori orario.", "ok", supervisor=True)
    assert refused.value.field == "override_reason"
    assert (
        check_override("x", "  Richiesta del contribuente  ", supervisor=True) == "Richiesta del contribuente"
    )


def test_a_comune_may_make_the_rules_stricter_never_looser() -> None:
    values = {f"from_{d}": "09:00" for d in range(5)} | {f"to_{d}": "18:00" for d in range(5)}
    stricter = check_rules(
        {**values, "daily_cap": "1", "weekly_cap": "2", "patron_day": "04/10", "patron_saint": "San Petronio"}
    )
    assert stricter.windows[0] == (time(9), time(18)) and 5 not in stricter.windows
    assert (stricter.weekly_cap, stricter.patron_day) == (2, (10, 4))
    assert hours_text(stricter) == "lun–ven 9:00–18:00"
    assert closed_reason(stricter, at(2026, 12, 5, 10)) == "Di sabato il Comune non fa telefonare."
    for bad, field in (
        ({**values, "to_2": "21:30"}, "to_2"),
        ({**values, "from_1": "08:00"}, "from_1"),
        ({**values, "from_0": "18:00", "to_0": "09:00"}, "to_0"),
        ({**values, "from_0": "9"}, "from_0"),
        ({**values, "daily_cap": "2"}, "daily_cap"),
        ({**values, "weekly_cap": "4"}, "weekly_cap"),
        ({**values, "patron_day": "31/02"}, "patron_day"),
        ({**values, "patron_day": "", "patron_saint": "San Petronio"}, "patron_day"),  # a name, no day
        ({**values, "patron_day": "04/10", "patron_saint": " "}, "patron_saint"),  # a day, no name
        ({**values, "from_3": "", "to_3": "18:00"}, "from_3"),  # half a window
        ({**values, "from_3": "09:00", "to_3": " "}, "to_3"),
    ):
        with pytest.raises(DomainError) as refused:
            check_rules({"daily_cap": "1", "weekly_cap": "3", **bad})
        assert refused.value.field == field, bad
    with pytest.raises(DomainError) as feb:
        check_rules(
            {**values, "daily_cap": "1", "weekly_cap": "3", "patron_day": "31/02", "patron_saint": "X"}
        )
    assert feb.value.message.startswith("Il 31/02 non è un giorno del calendario")
    with pytest.raises(DomainError) as half:
        check_rules({**values, "daily_cap": "1", "weekly_cap": "3", "from_3": "", "to_3": "18:00"})
    assert half.value.message.startswith("Di giovedì indica anche l'inizio della fascia oraria")
    assert rules_text(stricter) == (
        "lun–ven 9:00–18:00; festa del santo patrono (San Petronio) il 04/10; al massimo 1 conversazione "
        "al giorno e 2 in sette giorni"
    )
    with pytest.raises(DomainError) as refused:
        check_rules({**values, "daily_cap": "2", "weekly_cap": "3"})
    assert (
        refused.value.message == "Le conversazioni al giorno sono al massimo 1 (codice di condotta UNIREC)."
    )
    # 0 is within «at most 1»: the message says what is wrong with it.
    with pytest.raises(DomainError) as none:
        check_rules({**values, "daily_cap": "0", "weekly_cap": "3"})
    assert none.value.message.startswith("Le conversazioni al giorno sono almeno 1")
    with pytest.raises(DomainError) as half:
        check_rules({**values, "daily_cap": "1", "weekly_cap": "3", "weight_amount": "2,5"})
    assert "è un numero intero da 0 a 10" in half.value.message


def test_the_softphone_template_needs_sip_and_the_number_once() -> None:
    from services.contact.domain_conduct import check_sip_template, sip_uri

    template = check_sip_template(" sip:{numero}@centralino.example.it ")
    assert sip_uri(template, "+393471234567") == "sip:+393471234567@centralino.example.it"
    assert sip_uri("", "+393471234567") is None
    for bad in ("http://centralino/{numero}", "sip:centralino.example.it", "sip:{numero}{numero}@x"):
        with pytest.raises(DomainError) as refused:
            check_sip_template(bad)
        assert refused.value.field == "sip_template"


def test_the_calling_hours_read_right_whatever_days_they_cover() -> None:
    ten, noon, late = time(9), time(12), time(21)
    week = {d: (time(8, 30), late) for d in range(5)} | {5: (time(8, 30), time(15))}
    assert hours_text(ConductRules(windows=week)) == "lun–ven 8:30–21:00, sab 8:30–15:00"
    mornings = week | {0: (ten, noon), 2: (ten, noon)}
    assert (
        hours_text(ConductRules(windows=mornings))
        == "lun, mer 9:00–12:00; mar, gio–ven 8:30–21:00; sab 8:30–15:00"
    )
    tuesday = week | {1: (time(8, 30), ten)}
    assert (
        hours_text(ConductRules(windows=tuesday)) == "lun, mer–ven 8:30–21:00; mar 8:30–9:00; sab 8:30–15:00"
    )
    assert hours_text(ConductRules(windows={2: (ten, noon)})) == "mer 9:00–12:00"


def test_rules_with_no_day_or_a_field_left_empty_are_refused() -> None:
    with pytest.raises(DomainError) as none:
        check_rules({"daily_cap": "1", "weekly_cap": "3"})
    assert none.value.field == "from_0" and "almeno un giorno" in none.value.message
    day = {"from_0": "09:00", "to_0": "12:00", "daily_cap": "1", "weekly_cap": "3"}
    assert check_rules(day).promise_days == 30  # not sent (an API's partial rules): the default
    for field in ("promise_days", "weight_amount", "daily_cap"):
        with pytest.raises(DomainError) as empty:
            check_rules({**day, field: " "})
        assert empty.value.field == field, field
    with pytest.raises(DomainError) as long:
        check_rules({**day, "sip_template": "sip:{numero}@" + "c" * 200 + ".it"})
    assert "al massimo 200 caratteri" in long.value.message


def test_every_field_at_fault_is_named_at_once() -> None:
    from services.kernel.errors import FieldErrors

    values = {"from_0": "09:00", "to_0": "22:00", "from_1": "7", "to_1": "12:00"}
    with pytest.raises(FieldErrors) as refused:
        check_rules(
            {
                **values,
                "daily_cap": "2",
                "weekly_cap": "x",
                "sip_template": "http://x/{numero}",
                "weight_amount": "-1",
            }
        )
    assert list(refused.value.errors) == [
        "to_0",
        "from_1",
        "daily_cap",
        "weekly_cap",
        "sip_template",
        "weight_amount",
    ]
    assert refused.value.field == "to_0" and "tra 8:30 e 21:00" in refused.value.message
    assert refused.value.errors["weekly_cap"] == "Indica un numero intero."
    # Caps each valid alone but not together: one message, at the weekly cap.
    with pytest.raises(FieldErrors) as caps:
        check_rules({"from_0": "09:00", "to_0": "12:00", "daily_cap": "1", "weekly_cap": "0"})
    assert list(caps.value.errors) == ["weekly_cap"]


def test_a_closed_queue_says_when_calling_starts_again() -> None:
    # A Sunday: Monday morning. A weekday night: the next morning; before the window: today.
    assert closed_notice(UNIREC, at(2026, 12, 6, 10)) == (
        "Il 06/12/2026 è domenica: non si telefona. Si potrà telefonare di nuovo domani dalle 8:30."
    )
    assert (closed_notice(UNIREC, at(2026, 12, 2, 21, 30)) or "").endswith("di nuovo domani dalle 8:30.")
    assert (closed_notice(UNIREC, at(2026, 12, 2, 7, 0)) or "").endswith("di nuovo oggi dalle 8:30.")
    # Saturday afternoon: past Sunday to Monday; Easter Monday 2027: the Tuesday.
    assert (closed_notice(UNIREC, at(2026, 12, 5, 16, 0)) or "").endswith("lunedì 07/12/2026 dalle 8:30.")
    assert reopens(UNIREC, at(2027, 3, 29, 10)) == at(2027, 3, 30, 8, 30)
    # Milan on Sunday 6 December: Sant'Ambrogio on Monday, the Immacolata on Tuesday, so Wednesday.
    milano = ConductRules(patron_day=(12, 7), patron_saint="Sant'Ambrogio")
    assert (closed_notice(milano, at(2026, 12, 6, 10)) or "").endswith("mercoledì 09/12/2026 dalle 8:30.")
    assert closed_notice(UNIREC, at(2026, 12, 2, 10)) is None  # open
    never = ConductRules(windows={})
    assert reopens(never, at(2026, 12, 2, 22)) is None
    assert closed_notice(never, at(2026, 12, 2, 10)) == closed_reason(never, at(2026, 12, 2, 10))
