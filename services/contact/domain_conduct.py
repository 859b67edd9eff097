"""The conduct rules of collection calls (domain.md §7.2), as the server enforces them. Pure.

Defaults are those of the UNIREC code of conduct: calls Monday to Friday 08:30–21:00 and Saturday
08:30–15:00, Europe/Rome, never on Sundays, on national holidays (the `holidays` package, Easter
Monday included) or on the Comune's patron saint's day; at most one conversation a day and three in
seven days with a debtor; a debtor who asked not to be phoned is reached in writing only. A Comune
may make them stricter, never looser (`check_rules`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from services.kernel.errors import Conflict, DomainError, Problems
from services.kernel.working_days import national_holidays

ROME = ZoneInfo("Europe/Rome")
WEEKDAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
UNIREC_WINDOWS: Mapping[int, tuple[time, time]] = {
    **{day: (time(8, 30), time(21, 0)) for day in range(5)},
    5: (time(8, 30), time(15, 0)),
}
# The queue's order after due callbacks and broken promises: a score of the amount owed, the
# nearness of the limitation date (its positions' nearest, `kernel.limitation`), the fewest attempts
# and the best phone's reliability (`repository.queue_score`), each weighted 0 to 10.
DEFAULT_WEIGHTS: Mapping[str, int] = {"amount": 4, "limitation": 3, "attempts": 2, "grade": 1}
WEIGHT_LABELS = {
    "amount": "Importo dovuto",
    "limitation": "Prescrizione vicina",
    "attempts": "Pochi tentativi",
    "grade": "Affidabilità del telefono",
}
UNIREC_DAILY = 1
UNIREC_WEEKLY = 3
# The days a weekly cap counts: the day of the call and the six before it.
WEEK = 7


@dataclass(frozen=True)
class ConductRules:
    """A Comune's calling rules. `patron_day` is (month, day), `patron_saint` its name."""

    windows: Mapping[int, tuple[time, time]] = field(default_factory=lambda: dict(UNIREC_WINDOWS))
    patron_day: tuple[int, int] | None = None
    patron_saint: str = ""
    daily_cap: int = UNIREC_DAILY
    weekly_cap: int = UNIREC_WEEKLY
    # How many days ahead a promise to pay may fall (not a rule of the code: the Comune's choice).
    promise_days: int = 30
    # The softphones' SIP URI, «{numero}» standing for the number ("": tel: links only).
    sip_template: str = ""
    # The weights of the queue's order after callbacks and broken promises (0 to 10 each).
    weights: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))


def holiday_name(day: date) -> str | None:
    """The national holiday falling on `day`, by its Italian name."""
    name = national_holidays(day.year).get(day)
    return str(name) if name else None


def holidays_of(years: Iterable[int]) -> list[tuple[date, str]]:
    """The national holidays of these years, by date, with their Italian names."""
    return sorted((day, str(name)) for year in years for day, name in national_holidays(year).items())


def hours_text(rules: ConductRules) -> str:
    """The calling hours in words, days in order: «lun–ven 8:30–21:00, sab 8:30–15:00»; days of
    the same hours that are not next to each other are named each («lun, mer 9:00–12:00; mar,
    gio–ven 8:30–21:00»)."""
    runs: list[tuple[list[int], tuple[time, time]]] = []
    for day in sorted(rules.windows):
        window = rules.windows[day]
        if runs and runs[-1][1] == window and runs[-1][0][-1] == day - 1:
            runs[-1][0].append(day)
        else:
            runs.append(([day], window))
    if not runs:
        return "nessun giorno: non si telefona"
    hours: dict[tuple[time, time], list[str]] = {}
    for days, window in runs:
        named = WEEKDAYS[days[0]][:3] + (f"–{WEEKDAYS[days[-1]][:3]}" if len(days) > 1 else "")
        hours.setdefault(window, []).append(named)
    parts = [f"{', '.join(names)} {_clock(w[0])}–{_clock(w[1])}" for w, names in hours.items()]
    return ("; " if any(len(n) > 1 for n in hours.values()) else ", ").join(parts)


