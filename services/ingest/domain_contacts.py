"""Pure rules of contact data: phones, e-mails, addresses, the warnings of a row, a datum's kind."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.ingest.domain import (
    DATE_IMPOSSIBLE,
    DATE_UNREADABLE,
    CellError,
    act_day,
    date_shaped,
    parse_date,
)
from services.ingest.labels import CONTACT_KINDS
from services.kernel.cells import FORMULA_START
from services.kernel.formats import e164
from services.kernel.limitation import Cutoffs

_PHONE_JUNK = re.compile(r"[\s./()-]")
# ASCII digits: `\d` would let "３３３…" through as an E.164 number.
_MOBILE = re.compile(r"^(?:\+39|0039)?(3[0-9]{8,9})$")
_LANDLINE = re.compile(r"^(?:\+39|0039)?(0[0-9]{5,10})$")  # Italian fixed lines: 6 to 11 digits from 0
_YEAR = re.compile(r"[0-9]{4}")  # as `domain.parse_year` reads one, ASCII digits only
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
TEXT_FIELDS = ("name", "surname", "first_name", "company", "address", "city", "act_number", "email")
ADDRESS_FIELDS = ("address", "postcode", "city")
# The cells a debtor's name comes from (`domain_verdicts.debtor_name`); none filled (or a
# spreadsheet formula whose value was never computed, which reads as empty) is flagged: notices and
# pagoPA's positions need a name.
NAME_FIELDS = ("name", "company", "surname", "first_name")
NAME_MISSING = "Nominativo mancante (o una formula senza valore): serve per gli avvisi pagoPA."


def normalise_phone(text: str) -> str | None:
    """E.164 form of an Italian (or international) number, None when it is not a usable number."""
    compact = _PHONE_JUNK.sub("", text)
    if not compact:
        return None
    mobile = _MOBILE.match(compact) or _LANDLINE.match(compact)
    if mobile:
        return "+39" + mobile.group(1)
    if not any(c.isdigit() for c in compact):
        return None
    return e164(compact)


def normalise_email(text: str) -> str | None:
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        return None
    return email


@dataclass(frozen=True, slots=True)
class Contacts:
    phone: str | None
    email: str | None
    address: str


def contacts_of(values: dict[str, str]) -> Contacts:
    parts = [values.get(f, "") for f in ("address", "postcode", "city", "province")]
    address = " ".join(" ".join(p for p in parts if p).split())
    phone = values.get("phone")
    email = values.get("email")
    return Contacts(
        normalise_phone(phone) if phone else None, normalise_email(email) if email else None, address[:300]
    )


def row_warnings(values: dict[str, str], contacts: Contacts, limit: Cutoffs) -> list[tuple[str, str]]:
    """Accepted-but-flagged findings, (code, Italian message); `limit`: what is time-barred today."""
    found: list[tuple[str, str]] = []
    if values.get("phone") and contacts.phone is None:
        found.append(("phone", f"Telefono non utilizzabile: «{values['phone']}»."))
    if values.get("email") and contacts.email is None:
        found.append(("email", f"E-mail non valida: «{values['email']}»."))
    if not "".join(values.get(f, "") for f in NAME_FIELDS).strip():
        found.append(("name", NAME_MISSING))
    if any(values.get(f) == "" for f in ADDRESS_FIELDS):
        found.append(("address", "Indirizzo incompleto (via, CAP o comune mancante)."))
    dates = [values.get(f, "") for f in ("act_date", "due_date")]
    parsed = [parse_date(text) if text else None for text in dates]
    if any(text and day is None for text, day in zip(dates, parsed, strict=True)):
        shown = next(text for text, day in zip(dates, parsed, strict=True) if text and day is None)
        found.append(("date", (DATE_IMPOSSIBLE if date_shaped(shown) else DATE_UNREADABLE).format(shown)))
    barred = limitation_warning(values, limit)
    if barred:
        found.append(("limitation", barred))
    if any(values.get(f, "").startswith(FORMULA_START) for f in TEXT_FIELDS):
        found.append(("formula", "Testo che inizia con = + - @: neutralizzato nelle esportazioni."))
    return found


def limitation_warning(values: dict[str, str], limit: Cutoffs) -> str:
    """Why the row's credit is already time-barred when nothing interrupted it (`kernel.limitation`:
    five years from its act's day, else from the end of its reference year), "" when it is not."""
    act_date = act_day(values)
    if act_date is not None:
        if act_date < limit.first_act:
            return f"Atto del {act_date:%d/%m/%Y}: oltre il termine di prescrizione di cinque anni."
        return ""
    year = values.get("year", "").strip().removesuffix(".0")
    if _YEAR.fullmatch(year) and int(year) < limit.first_year:
        return (
            f"Anno {year} senza data di notifica né scadenza: oltre il termine di prescrizione di cinque "
            "anni dalla fine dell'anno."
        )
    return ""


