"""Values as Italian users read them on a page (the templates' filters): an instant in Rome's time,
a phone number grouped as people dial it."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers

from services.kernel.menu import menu_item
from services.kernel.money import format_decimal, format_euro

ROME = ZoneInfo("Europe/Rome")


def format_rome(moment: datetime | None) -> str:
    """An instant as Italian users read it: dd/mm/yyyy hh:mm in Europe/Rome."""
    return moment.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if moment else ""


def format_rome_time(moment: datetime) -> str:
    """The hour of an instant in Europe/Rome, «09:05»."""
    return moment.astimezone(ROME).strftime("%H:%M")


MONTHS = (
    "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
    "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
)  # fmt: skip


def format_month(day: date) -> str:
    """The month of a day as Italians name it: «marzo 2027»."""
    return f"{MONTHS[day.month - 1]} {day.year}"


def format_count(count: int) -> str:
    """A whole number as Italians write it: «1.168»."""
    return f"{count:,}".replace(",", ".")


def _said_with_vowel(n: int) -> bool:
    """Whether the Italian name of `n` begins with a vowel (uno, otto, undici, ottanta…, ottocento…,
    ottomila, undicimila, un milione), so «dal»/«al» become «dall'»/«all'»."""
    for scale in (1_000_000, 1_000):
        if n >= scale:
            lead = n // scale
            # «mille» (1,000-1,999) begins with a consonant; «un milione» with a vowel.
            return (lead == 1 and scale == 1_000_000) or (lead != 1 and _said_with_vowel(lead))
    return n in (1, 11) or str(n).startswith("8")


def format_range(first: int, last: int) -> str:
    """«dal 2 al 25», «dall'1 all'8»: the rows shown, as Italian says them."""
    start = f"dall'{first:,}" if _said_with_vowel(first) else f"dal {first:,}"
    end = f"all'{last:,}" if _said_with_vowel(last) else f"al {last:,}"
    return f"{start} {end}".replace(",", ".")


def format_size(size: int) -> str:
    """A file's size as Italians write it: «512 byte», «61,7 kB», «1,2 MB» (powers of 1000)."""
    if size < 1000:
        return f"{size} byte"
    shown, unit = size / 1000, "kB"
    for bigger in ("MB", "GB"):
        if round(shown, 1) < 1000:
            break
        shown, unit = shown / 1000, bigger
    return f"{shown:.1f}".replace(".", ",") + f" {unit}"


def e164(text: str) -> str | None:
    """A phone number as typed (spaces, dots, with or without +39) in E.164, the form contact data
    are stored in; None when it is not a valid number."""
    try:
        number = phonenumbers.parse(text, "IT")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# A notice's code (NAV, 18 digits) or its IUV (15 to 17 digits for the codes pagoPA assigns here),
# with the spaces, dots or dashes it is printed or read out with.
_NOTICE = re.compile(r"[0-9]{15,18}")


def format_notice(nav: str) -> str:
    """A pagoPA notice's code as printed on paper: groups of four digits."""
    return " ".join(nav[i : i + 4] for i in range(0, len(nav), 4))


def notice_code(text: str) -> str | None:
    """The code of a pagoPA notice (NAV or IUV) as typed from the printed notice, in digits only;
    None when the text is not one."""
    digits = re.sub(r"[ .-]", "", text)
    return digits if _NOTICE.fullmatch(digits) else None


def can_text(e164_number: str) -> bool:
    """Whether a number in E.164 can receive an SMS: a mobile (or a number its plan does not tell
    apart from one, as in the United States); an Italian fixed line cannot."""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164_number, "IT"))
    except phonenumbers.NumberParseException:
        return False
    mobile = phonenumbers.PhoneNumberType
    return kind in (mobile.MOBILE, mobile.FIXED_LINE_OR_MOBILE, mobile.PAGER)


# An e-mail address as the platform accepts one to write to: a plain local part, a domain of
# labels and a top-level domain of letters (no display name, no quotes, no IP literal).
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?=.{1,253}$)"
    r"([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def is_email(text: str) -> bool:
    """Whether `text` (already trimmed) is an address the platform writes to; at most 254
    characters, no two dots in a row."""
    return len(text) <= 254 and ".." not in text and _EMAIL.match(text) is not None


def format_phone(value: str) -> str:
    """The international format, grouped (`+39 333 111 2223`, `+39 06 1234 5678`), of the E.164
    form every service stores; anything that is not a valid number (an e-mail, an address) is shown
    as it is, so any contact datum may go through it."""
    if not value.startswith("+"):
        return value
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def format_day(day: date | str | None) -> str:
    """A day as Italians write it (dd/mm/yyyy): a date, an instant (its day in Rome) or the ISO text
    a JSON gives; nothing for none."""
    if not day:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(ROME).date()
    elif isinstance(day, str):
        day = date.fromisoformat(day)
    return day.strftime("%d/%m/%Y")


# The filters every service's templates have (`kernel.web.templates_for`).
PAGE_FILTERS = {
    "it_date": format_day,
    "euro": format_euro,
    "decimale": format_decimal,
    "rome": format_rome,
    "ora": format_rome_time,
    "numero": format_count,
    "telefono": format_phone,
    "dimensione": format_size,
    "avviso": format_notice,
}
# The functions every service's templates have: which menu item the page is.
PAGE_GLOBALS = {"menu_item": menu_item, "intervallo": format_range}