def rules_text(rules: ConductRules) -> str:
    """The rules in a sentence: hours, the patron saint's day, the caps."""
    patron = ""
    if rules.patron_day is not None:
        month, day = rules.patron_day
        patron = f"; festa del santo patrono ({rules.patron_saint}) il {day:02d}/{month:02d}"
    caps = (
        f"{rules.daily_cap} conversazione al giorno"
        if rules.daily_cap == 1
        else f"{rules.daily_cap} conversazioni al giorno"
    )
    return f"{hours_text(rules)}{patron}; al massimo {caps} e {rules.weekly_cap} in sette giorni"


def _clock(moment: time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def _elided(day: date) -> bool:
    """A day read with a vowel first (uno, otto, undici): «l'8/12», «dell'8/12»."""
    return day.day in (1, 8, 11)


def closed_reason(rules: ConductRules, moment: datetime) -> str | None:
    """Why no debtor may be phoned at `moment` (a day or an hour the rules close), or None."""
    local = moment.astimezone(ROME)
    day, when = local.date(), f"{local:%d/%m/%Y}"
    the, of = ("L'", "dell'") if _elided(day) else ("Il ", "del ")
    if local.weekday() == 6:
        return f"{the}{when} è domenica: non si telefona."
    holiday = holiday_name(day)
    if holiday:
        return f"{the}{when} è festivo ({holiday}): non si telefona."
    if rules.patron_day == (day.month, day.day):
        saint = f" ({rules.patron_saint})" if rules.patron_saint else ""
        return f"{the}{when} è la festa del santo patrono del Comune{saint}: non si telefona."
    window = rules.windows.get(local.weekday())
    if window is None:
        return f"Di {WEEKDAYS[local.weekday()]} il Comune non fa telefonare."
    if not window[0] <= local.time().replace(tzinfo=None) <= window[1]:
        return (
            f"Alle {local:%H:%M} {of}{when} si è fuori dalle fasce orarie consentite ({hours_text(rules)})."
        )
    return None


def _calls_on(rules: ConductRules, day: date) -> bool:
    """Whether the rules let debtors be phoned on `day` at all."""
    if day.weekday() == 6 or holiday_name(day) or rules.patron_day == (day.month, day.day):
        return False
    return day.weekday() in rules.windows


def reopens(rules: ConductRules, moment: datetime) -> datetime | None:
    """When calling starts again after `moment`: the start of the next window of hours on a day
    the rules open, within two weeks (None: no day of them opens)."""
    today = moment.astimezone(ROME).date()
    for ahead in range(15):
        day = today + timedelta(days=ahead)
        if _calls_on(rules, day):
            start = datetime.combine(day, rules.windows[day.weekday()][0], ROME)
            if start > moment:
                return start
    return None


def closed_notice(rules: ConductRules, moment: datetime) -> str | None:
    """`closed_reason`, and when the operator may phone again (a queue closed for the night)."""
    reason = closed_reason(rules, moment)
    start = reopens(rules, moment) if reason else None
    if reason is None or start is None:
        return reason
    days = (start.date() - moment.astimezone(ROME).date()).days
    when = {0: "oggi", 1: "domani"}.get(days, f"{WEEKDAYS[start.weekday()]} {start:%d/%m/%Y}")
    return f"{reason} Si potrà telefonare di nuovo {when} dalle {_clock(start.time())}."


def cap_reason(rules: ConductRules, moment: datetime, conversations: Iterable[datetime]) -> str | None:
    """Why this debtor may not be phoned again at `moment`, given the moments of the conversations
    held with them (calls in which the taxpayer answered), or None."""
    today = moment.astimezone(ROME).date()
    days = [c.astimezone(ROME).date() for c in conversations]
    if sum(d == today for d in days) >= rules.daily_cap:
        return (
            f"Con questo contribuente c'è già stata una conversazione oggi: al massimo "
            f"{_times(rules.daily_cap)} al giorno."
        )
    if sum(today - timedelta(days=WEEK - 1) <= d <= today for d in days) >= rules.weekly_cap:
        return (
            f"Con questo contribuente ci sono già state {rules.weekly_cap} conversazioni negli ultimi "
            f"{WEEK} giorni: al massimo {_times(rules.weekly_cap)} a settimana."
        )
    return None


def _times(count: int) -> str:
    return "una" if count == 1 else str(count)


DO_NOT_CALL = "Il contribuente ha chiesto di non essere chiamato: solo comunicazioni scritte."


def refusal(
    rules: ConductRules, moment: datetime, conversations: Iterable[datetime], do_not_call: bool
) -> str | None:
    """Why this debtor may not be phoned at `moment`, or None when the call is allowed."""
    if do_not_call:
        return DO_NOT_CALL
    return closed_reason(rules, moment) or cap_reason(rules, moment, conversations)


OVERRIDE_MIN = 10


def check_override(refused: str, reason: object, supervisor: bool) -> str:
    """A call the rules refuse is recorded only by a supervisor with a written reason (audited)."""
    if not supervisor:
        raise Conflict(
            f"{refused} Solo un supervisore può registrare questa chiamata, scrivendone il motivo."
        )
    text = reason.strip() if isinstance(reason, str) else ""
    if not OVERRIDE_MIN <= len(text) <= 1000:
        raise DomainError(
            f"{refused} Per registrarla comunque scrivi il motivo (da {OVERRIDE_MIN} a 1000 caratteri).",
            field="override_reason",
        )
    return text


def day_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The start of the Rome day of `moment` and of the first day its weekly cap counts, as aware
    instants (a day is 23 or 25 hours long when the clocks change)."""
    today = moment.astimezone(ROME).date()
    start = datetime.combine(today, time(0), ROME)
    week = datetime.combine(today - timedelta(days=WEEK - 1), time(0), ROME)
    return start, week


def check_rules(values: Mapping[str, Any]) -> ConductRules:
    """A Comune's rules from a form or JSON, refused in Italian (every field at fault with its
    message: `FieldErrors`) when looser than the UNIREC code: hours outside its windows, more
    conversations than it allows."""
    found = Problems()
    windows: dict[int, tuple[time, time]] = {}
    for day in range(6):
        window = found.check(None, _window, values, day)
        if window is not None:
            windows[day] = window
    if not windows and not found.found:
        found.add(
            "from_0",
            "Indica almeno un giorno con la sua fascia oraria: senza, nessun debitore potrebbe essere "
            "chiamato.",
        )
    daily = found.check(0, _cap, values.get("daily_cap"), "daily_cap", UNIREC_DAILY, "al giorno")
    weekly = found.check(0, _cap, values.get("weekly_cap"), "weekly_cap", UNIREC_WEEKLY, "in sette giorni")
    if daily and weekly and weekly < daily:
        found.add(
            "weekly_cap", "Le conversazioni in sette giorni non possono essere meno di quelle al giorno."
        )
    patron = found.check(None, _patron, str(values.get("patron_day") or "").strip())
    saint = str(values.get("patron_saint") or "").strip()
    if len(saint) > 80:
        found.add("patron_saint", "Il nome del santo patrono può avere al massimo 80 caratteri.")
    if saint and patron is None:  # a name alone would stop no call: the day is what counts
        found.add("patron_day", f"Indica il giorno di {saint} come gg/mm, ad esempio 04/10.")
    if patron is not None and not saint:  # the operators are told whose feast stops the calls
        found.add("patron_saint", "Indica il nome del santo patrono: compare nei messaggi agli operatori.")
    # Absent (an API's partial rules): the default; sent empty from the form: refused by `_cap`.
    promise_days = found.check(0, _cap, values.get("promise_days", "30"), "promise_days", 90, "")
    sip = found.check("", check_sip_template, str(values.get("sip_template") or ""))
    weights = {name: found.check(0, _weight, values.get(f"weight_{name}"), name) for name in DEFAULT_WEIGHTS}
    found.raise_any()
    return ConductRules(windows, patron, saint, daily, weekly, promise_days, sip, weights)


def _window(values: Mapping[str, Any], day: int) -> tuple[time, time] | None:
    """A weekday's calling hours within the UNIREC window, or None when both are left empty."""
    raw_from, raw_to = (
        str(values.get(f"from_{day}") or "").strip(),
        str(values.get(f"to_{day}") or "").strip(),
    )
    if not raw_from and not raw_to:
        return None
    if not raw_from or not raw_to:
        missing = "l'inizio" if not raw_from else "la fine"
        raise DomainError(
            f"Di {WEEKDAYS[day]} indica anche {missing} della fascia oraria, oppure lascia vuoti "
            "entrambi gli orari (nessuna chiamata quel giorno).",
            field=f"from_{day}" if not raw_from else f"to_{day}",
        )
    start, end = _time(raw_from, f"from_{day}"), _time(raw_to, f"to_{day}")
    low, high = UNIREC_WINDOWS[day]
    if not low <= start < end <= high:
        raise DomainError(
            f"Di {WEEKDAYS[day]} le chiamate devono stare tra {_clock(low)} e {_clock(high)} "
            "(codice di condotta UNIREC), con l'inizio prima della fine.",
            field=f"from_{day}" if start < low else f"to_{day}",
        )
    return start, end


