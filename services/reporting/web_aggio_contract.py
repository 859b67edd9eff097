"""Views of the aggio contract for the firm's platform admin: the form of a version (the first, an
amendment from a month on, or a correction of one) and the removal of a version entered by mistake."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.contracts import REVENUE_TYPES
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound, errors_of
from services.kernel.identity import Identity
from services.kernel.web import endpoint, is_htmx, page
from services.kernel.web_reload import back_to_form
from services.reporting import domain_aggio as rules
from services.reporting import handlers_aggio_contract as contracts
from services.reporting.domain import ROME
from services.reporting.domain_aggio_versions import Versions
from services.reporting.web import templates

FIRM_ADMIN = ("platform_admin",)
ROWS_SHOWN = 10
NEW = "nuova"


def _iso_day(raw: str) -> str:
    """A version's ISO start date as Italians read it (the raw text if it is not one)."""
    try:
        return date.fromisoformat(raw).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return str(raw)


templates.env.filters["iso_day"] = _iso_day


def _today() -> date:
    return datetime.now(ROME).date()


def rows_of(contract: rules.Contract | None) -> list[dict[str, str]]:
    """The contract's rates as the form's rows (a flat row to start from when there is none)."""
    bands = contract.bands if contract else (rules.Band(rules.ALL_TYPES, 0, None, 0),)
    rows = [
        {
            "type": b.revenue_type,
            "from": rules.euro(b.from_cents).removesuffix(" €"),
            "to": "" if b.to_cents is None else rules.euro(b.to_cents).removesuffix(" €"),
            "rate": rules.format_percent(b.rate_bp).removesuffix("%"),
        }
        for b in bands
    ]
    return rows + [{"type": rules.ALL_TYPES, "from": "", "to": "", "rate": ""}] * max(
        ROWS_SHOWN - len(rows), 0
    )


def _chosen(versions: Versions | None, raw: str | None, today: date) -> tuple[rules.Contract | None, str]:
    """The version the form opens on and the `version` it saves over ("" for a new one): the one
    asked for (its ISO start date), a new one prefilled with the latest version's terms (`nuova`),
    else the version in force today (a new first version while there is none)."""
    if versions is None:
        return None, ""
    if raw == NEW:
        return versions.latest, ""
    if raw:
        found = next((c for c in versions.contracts if c.start_date.isoformat() == raw), None)
        if found is None:
            raise NotFound("Questa versione del contratto non esiste.")
        return found, raw
    current = versions.in_force(today)
    return current, current.start_date.isoformat()


@endpoint(*FIRM_ADMIN)
async def contract_form(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    versions = await contracts.versions_of(uow, who.tenant_id)
    c, version = _chosen(versions, request.query_params.get("versione"), _today())
    values = {
        "version": version,
        "reference": c.reference if c else "",
        # A new version starts when the admin says: its date is left empty.
        "start_date": c.start_date.strftime("%d/%m/%Y") if c and version else "",
        # The aggio is a fee for a service: VAT applies unless the contract says otherwise.
        "vat_applies": c.vat_applies if c else True,
        "vat_percent": rules.format_percent(c.vat_rate_bp if c else rules.DEFAULT_VAT_BP).removesuffix("%"),
    }
    context = {
        "values": values,
        "rows": rows_of(c),
        "types": REVENUE_TYPES,
        "errors": {},
        "any": bool(versions),
    }
    return page(templates, request, "aggio_contract.html", context)


@endpoint(*FIRM_ADMIN)
async def save_contract(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_fields=11 + 4 * rules.MAX_ROWS) as form:
        fields = {k: str(v) for k, v in form.items()}
    try:
        await contracts.save_contract(uow, who, fields, _today())
    except DomainError as problem:  # shown at its field; nothing was written
        rows = [
            {k: fields.get(f"row-{i}-{k}", "") for k in ("type", "from", "to", "rate")}
            for i in range(1, max(ROWS_SHOWN, _last_row(fields)) + 1)
        ]
        values = {**fields, "vat_applies": fields.get("vat_applies") == "1"}
        context = {
            "values": values,
            "rows": rows,
            "types": REVENUE_TYPES,
            "errors": {field or "form": message for field, message in errors_of(problem).items()},
            "any": bool(await contracts.versions_of(uow, who.tenant_id)),
        }
        return page(
            templates, request, "aggio_contract.html", context, block="contract_form", status_code=400
        )
    return _back(request, who, "salvato")


@endpoint(*FIRM_ADMIN)
async def remove_version(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_fields=3) as form:
        raw = str(form.get("version", ""))
    await contracts.remove_version(uow, who, raw)  # a refusal: the page's message (400)
    return _back(request, who, "eliminata")


def _back(request: Request, who: Identity, what: str) -> Response:
    url = f"/t/{who.tenant_slug}/reporting/aggio?{what}=1"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _last_row(fields: dict[str, str]) -> int:
    rows = [int(k.split("-")[1]) for k in fields if k.startswith("row-") and k.split("-")[1].isdigit()]
    return min(max(rows, default=0), rules.MAX_ROWS)


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting/aggio"
    return [
        Route(f"{web}/contratto", contract_form, methods=["GET"]),
        Route(f"{web}/contratto", save_contract, methods=["POST"]),
        Route(f"{web}/contratto/elimina", remove_version, methods=["POST"]),
        back_to_form(f"{web}/contratto/elimina", web, *FIRM_ADMIN),
    ]


def page_context(versions: tuple[Any, ...], today: date) -> dict[str, Any]:
    """What the aggio page shows of the contract: every version, the one in force today marked."""
    known = contracts.versions_in(versions)
    if known is None:
        return {"versions": (), "saved": None, "in_force_start": None}
    return {"versions": versions, "saved": versions[-1], "in_force_start": known.in_force(today).start_date}
