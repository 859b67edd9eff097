"""Reading a pagoPA reporting flow (FlussoRiversamento 1.0.4) safely and checking it against its schema.

The checks follow `xsd-common/FlussoRiversamento_1_0_4.xsd` of `pagopa/pagopa-api` (read on
2026-11-29, commit 070efa9): element order and cardinality, and the simple types (lengths, patterns,
enumerations, ranges). They are written here, not generated from the file.

Safety: a DTD (the only place entities are declared) is refused before parsing, by reading the
prolog; lxml then parses with entity substitution, DTD loading and network access off, so neither an
entity bomb nor an external entity is ever expanded. Only UTF-8 is read. The lines are consumed as
they are parsed (lxml's iterparse), so a flow of 100,000 payments does not stay in memory as a tree.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from services.kernel.errors import DomainError
from services.kernel.money import format_euro

NS = "{http://www.digitpa.gov.it/schemas/2011/Pagamenti/}"
ROOT = "FlussoRiversamento"
FIELD = "file"


@dataclass(frozen=True)
class FlowHeader:
    flow_id: str
    flow_date: datetime
    settlement_ref: str
    settlement_date: date
    sender: str
    receiver_fiscal_code: str
    payments_count: int
    total_cents: int


@dataclass(frozen=True)
class FlowLine:
    line: int
    iuv: str
    receipt_ref: str
    payment_index: int
    amount_cents: int
    outcome: int
    paid_on: date


def _refuse(where: str, message: str) -> DomainError:
    return DomainError(f"Flusso di rendicontazione non valido: {where}: {message}", field=FIELD)


# Simple types of the schema: each returns the value read or raises ValueError with the reason.
def _text(low: int, high: int, pattern: str | None = None) -> Callable[[str], str]:
    allowed = re.compile(pattern) if pattern else None

    def check(raw: str) -> str:
        if not low <= len(raw) <= high:
            raise ValueError(f"deve avere da {low} a {high} caratteri")
        if allowed and not allowed.fullmatch(raw):
            raise ValueError("contiene caratteri non ammessi")
        return raw

    return check


def _enum(*values: str) -> Callable[[str], str]:
    def check(raw: str) -> str:
        if raw.strip() not in values:
            raise ValueError(f"deve essere uno tra {', '.join(values)}")
        return raw.strip()

    return check


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_AMOUNT = re.compile(r"\d+\.\d{2}")
_COUNT = re.compile(r"\d{1,15}")
_INDEX = re.compile(r"[+]?\d+")


def _iso_date(raw: str) -> date:
    text = raw.strip()
    if not _DATE.fullmatch(text):
        raise ValueError("deve essere una data AAAA-MM-GG")
    return date.fromisoformat(text[:10])


def _iso_datetime(raw: str) -> datetime:
    text = raw.strip()
    if not _DATETIME.fullmatch(text):
        raise ValueError("deve essere data e ora AAAA-MM-GGThh:mm:ss")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _amount(minimum: Decimal) -> Callable[[str], int]:
    def check(raw: str) -> int:
        text = raw.strip()
        if not _AMOUNT.fullmatch(text):
            raise ValueError("deve essere un importo con il punto e due decimali, ad es. 12.34")
        value = Decimal(text)
        if not minimum <= value <= Decimal("999999999.99"):
            raise ValueError(f"deve essere tra {minimum} e 999999999.99")
        return int(value * 100)

    return check


def _count(raw: str) -> int:
    text = raw.strip()
    if not _COUNT.fullmatch(text) or int(text) < 1:
        raise ValueError("deve essere un numero intero maggiore di zero")
    return int(text)


def _index(raw: str) -> int:
    text = raw.strip()
    if not _INDEX.fullmatch(text) or not 1 <= int(text) <= 5:
        raise ValueError("deve essere un intero da 1 a 5")
    return int(text)


TEXT35 = _text(1, 35)
# (name, min occurs, max occurs (0 = unbounded), simple type or nested sequence)
Spec = tuple[tuple[str, int, int, Any], ...]
SENDER: Spec = (
    (
        "identificativoUnivocoMittente",
        1,
        1,
        (
            ("tipoIdentificativoUnivoco", 1, 1, _enum("G", "A", "B")),
            ("codiceIdentificativoUnivoco", 1, 1, TEXT35),
        ),
    ),
    ("denominazioneMittente", 0, 1, _text(3, 70)),
)
RECEIVER: Spec = (
    (
        "identificativoUnivocoRicevente",
        1,
        1,
        (("tipoIdentificativoUnivoco", 1, 1, _enum("G")), ("codiceIdentificativoUnivoco", 1, 1, TEXT35)),
    ),
    ("denominazioneRicevente", 0, 1, _text(1, 140)),
)
PAYMENT: Spec = (
    ("identificativoUnivocoVersamento", 1, 1, TEXT35),
    ("identificativoUnivocoRiscossione", 1, 1, TEXT35),
    ("indiceDatiSingoloPagamento", 0, 1, _index),
    ("singoloImportoPagato", 1, 1, _amount(Decimal("0.01"))),
    ("codiceEsitoSingoloPagamento", 1, 1, _enum("0", "3", "9")),
    ("dataEsitoSingoloPagamento", 1, 1, _iso_date),
)
LINE_TAG = NS + "datiSingoliPagamenti"
FULL_LINE = tuple(NS + name for name, *_ in PAYMENT)
LINE_WITHOUT_INDEX = tuple(t for t in FULL_LINE if t != NS + "indiceDatiSingoloPagamento")
HEADER: Spec = (
    ("versioneOggetto", 1, 1, _enum("1.0", "1.1")),
    ("identificativoFlusso", 1, 1, _text(1, 35, r"[a-zA-Z0-9\-_]{1,35}")),
    ("dataOraFlusso", 1, 1, _iso_datetime),
    ("identificativoUnivocoRegolamento", 1, 1, TEXT35),
    ("dataRegolamento", 1, 1, _iso_date),
    ("istitutoMittente", 1, 1, SENDER),
    ("codiceBicBancaDiRiversamento", 0, 1, TEXT35),
    ("istitutoRicevente", 1, 1, RECEIVER),
    ("numeroTotalePagamenti", 1, 1, _count),
    ("importoTotalePagamenti", 1, 1, _amount(Decimal("0.00"))),
)


def _local(tag: str, where: str) -> str:
    if not tag.startswith(NS):
        raise _refuse(where, f"l'elemento «{tag}» non è nel namespace dei pagamenti pagoPA")
    return tag[len(NS) :]


def _read(children: list[Any], spec: Spec, where: str) -> dict[str, Any]:
    """The values of a sequence of elements, checked for order, cardinality and types."""
    values: dict[str, Any] = {}
    position = 0
    for name, low, high, kind in spec:
        seen = 0
        while position < len(children) and _local(children[position].tag, where) == name:
            element = children[position]
            values[name] = _value(element, kind, f"{where} › {name}")
            seen, position = seen + 1, position + 1
            if high and seen > high:
                raise _refuse(where, f"«{name}» compare più volte")
        if seen < low:
            raise _refuse(where, f"manca «{name}»")
    if position < len(children):
        raise _refuse(where, f"elemento inatteso «{_local(children[position].tag, where)}»")
    return values


def _value(element: Any, kind: Any, where: str) -> Any:
    if isinstance(kind, tuple):
        if (element.text or "").strip():
            raise _refuse(where, "contiene testo dove sono attesi elementi")
        return _read(list(element), kind, where)
    if len(element):
        raise _refuse(where, "contiene elementi dove è atteso un valore")
    try:
        return kind(element.text or "")
    except ValueError as exc:
        raise _refuse(where, f"«{element.text or ''}» {exc}") from None


DTD_REFUSED = "Il file contiene una dichiarazione DTD o entità XML, vietate per sicurezza: file rifiutato."


def _check_prolog(data: bytes) -> None:
    """Refuse a DTD (where entities are declared: a bomb, an external reference) before parsing: it
    may only stand in the prolog, before the root element. Only UTF-8 flows are read."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        raise DomainError("Il flusso deve essere codificato in UTF-8.", field=FIELD)
    at = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while at < len(data) and data[at] in b" \t\r\n":
            at += 1
        ends = {b"<?": b"?>", b"<!--": b"-->"}
        opening = next((o for o in ends if data.startswith(o, at)), None)
        if opening is None:
            break
        close = data.find(ends[opening], at)
        if close < 0:
            break
        at = close + len(ends[opening])
    if data.startswith(b"<!", at):
        raise DomainError(DTD_REFUSED, field=FIELD)


