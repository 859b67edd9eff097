"""The installment rules page of the Comune's admin: for each revenue type the rules in force (bands,
smallest installment, own rate) and every version with its date, and a form that saves a new version
from a date, its bands edited as rows "from amount – to amount: fewest–most installments"."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contracts import REVENUE_TYPES
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.kernel.web import endpoint, page, templates_for
from services.payments import handlers_rules
from services.payments.domain import format_cents, parse_amount
from services.payments.domain_plans import (
    CDS_BANDS,
    CDS_MIN_INSTALLMENT_CENTS,
    MOST_INSTALLMENTS,
    Band,
    RuleSet,
    read_bands,
    read_rate,
)

templates = templates_for(Path(__file__).parent)
# A regulation's rate as Italians write it: "1,5" for 1.500.
templates.env.filters["rate"] = lambda rate: format(Decimal(rate).normalize(), "f").replace(".", ",")
ROME = ZoneInfo("Europe/Rome")
ADMIN_ROLES = ("comune_admin", "platform_admin")
EDITABLE_TYPES = tuple(t for t in REVENUE_TYPES if t != "CDS")
FORM_ROWS = 8
BAND_NAMED = re.compile(r"Fascia (\d+):")
# Art. 202-bis as bands, shown for traffic fines (the Comune's regulation does not change them).
CDS_SHOWN = (Band(20_000, 1, 1), *(Band(up_to, 2, most) for up_to, most in CDS_BANDS))


def band_rows(bands: tuple[Band, ...]) -> list[dict[str, Any]]:
    """Each band with the amount it starts from (one cent above the previous band's limit)."""
    rows, start = [], 0
    for band in bands:
        rows.append({"from": start, "to": band.up_to_cents, "min": band.fewest, "max": band.most})
        start = (band.up_to_cents or 0) + 1
    return rows


def _euros(cents: int | None) -> str:
    return "" if cents is None else format_cents(cents).removeprefix("€ ")


def _form_rows(bands: tuple[Band, ...]) -> list[dict[str, str]]:
    filled = [
        {"from": _euros(r["from"]), "to": _euros(r["to"]), "min": str(r["min"]), "max": str(r["max"])}
        for r in band_rows(bands)
    ]
    return filled + [dict.fromkeys(("from", "to", "min", "max"), "")] * (FORM_ROWS - len(filled))


def _cents(raw: str, line: int, what: str) -> int:
    try:
        return parse_amount(raw)
    except DomainError:
        raise DomainError(
            f"Fascia {line}, colonna «{what}»: «{raw}» non è un importo (es. 1.234,56).", field="bands"
        ) from None


def _minimum(raw: str) -> int:
    try:
        return parse_amount(raw)
    except DomainError:
        raise DomainError(
            f"Rata minima non valida: «{raw}». Indica un importo in euro, ad esempio 50,00.",
            field="min_installment",
        ) from None


def _is_zero(raw: str) -> bool:
    return raw.replace("€", "").strip().replace(".", "").replace(",", "").strip("0") == ""


def _count(raw: str, line: int, what: str) -> int:
    if not raw:
        raise DomainError(f"Fascia {line}: indica il numero {what} di rate.", field="bands")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MOST_INSTALLMENTS:
        raise DomainError(
            f"Fascia {line}: il numero {what} di rate va da 1 a {MOST_INSTALLMENTS} («{raw[:20]}»).",
            field="bands",
        )
    return int(raw)


def read_band_rows(rows: list[dict[str, str]]) -> tuple[Band, ...]:
    """The form's rows (empty ones skipped): each starts one cent above the previous one's limit;
    the last has no limit."""
    bands: list[Band] = []
    start = 0
    for line, row in enumerate((r for r in rows if any(r.values())), 1):
        begins = 0 if _is_zero(row["from"]) else _cents(row["from"], line, "Da (€)")
        if begins != start and not (line == 1 and begins == 1):
            raise DomainError(
                f"Fascia {line}: deve partire da € {_euros(start)}, subito dopo la fascia precedente.",
                field="bands",
            )
        up_to = None if not row["to"] else _cents(row["to"], line, "A (€)")
        fewest, most = _count(row["min"], line, "minimo"), _count(row["max"], line, "massimo")
        if fewest > most:
            raise DomainError(
                f"Fascia {line}: il minimo di rate ({fewest}) supera il massimo ({most}).", field="bands"
            )
        bands.append(Band(up_to, fewest, most))
        start = (up_to or 0) + 1
    return tuple(bands)


async def _context(uow: UnitOfWork, ident: Identity, today: date) -> dict[str, Any]:
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for version in await handlers_rules.rules_history(uow, ident.tenant_id):
        version["rows"] = band_rows(read_bands(version["bands"]))
        version["valid_from"] = date.fromisoformat(version["valid_from"])
        history[version["revenue_type"]].append(version)
    kinds = []
    for revenue_type in REVENUE_TYPES:
        versions = history.get(revenue_type, [])
        own = [v for v in versions if v["valid_from"] <= today]
        rules = await handlers_rules.rules_for(uow, ident.tenant_id, revenue_type, today)
        if revenue_type == "CDS":
            rules = RuleSet(CDS_SHOWN, CDS_MIN_INSTALLMENT_CENTS)
        kind = {
            "revenue_type": revenue_type,
            "rules": rules,
            "rows": band_rows(rules.bands),
            "versions": versions,
        }
        kind["since"] = own[-1]["valid_from"] if own else None
        kinds.append(kind)
    return {"kinds": kinds, "today": today, "editable": EDITABLE_TYPES}


def _fields(form: FormData) -> dict[str, Any]:
    lists = {name: [str(v).strip() for v in form.getlist(name)][:20] for name in ("from", "to", "min", "max")}
    rows = [dict(zip(lists, values, strict=True)) for values in zip(*lists.values(), strict=False)]
    return {
        "revenue_type": str(form.get("revenue_type") or ""),
        "valid_from": str(form.get("valid_from") or "").strip(),
        "min_installment": str(form.get("min_installment") or "").strip(),
        "interest_rate": str(form.get("interest_rate") or "").strip(),
        "rows": rows,
    }


def _rule_set(fields: dict[str, Any]) -> tuple[str, date, RuleSet]:
    if fields["revenue_type"] not in EDITABLE_TYPES:
        raise DomainError("Scegli il tipo di entrata.", field="revenue_type")
    try:
        valid_from = date.fromisoformat(fields["valid_from"])
    except ValueError:
        raise DomainError("Indica la data da cui valgono le regole.", field="valid_from") from None
    smallest = fields["min_installment"]
    smallest_cents = 0 if _is_zero(smallest) else _minimum(smallest)
    rate = read_rate(fields["interest_rate"] or None)
    return fields["revenue_type"], valid_from, RuleSet(read_band_rows(fields["rows"]), smallest_cents, rate)


@endpoint(*ADMIN_ROLES)
async def rules_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    today = datetime.now(ROME).date()
    context = await _context(uow, ident, today)
    blank = {"revenue_type": "", "valid_from": today.isoformat(), "min_installment": "", "interest_rate": ""}
    context["form"] = {**blank, "rows": _form_rows(RuleSet().bands)}
    context["saved"] = request.query_params.get("salvate") == "1"
    return page(templates, request, "rules.html", context)


@endpoint(*ADMIN_ROLES)
async def save_rules_web(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    today = datetime.now(ROME).date()
    async with request.form(max_fields=120) as form:
        fields = _fields(form)
    try:
        revenue_type, valid_from, rules = _rule_set(fields)
        await handlers_rules.save_rules(uow, ident, revenue_type, valid_from, rules, today)
    except DomainError as problem:  # shown above the form, with what was typed; nothing recorded
        context = await _context(uow, ident, today)
        blank_rows = [dict.fromkeys(("from", "to", "min", "max"), "")] * FORM_ROWS
        context["form"] = {**fields, "rows": (fields["rows"] + blank_rows)[:FORM_ROWS]}
        context["problem"] = problem
        # A band's refusal names it («Fascia 2: …»): that row's fields are marked too.
        named = BAND_NAMED.match(problem.message) if problem.field == "bands" else None
        context["problem_band"] = int(named.group(1)) if named else None
        return page(templates, request, "rules.html", context, status_code=400)
    return RedirectResponse(f"/t/{ident.tenant_slug}/payments/rules?salvate=1", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/t/{tenant}/payments/rules", rules_page, methods=["GET"]),
        Route("/t/{tenant}/payments/rules", save_rules_web, methods=["POST"]),
    ]