# ---------------------------------------------------------------- contact data

# Confidence (0-100) of the data a Comune's own file brings; an incomplete address gets less, too
# little to grade a debtor (`grade`). The bulk SQL takes these from here (`repository_cleaning`).
FILE_CONFIDENCE = 60
INCOMPLETE_ADDRESS_CONFIDENCE = 30
ADDRESS_GRADE_CONFIDENCE = 50
# The written channels that grade a debtor "address" (reachable in writing) at that confidence.
WRITTEN_KINDS = ("address", "pec")
# A certified e-mail (PEC) domain: "pec." or "legalmail." at its start or after a dot
# (pec.comune.it, comune.pec.it, legalmail.it, cert.legalmail.it). Written for both Python's `re`
# and PostgreSQL's `~`, which read it alike.
PEC_DOMAIN_PATTERN = r"(^|[.])(pec|legalmail)[.]"
_PEC_DOMAIN = re.compile(PEC_DOMAIN_PATTERN)
GRADE_PHONE, GRADE_ADDRESS, GRADE_NONE = "phone", "address", "none"


@dataclass(frozen=True, slots=True)
class ContactDatum:
    kind: str
    value: str


def email_kind(email: str) -> str:
    """ "pec" for an address at a certified-mail domain, "email" otherwise."""
    return "pec" if _PEC_DOMAIN.search(email.rsplit("@", 1)[-1]) else "email"


def address_confidence(warnings: Sequence[str]) -> int:
    """The confidence of an address from the Comune's file, by the row's warning codes."""
    return INCOMPLETE_ADDRESS_CONFIDENCE if "address" in warnings else FILE_CONFIDENCE


def file_contacts(
    phone: str | None, email: str | None, address: str | None, warnings: Sequence[str]
) -> list[tuple[str, str, int]]:
    """(kind, value, confidence) of the contact data an accepted row of the Comune's file brings."""
    found = []
    if phone:
        found.append(("phone", phone, FILE_CONFIDENCE))
    if email:
        found.append((email_kind(email), email, FILE_CONFIDENCE))
    if address:
        found.append(("address", address, address_confidence(warnings)))
    return found


def grade(contacts: Iterable[tuple[str, bool, int | None]]) -> str:
    """A debtor's data-quality grade from its contacts (kind, active, confidence): reachable by
    phone, in writing only (a trustworthy postal address or a PEC, whose messages are worth a
    registered letter), or by nothing usable."""
    usable = [(kind, confidence) for kind, active, confidence in contacts if active]
    if any(kind == "phone" for kind, _ in usable):
        return GRADE_PHONE
    if any(
        kind in WRITTEN_KINDS and (c or 0) >= ADDRESS_GRADE_CONFIDENCE for kind, c in usable if c is not None
    ):
        return GRADE_ADDRESS
    return GRADE_NONE


def normalise_contact(kind: str, text: str) -> ContactDatum:
    """One contact datum in its canonical form; CellError (Italian) when it is not usable."""
    value = " ".join(text.split())
    if kind == "phone":
        phone = normalise_phone(value)
        if phone is None:
            raise CellError("phone", f"Telefono non utilizzabile: «{value}».")
        return ContactDatum("phone", phone)
    if kind in ("email", "pec"):
        email = normalise_email(value)
        if email is None:
            raise CellError(kind, f"Indirizzo {CONTACT_KINDS[kind]} non valido: «{value}».")
        return ContactDatum(kind, email)
    if kind == "address":
        if len(value) < 5 or not any(c.isalpha() for c in value):
            raise CellError("address", f"Indirizzo non utilizzabile: «{value}».")
        return ContactDatum("address", value[:300])
    raise CellError("kind", f"Tipo di recapito sconosciuto: «{kind}».")


def parse_confidence(text: str, default: int) -> int:
    value = text.strip().rstrip("%")
    if not value:
        return default
    if not value.isdigit() or not 0 <= int(value) <= 100:
        raise CellError("confidence", f"Affidabilità non valida: «{text.strip()}» (da 0 a 100).")
    return int(value)
