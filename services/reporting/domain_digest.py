"""The digest for the Ufficio tributi: when a period ends (weekly by default, a setting of the
Comune), what it holds (the period's figures, the cases awaiting the office's answer, what was
collected by revenue type) and the e-mail that carries it. Pure: no I/O."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.contracts_reporting import CASE_KIND_LABELS
from services.kernel.errors import DomainError
from services.kernel.formats import format_count, is_email
from services.kernel.money import format_euro

ROME = ZoneInfo("Europe/Rome")
WEEKLY, BIWEEKLY, MONTHLY, DAYS = "weekly", "biweekly", "monthly", "days"
PERIOD_LABELS: dict[str, str] = {
    WEEKLY: "Ogni settimana",
    BIWEEKLY: "Ogni due settimane",
    MONTHLY: "Ogni mese (il mese precedente, il primo del mese)",
    DAYS: "Ogni N giorni",
}
WEEKDAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
# Two-week periods keep the same weeks whatever the day they were chosen: counted from a Monday.
BIWEEKLY_EPOCH = date(2024, 1, 1)
MAX_EVERY_DAYS = 92
# The longest wait for a period to end: one of N days that starts when the schedule is saved.
MAX_PERIOD_DAYS = 2 * MAX_EVERY_DAYS
MAX_ADDRESSES = 10
# A sound address check without a dependency: one @, no spaces or separators, a dotted domain of
# letters, digits and hyphens (RFC 5321 lengths).


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both included (Europe/Rome calendar days)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DomainError("Il periodo termina prima di iniziare: controlla le date.", field="period_to")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as instants: from its first midnight in Rome to the midnight after its last day
        (a week across a change of the clocks lasts 167 or 169 hours)."""
        return _midnight(self.start), _midnight(self.end + timedelta(days=1))

    def label(self) -> str:
        return f"dal {self.start:%d/%m/%Y} al {self.end:%d/%m/%Y}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), ROME)


@dataclass(frozen=True)
class Schedule:
    """How often the Comune's digest goes out. `weekday` (0 = Monday) is the day it is sent for
    weekly and two-week periods; `every_days` counts periods of N days from `starts_on`."""

    kind: str = WEEKLY
    weekday: int = 0
    every_days: int | None = None
    starts_on: date | None = None

    def describe(self) -> str:
        if self.kind in (WEEKLY, BIWEEKLY):
            every = "Ogni settimana" if self.kind == WEEKLY else "Ogni due settimane"
            return f"{every}, il {WEEKDAYS[self.weekday]} (i giorni precedenti)"
        if self.kind == MONTHLY:
            return "Ogni mese, il primo del mese (il mese precedente)"
        return f"Ogni {self.every_days} giorni"


DEFAULT_SCHEDULE = Schedule()


def _send_day(schedule: Schedule, today: date) -> date:
    """The latest day on or before `today` on which a weekly or two-week period starts."""
    day = today - timedelta(days=(today.weekday() - schedule.weekday) % 7)
    if schedule.kind == BIWEEKLY:
        epoch = BIWEEKLY_EPOCH + timedelta(days=schedule.weekday)
        if (day - epoch).days % 14:
            day -= timedelta(days=7)
    return day


