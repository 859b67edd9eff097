"""Views of the aggio engine: the aggio page (contract, rendiconti, office addresses), rendiconto
downloads and the JSON API; the contract's form is `web_aggio_contract`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, ctx, endpoint, is_htmx, page
from services.kernel.web_reload import back_to_form
from services.reporting import domain_aggio as rules
from services.reporting import handlers_aggio as handlers
from services.reporting import handlers_aggio_contract as contracts
from services.reporting.domain import ROME
from services.reporting.rendiconto import CHARGES_NOTE, file_stem, month_label
from services.reporting.web import templates
from services.reporting.web_aggio_contract import FIRM_ADMIN
from services.reporting.web_aggio_contract import page_context as contract_page
from services.reporting.web_aggio_contract import routes as contract_routes

# The rendiconto lists taxpayers: the Comune's roles and the firm's admin, who invoices with it.
READ_ROLES = ("comune_viewer", "comune_admin", "platform_admin")
CONTACT_ROLES = ("comune_admin", "platform_admin")
MEDIA = {"pdf": handlers.PDF, "xlsx": handlers.XLSX}

templates.env.filters["percent_bp"] = rules.format_percent
templates.env.filters["month_label"] = month_label


def _today() -> date:
    return datetime.now(ROME).date()


async def _page_context(uow: UnitOfWork, who: Identity) -> dict[str, Any]:
    versions = await contracts.contract_versions(uow, who.tenant_id)
    today = _today()
    current = None
    start, _ = rules.month_bounds(today)
    if versions:
        current = await contracts.period_aggio(
            uow, who.tenant_id, start, today, contracts.versions_in(versions)
        )
    # The debtors' c.803 charges of the month: shown with or without an aggio contract.
    charges = current.charges if current else await contracts.charges_in(uow, who.tenant_id, start, today)
    return {
        "charges": charges,
        **contract_page(versions, today),
        "basis_labels": rules.BASIS_LABELS,
        "current": current,
        "rendiconti": await handlers.list_rendiconti(uow, who.tenant_id),
        "emails": ", ".join(await handlers.office_emails(uow, who.tenant_id)),
        "charges_note": CHARGES_NOTE,
        "last_month": rules.previous_month(today).strftime("%Y-%m"),
        "is_firm_admin": who.has_role(*FIRM_ADMIN),
        "can_edit_contacts": who.has_role(*CONTACT_ROLES),
    }


@endpoint(*READ_ROLES)
async def aggio_page(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    return page(templates, request, "aggio.html", await _page_context(uow, who))


# --- rendiconti ----------------------------------------------------------------------------------


@endpoint(*FIRM_ADMIN)
async def create_rendiconto(request: Request, who: Identity, uow: UnitOfWork) -> Response | AfterCommit:
    """Record a new version; it is e-mailed once recorded (committed), then the list is shown."""
    form = await request.form()
    month = rules.parse_month(str(form.get("month", "")), _today())
    service = ctx(request)
    same = await handlers.unchanged_version(uow, who.tenant_id, month)
    if same is not None and form.get("conferma") != "1":
        # Nothing changed since its last version: asked again before a copy is made and e-mailed.
        again = {"same": same, "month_value": f"{month:%Y-%m}"}
        return page(templates, request, "rendiconto_again.html", again)
    made = await handlers.generate_rendiconto(
        uow, service, who.tenant_id, month, who.display_name, who.tenant_name
    )

    async def respond() -> Response:
        if made.mail is not None:
            await handlers.deliver(service.db, service.mailer, made.mail)
        if not is_htmx(request):
            return RedirectResponse(f"/t/{who.tenant_slug}/reporting/aggio", status_code=303)
        context = await service.db.run(who.tenant_id, lambda fresh: _page_context(fresh, who))
        context["generated"] = made.rendiconto
        listed = page(templates, request, "aggio.html", context, block="rendiconti")
        listed.headers.update({"HX-Retarget": "#rendiconti", "HX-Reswap": "outerHTML"})
        return listed

    return AfterCommit(respond)


@endpoint(*READ_ROLES)
async def download_rendiconto(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    """Stream a stored rendiconto after checking it still carries the recorded SHA-256."""
    kind = request.url.path.rsplit(".", 1)[-1]
    try:
        rendiconto_id = uuid.UUID(request.path_params["rendiconto_id"])
    except ValueError as exc:
        raise NotFound() from exc
    storage = ctx(request).storage
    found, key, size, sha = await handlers.open_rendiconto(uow, storage, who, rendiconto_id, kind)
    headers = {
        "Content-Disposition": f'attachment; filename="{file_stem(found.month, found.version)}.{kind}"',
        "Content-Length": str(size),
        "X-Content-SHA256": sha,
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(storage.stream(who.tenant_id, key), media_type=MEDIA[kind], headers=headers)


# --- the office's addresses ----------------------------------------------------------------------


@endpoint(*CONTACT_ROLES)
async def save_contacts(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    form = await request.form()
    raw = str(form.get("emails", ""))
    try:
        emails = await handlers.save_office_emails(uow, who, raw)
    except DomainError as problem:
        context = {**await _page_context(uow, who), "emails": raw, "contacts_error": problem.message}
        return page(templates, request, "aggio.html", context, block="contacts", status_code=400)
    if not is_htmx(request):
        return RedirectResponse(f"/t/{who.tenant_slug}/reporting/aggio", status_code=303)
    context = {"emails": ", ".join(emails), "contacts_saved": True, "can_edit_contacts": True}
    return page(templates, request, "aggio.html", context, block="contacts")


# --- JSON API ------------------------------------------------------------------------------------


@endpoint("api", *READ_ROLES)
async def api_aggio(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    """Collected, refunded, revoked, taxable base, aggio and VAT of a period, per revenue type."""
    q = request.query_params
    start, end = rules.parse_period(q.get("period_from"), q.get("period_to"))
    period = await contracts.period_aggio(uow, who.tenant_id, start, end)
    return JSONResponse(contracts.period_json(period))


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting/aggio"
    return [
        Route(web, aggio_page, methods=["GET"]),
        *contract_routes(),
        Route(f"{web}/rendiconti", create_rendiconto, methods=["POST"]),
        Route(f"{web}/rendiconti/{{rendiconto_id}}.pdf", download_rendiconto, methods=["GET"]),
        Route(f"{web}/rendiconti/{{rendiconto_id}}.xlsx", download_rendiconto, methods=["GET"]),
        Route(f"{web}/contatti", save_contacts, methods=["POST"]),
        back_to_form(f"{web}/contatti", web, *READ_ROLES),
        back_to_form(f"{web}/rendiconti", web, *READ_ROLES),
        Route("/api/v1/reporting/aggio", api_aggio, methods=["GET"]),
    ]