def _weight(raw: object, name: str) -> int:
    """A weight of the queue's order, 0 to 10; absent: its default, sent empty: refused."""
    text = str(raw if raw is not None else DEFAULT_WEIGHTS[name]).strip()
    if not text.isdigit() or not 0 <= int(text) <= 10:
        raise DomainError(
            f"Il peso «{WEIGHT_LABELS[name]}» è un numero intero da 0 a 10.", field=f"weight_{name}"
        )
    return int(text)


SIP_NUMBER = "{numero}"
SIP_LENGTH = 200
_SIP = re.compile(r"sips?:[^\s<>\"']{1,200}")


def check_sip_template(raw: str) -> str:
    """A SIP URI with «{numero}» once, e.g. «sip:{numero}@centralino.example.it»; empty: none."""
    text = raw.strip()
    if len(text) > SIP_LENGTH:
        raise DomainError(
            f"L'indirizzo SIP può avere al massimo {SIP_LENGTH} caratteri.", field="sip_template"
        )
    if text and (not _SIP.fullmatch(text) or text.count(SIP_NUMBER) != 1):
        raise DomainError(
            "Indica un indirizzo SIP che inizi con sip: e contenga una volta {numero}, "
            "ad esempio sip:{numero}@centralino.example.it.",
            field="sip_template",
        )
    return text