def _parser_options() -> dict[str, Any]:
    # No entity is ever substituted, nothing is fetched, no DTD is loaded (defence in depth).
    return {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}


def _syntax(exc: etree.XMLSyntaxError) -> DomainError:
    """The parser's refusal in Italian: where, never its English words."""
    line, column = getattr(exc, "position", None) or (exc.lineno, 0)
    if line == 1 and column <= 1:
        why = "Il file non è un flusso XML: non comincia con «<» (è forse un CSV, un PDF o un foglio di calcolo?)."
        return DomainError(why, field=FIELD)
    return DomainError(
        f"Il file non è XML valido: errore di sintassi alla riga {line}, colonna {column} "
        "(un elemento non chiuso, un carattere non ammesso o il file troncato).",
        field=FIELD,
    )


def parse_flow(data: bytes) -> tuple[FlowHeader, list[FlowLine]]:
    """The flow's header and lines, or a DomainError in Italian naming the element at fault. The
    lines are read as they are parsed and dropped from the tree, so memory stays small."""
    _check_prolog(data)
    header: FlowHeader | None = None
    lines: list[FlowLine] = []
    events = etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=LINE_TAG,
        remove_comments=True,
        remove_pis=True,
        **_parser_options(),
    )
    try:
        for _, element in events:
            root = element.getparent()
            if root is None or root.getparent() is not None:
                raise _refuse(ROOT, "«datiSingoliPagamenti» fuori posto")
            if header is None:
                header = _header(_read(_before(element, root), HEADER, ROOT))
            lines.append(_line(element, len(lines) + 1))
            _drop_before(element, root, first=len(lines) == 1)
        if header is None:
            return _without_lines(data)
        _check_tail(root)
    except etree.XMLSyntaxError as exc:
        raise _syntax(exc) from None
    return header, lines