def current_start(schedule: Schedule, today: date) -> date:
    """The first day of the regular period `today` belongs to."""
    if schedule.kind == MONTHLY:
        return today.replace(day=1)
    if schedule.kind == DAYS:
        origin, size = schedule.starts_on or today, schedule.every_days or 7
        if today < origin:
            return today
        return origin + timedelta(days=(today - origin).days // size * size)
    return _send_day(schedule, today)


def last_ended(schedule: Schedule, today: date) -> Period | None:
    """The latest regular period that ended before `today`, or None (N-day periods not yet begun)."""
    start = current_start(schedule, today)
    if schedule.kind == MONTHLY:
        end = start - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if schedule.kind == DAYS:
        origin, size = schedule.starts_on or today, schedule.every_days or 7
        if start - timedelta(days=size) < origin:
            return None
        return Period(start - timedelta(days=size), start - timedelta(days=1))
    size = 14 if schedule.kind == BIWEEKLY else 7
    return Period(start - timedelta(days=size), start - timedelta(days=1))


def next_send(schedule: Schedule, today: date) -> tuple[Period, date]:
    """The regular period under way on `today` and the day its digest goes out (the first day after
    it ends; a period of N days not yet begun: the first one)."""
    day = today + timedelta(days=1)
    for _ in range(MAX_PERIOD_DAYS + 1):
        ended = last_ended(schedule, day)
        if ended is not None and ended.end >= today:
            return ended, day
        day += timedelta(days=1)
    raise ValueError(f"no period of {schedule} ends within {MAX_PERIOD_DAYS} days")  # every kind does


def due(schedule: Schedule, today: date, last_sent_end: date | None) -> Period | None:
    """The period the daily run must send on `today`: the latest ended one, unless its end was sent
    already; it starts the day after the last one sent, so a period missed, failed or cut short by a
    change of schedule is covered and none is covered twice."""
    ended = last_ended(schedule, today)
    if ended is None or (last_sent_end is not None and ended.end <= last_sent_end):
        return None
    start = last_sent_end + timedelta(days=1) if last_sent_end is not None else ended.start
    return Period(start, ended.end)


def on_demand(schedule: Schedule, today: date, last_sent_end: date | None) -> Period:
    """«Invia ora»: everything not sent yet, up to today: from the start of the period the daily run
    would send next if one is due, else from the day after the last period sent, else from the
    current period's start."""
    pending = due(schedule, today, last_sent_end)
    if pending is not None:
        return Period(pending.start, today)
    if last_sent_end is not None and last_sent_end < today:
        return Period(last_sent_end + timedelta(days=1), today)
    return Period(current_start(schedule, today), today)


def covered_on_change(old: Schedule, today: date, last_sent_end: date | None) -> date:
    """The day digests count as sent up to on a change of schedule: the last day sent, or the day
    before the period the old one would send next (a new N-day schedule starting today lost it)."""
    if last_sent_end is not None:
        return last_sent_end
    return on_demand(old, today, None).start - timedelta(days=1)


# --- the settings as typed -------------------------------------------------------------------------


def _int(raw: str, field: str, message: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise DomainError(message, field=field) from None
    if not low <= value <= high:
        raise DomainError(message, field=field)
    return value


def check_schedule(kind: str, weekday: str, every_days: str, today: date) -> Schedule:
    """The schedule as typed in the form; refused in Italian at the field at fault."""
    if kind not in PERIOD_LABELS:
        raise DomainError("Scegli ogni quanto inviare il riepilogo.", field="periodo")
    if kind in (WEEKLY, BIWEEKLY):
        day = _int(weekday or "0", "giorno", "Scegli il giorno della settimana dell'invio.", 0, 6)
        return Schedule(kind, day)
    if kind == MONTHLY:
        return Schedule(kind)
    message = f"Indica ogni quanti giorni inviare il riepilogo: un numero da 1 a {MAX_EVERY_DAYS}."
    return Schedule(
        kind, every_days=_int(every_days, "ogni_giorni", message, 1, MAX_EVERY_DAYS), starts_on=today
    )


def check_addresses(raw: str, field: str = "indirizzi") -> tuple[str, ...]:
    """The office's addresses (for digests and rendiconti alike), one per line or separated by commas
    or semicolons; each checked, the domain lower-cased, repeats (in any case) dropped. None at all
    is allowed (then nothing is e-mailed). `field`: the form's name for them."""
    found: list[str] = []
    for item in re.split(r"[\s,;]+", raw.strip()):
        if not item:
            continue
        local, _, domain = item.rpartition("@")
        address = f"{local}@{domain.lower()}"
        if not is_email(address):
            raise DomainError(
                f"Indirizzi e-mail dell'ufficio: «{item[:80]}» non è un indirizzo valido.", field=field
            )
        if address.casefold() not in {f.casefold() for f in found}:
            found.append(address)
    if len(found) > MAX_ADDRESSES:
        raise DomainError(f"Indirizzi e-mail dell'ufficio: al massimo {MAX_ADDRESSES}.", field=field)
    return tuple(found)


# --- what a digest holds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What happened in the period (cancelled positions are left out of what was assigned)."""

    positions_assigned: int = 0
    assigned_cents: int = 0
    outcomes: int = 0
    debtors_reached: int = 0
    promises_made: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    plans_created: int = 0
    plans_lapsed: int = 0
    collected_cents: int = 0  # payments of the period that still count (not revoked)
    revoked_cents: int = 0  # payments of the period a reporting flow revoked
    refunded_cents: int = 0  # refunds made in the period

    @property
    def net_cents(self) -> int:
        return self.collected_cents - self.refunded_cents


@dataclass(frozen=True)
class RevenueLine:
    revenue_type: str
    payments: int
    collected_cents: int
    refunded_cents: int

    @property
    def net_cents(self) -> int:
        return self.collected_cents - self.refunded_cents


@dataclass(frozen=True)
class CaseRow:
    """A case as read from the worklist."""

    case_id: str
    kind: str
    answer: str | None
    opened_at: datetime
    debtor_name: str
    fiscal_code: str


@dataclass(frozen=True)
class Pending:
    case_id: str
    kind_label: str
    suspended: bool
    opened_on: date
    age_days: int
    debtor_name: str
    fiscal_code: str


@dataclass(frozen=True)
class Digest:
    ente: str
    period: Period
    generated_at: datetime
    figures: Figures
    pending: tuple[Pending, ...]
    by_type: tuple[RevenueLine, ...]

    @property
    def filename(self) -> str:
        return f"riepilogo-{self.period.start:%Y%m%d}-{self.period.end:%Y%m%d}.pdf"


def pending_cases(rows: Iterable[CaseRow], today: date) -> tuple[Pending, ...]:
    """The cases awaiting the office (no answer yet, or suspended), the oldest first, with their age."""
    waiting = [r for r in rows if r.answer is None or r.answer == "suspended"]
    waiting.sort(key=lambda r: r.opened_at)
    return tuple(
        Pending(
            case_id=r.case_id,
            kind_label=CASE_KIND_LABELS.get(r.kind, r.kind),
            suspended=r.answer == "suspended",
            opened_on=r.opened_at.astimezone(ROME).date(),
            age_days=max(0, (today - r.opened_at.astimezone(ROME).date()).days),
            debtor_name=r.debtor_name,
            fiscal_code=r.fiscal_code,
        )
        for r in waiting
    )


def figure_rows(f: Figures) -> list[tuple[str, str]]:
    """The period's figures as label and value, in the order the PDF and the e-mail show them."""
    return [
        ("Posizioni affidate nel periodo (escluse le annullate)", format_count(f.positions_assigned)),
        ("Carico affidato nel periodo, al netto di sgravi e rettifiche", format_euro(f.assigned_cents)),
        ("Esiti di contatto registrati", format_count(f.outcomes)),
        ("Contribuenti raggiunti", format_count(f.debtors_reached)),
        ("Promesse di pagamento fatte", format_count(f.promises_made)),
        ("Promesse mantenute", format_count(f.promises_kept)),
        ("Promesse non mantenute", format_count(f.promises_broken)),
        ("Piani di rateizzazione concessi", format_count(f.plans_created)),
        ("Piani decaduti", format_count(f.plans_lapsed)),
        ("Riscosso (pagamenti validi)", format_euro(f.collected_cents)),
        ("Pagamenti revocati", format_euro(f.revoked_cents)),
        ("Rimborsi", format_euro(f.refunded_cents)),
        ("Riscosso netto", format_euro(f.net_cents)),
    ]


def subject(digest: Digest) -> str:
    return f"{digest.ente}: riepilogo della riscossione {digest.period.label()}"


def _waiting_sentence(digest: Digest) -> str:
    if not digest.pending:
        return "Nessuna pratica è in attesa della risposta dell'ufficio."
    oldest = max(p.age_days for p in digest.pending)
    count = len(digest.pending)
    what = "1 pratica è" if count == 1 else f"{count} pratiche sono"
    since = "aperta oggi" if oldest == 0 else ("da 1 giorno" if oldest == 1 else f"da {oldest} giorni")
    return f"{what} in attesa della risposta dell'ufficio (la più vecchia {since})."


def mail_text(digest: Digest, page_url: str) -> str:
    """The e-mail's plain text: the figures, the waiting cases in a sentence, the collected by type."""
    lines = [
        "Gentile Ufficio tributi,",
        "",
        f"in allegato il riepilogo dell'attività di riscossione per il {digest.ente} {digest.period.label()}.",
        "",
        *(f"- {label}: {value}" for label, value in figure_rows(digest.figures)),
        "",
        _waiting_sentence(digest),
    ]
    if digest.by_type:
        lines += ["", "Riscosso netto per tipo di entrata:"]
        lines += [f"- {line.revenue_type}: {format_euro(line.net_cents)}" for line in digest.by_type]
    lines += [
        "",
        f"L'elenco delle pratiche e i riepiloghi precedenti sono disponibili in Riscossa: {page_url}",
        "",
        "Questo messaggio è inviato automaticamente: non risponda a questo indirizzo.",
    ]
    return "\n".join(lines)


def mail_html(digest: Digest, page_url: str) -> str:
    """The same content as HTML, with a table per list (caption and header cells)."""
    e = html.escape
    figures = "".join(
        f'<tr><th scope="row" style="text-align:left">{e(label)}</th><td style="text-align:right">{e(value)}</td></tr>'
        for label, value in figure_rows(digest.figures)
    )
    parts = [
        '<!doctype html><html lang="it"><head><meta charset="utf-8">',
        f"<title>{e(subject(digest))}</title></head><body>",
        "<p>Gentile Ufficio tributi,</p>",
        f"<p>in allegato il riepilogo dell'attività di riscossione per il {e(digest.ente)} "
        f"{e(digest.period.label())}.</p>",
        f"<table><caption>Dati del periodo</caption><tbody>{figures}</tbody></table>",
        f"<p>{e(_waiting_sentence(digest))}</p>",
    ]
    if digest.by_type:
        rows = "".join(
            f'<tr><th scope="row" style="text-align:left">{e(line.revenue_type)}</th>'
            f'<td style="text-align:right">{e(format_euro(line.net_cents))}</td></tr>'
            for line in digest.by_type
        )
        parts.append(
            "<table><caption>Riscosso netto per tipo di entrata</caption>"
            f'<thead><tr><th scope="col">Entrata</th><th scope="col">Riscosso netto</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    parts += [
        f'<p>L\'elenco delle pratiche e i riepiloghi precedenti sono disponibili in <a href="{e(page_url)}">Riscossa</a>.</p>',
        "<p>Questo messaggio è inviato automaticamente: non risponda a questo indirizzo.</p>",
        "</body></html>",
    ]
    return "".join(parts)