def sip_uri(template: str, number: str) -> str | None:
    """The softphone's URI for an E.164 number, or None without a template."""
    return template.replace(SIP_NUMBER, quote(number, safe="+")) if template else None


def _time(raw: object, name: str) -> time:
    try:
        return time.fromisoformat(str(raw).strip().replace(".", ":"))
    except ValueError:
        raise DomainError("Indica l'orario come hh:mm, ad esempio 08:30.", field=name) from None


def _cap(raw: object, name: str, most: int, per: str) -> int:
    """A count from 1 to `most`: conversations `per` day or week, or (`per` empty) promise days."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        if not str(raw or "").strip():
            raise DomainError("Indica un numero: il campo è vuoto.", field=name) from None
        raise DomainError("Indica un numero intero.", field=name) from None
    if not 1 <= value <= most:
        if not per:
            raise DomainError(f"I giorni per una promessa di pagamento vanno da 1 a {most}.", field=name)
        if value < 1:
            raise DomainError(
                f"Le conversazioni {per} sono almeno 1: con 0 nessun contribuente potrebbe essere chiamato.",
                field=name,
            )
        allowed = "sono al massimo 1" if most == 1 else f"vanno da 1 a {most}"
        raise DomainError(f"Le conversazioni {per} {allowed} (codice di condotta UNIREC).", field=name)
    return value


def _patron(raw: str) -> tuple[int, int] | None:
    """The patron saint's day as «gg/mm» (or empty: none)."""
    if not raw:
        return None
    try:
        day, month = (int(part) for part in raw.replace("-", "/").split("/"))
    except ValueError:
        raise DomainError(
            "Indica il giorno del santo patrono come gg/mm, ad esempio 04/10.", field="patron_day"
        ) from None
    try:
        date(2024, month, day)  # a leap year: 29/02 is a day
    except ValueError:
        raise DomainError(
            f"Il {raw} non è un giorno del calendario: indica il giorno del santo patrono come gg/mm, "
            "ad esempio 04/10.",
            field="patron_day",
        ) from None
    return month, day