def _before(element: Any, root: Any) -> list[Any]:
    """The header: the root's children before the first line (checked as the root's)."""
    if root is None or root.tag != NS + ROOT:
        raise _refuse("radice", f"atteso «{ROOT}», trovato «{getattr(root, 'tag', '')}»")
    return list(root)[: root.index(element)]


def _drop_before(element: Any, root: Any, first: bool) -> None:
    """Lines already read (and, at the first line, the header) leave the tree; anything else
    between lines is refused."""
    element.clear()
    while (previous := element.getprevious()) is not None:
        if not first and previous.tag != LINE_TAG:
            raise _refuse(ROOT, f"elemento inatteso «{_local(previous.tag, ROOT)}» tra i pagamenti")
        del root[0]


def _check_tail(root: Any) -> None:
    for element in root:
        if element.tag != LINE_TAG:
            raise _refuse(ROOT, f"elemento inatteso «{_local(element.tag, ROOT)}» dopo i pagamenti")


def _without_lines(data: bytes) -> tuple[FlowHeader, list[FlowLine]]:
    """No payment line at all: say what is wrong with the rest first."""
    try:
        root = etree.fromstring(
            data, etree.XMLParser(remove_comments=True, remove_pis=True, **_parser_options())
        )
    except etree.XMLSyntaxError as exc:
        raise _syntax(exc) from None
    if root.tag != NS + ROOT:
        raise _refuse("radice", f"atteso «{ROOT}», trovato «{root.tag}»")
    _read(list(root), HEADER, ROOT)
    raise _refuse(ROOT, "manca «datiSingoliPagamenti»")


def _line(element: Any, number: int) -> FlowLine:
    kids = list(element)
    values = _usual_line(kids)
    if values is None:  # another shape, or a value at fault: the full check names what and where
        values = _read(kids, PAYMENT, f"pagamento {number}")
    return FlowLine(
        line=number,
        iuv=values["identificativoUnivocoVersamento"],
        receipt_ref=values["identificativoUnivocoRiscossione"],
        payment_index=values.get("indiceDatiSingoloPagamento", 1),
        amount_cents=values["singoloImportoPagato"],
        outcome=int(values["codiceEsitoSingoloPagamento"]),
        paid_on=values["dataEsitoSingoloPagamento"],
    )


# The usual shapes of a line (with and without the optional index): their elements and value types.
_SHAPES = {
    FULL_LINE: tuple((name, kind) for name, _, _, kind in PAYMENT),
    LINE_WITHOUT_INDEX: tuple(
        (name, kind) for name, _, _, kind in PAYMENT if name != "indiceDatiSingoloPagamento"
    ),
}


def _usual_line(kids: list[Any]) -> dict[str, Any] | None:
    """The values of a line of a usual shape whose values are all right; else None."""
    shape = _SHAPES.get(tuple(k.tag for k in kids))
    if shape is None:
        return None
    try:
        values = {name: kind(kid.text or "") for (name, kind), kid in zip(shape, kids, strict=True)}
    except ValueError:
        return None
    return None if any(len(kid) for kid in kids) else values


def _header(values: dict[str, Any]) -> FlowHeader:
    sender = values["istitutoMittente"]["identificativoUnivocoMittente"]["codiceIdentificativoUnivoco"]
    receiver = values["istitutoRicevente"]["identificativoUnivocoRicevente"]["codiceIdentificativoUnivoco"]
    return FlowHeader(
        flow_id=values["identificativoFlusso"],
        flow_date=values["dataOraFlusso"],
        settlement_ref=values["identificativoUnivocoRegolamento"],
        settlement_date=values["dataRegolamento"],
        sender=sender,
        receiver_fiscal_code=receiver.strip(),
        payments_count=values["numeroTotalePagamenti"],
        total_cents=values["importoTotalePagamenti"],
    )


def check_flow(header: FlowHeader, lines: list[FlowLine], creditor_fiscal_code: str) -> None:
    """The flow is for this Comune and its totals match its lines."""
    if header.receiver_fiscal_code != creditor_fiscal_code:
        raise DomainError(
            f"Il flusso {header.flow_id} è destinato all'ente con codice fiscale "
            f"{header.receiver_fiscal_code}, non a questo Comune ({creditor_fiscal_code}): file rifiutato.",
            field=FIELD,
        )
    if header.payments_count != len(lines):
        raise DomainError(
            f"Il flusso dichiara {header.payments_count} pagamenti ma ne contiene {len(lines)}: file rifiutato.",
            field=FIELD,
        )
    total = sum(line.amount_cents for line in lines)
    if header.total_cents != total:
        raise DomainError(
            f"Il totale dichiarato ({format_euro(header.total_cents)}) non è la somma dei pagamenti "
            f"({format_euro(total)}): file rifiutato.",
            field=FIELD,
        )
