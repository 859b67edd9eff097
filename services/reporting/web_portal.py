"""Views of the Ufficio tributi's portal: the figures with their charts and tables, the drill-down to
the debtors, a debtor's read-only file, and every table as CSV or XLSX."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, Forbidden, NotFound
from services.kernel.identity import Identity
from services.kernel.limitation import ACT_KINDS
from services.kernel.roles import SESSION_ROLES
from services.kernel.web import ctx, endpoint, page
from services.reporting import domain_portal as dp
from services.reporting import handlers_portal, pdf_dossier, portal_content, tabular
from services.reporting.domain import ROME
from services.reporting.domain_cases import ANSWER_LABELS, KIND_LABELS
from services.reporting.web import templates

# The figures: the Comune's office and the firm's people on that Comune. Names and fiscal codes
# (the drill-down, a debtor's file, their downloads): the office, the firm's supervisors and the
# platform's administrators; operators work one debtor at a time in their console.
PORTAL_ROLES = SESSION_ROLES
PERSONAL_ROLES = ("comune_viewer", "comune_admin", "supervisor", "platform_admin")
# Who records the Comune's interrupting acts (its tax office's administrators).
ACT_ROLES = ("comune_admin", "platform_admin")
FORMATS = {"csv": tabular.CSV_MEDIA_TYPE, "xlsx": tabular.XLSX_MEDIA_TYPE}


def _today(request: Request) -> Any:
    return ctx(request).clock().astimezone(ROME).date()


def _shown(table: tabular.Table, links: Sequence[str | None] | None = None) -> dict[str, Any]:
    rows = tabular.display_rows(table)
    return {
        "table": table,
        "rows": list(zip(rows, links or [None] * len(rows), strict=True)),
        "numeric": [c.numeric for c in table.columns],
    }


def _drill(base: str, filt: dp.DebtorFilter) -> str:
    return f"{base}/reporting/portale/debitori?{filt.query()}"


def _portal_context(portal: dp.Portal, ident: Identity) -> dict[str, Any]:
    base = f"/t/{ident.tenant_slug}"
    watch = portal.limitation
    personal = ident.has_role(*PERSONAL_ROLES)
    funnel = portal_content.funnel_figure(portal)
    by_type = portal_content.group_figure("entrate", portal.by_type)
    by_year = portal_content.group_figure("anni", portal.by_year)
    paid, contacts, weeks = portal_content.weekly_figures(portal.weeks)
    stage_links = [_drill(base, dp.DebtorFilter(stage=s.stage)) for s in portal.total.stages]
    type_links = [_drill(base, dp.DebtorFilter(revenue_type=g.key)) for g in portal.by_type]
    year_links = [_drill(base, dp.DebtorFilter(year=int(g.key))) for g in portal.by_year]
    return {
        "portal": portal,
        "personal": personal,
        "hints": dp.STAGE_HINTS,
        "funnel_chart": Markup(funnel.chart),  # noqa: S704 (svg_charts escapes every text it draws)
        "funnel": _shown(funnel.table, stage_links if personal else None),
        "type_chart": Markup(by_type.chart),  # noqa: S704
        "by_type": _shown(by_type.table, type_links if personal else None),
        "year_chart": Markup(by_year.chart),  # noqa: S704
        "by_year": _shown(by_year.table, year_links if personal else None),
        "paid_chart": Markup(paid),  # noqa: S704
        "contacts_chart": Markup(contacts),  # noqa: S704
        "weeks": _shown(weeks),
        "collected_percent": portal.total.collected_percent,
        "limitation": watch,
        "barring_link": _drill(base, dp.DebtorFilter(stage="barring")),
        "barred_link": _drill(base, dp.DebtorFilter(stage="barred")),
    }


@endpoint(*PORTAL_ROLES)
async def portal_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    today = _today(request)
    portal = await handlers_portal.portal(uow, ident.tenant_id, today)
    return page(templates, request, "portal.html", _portal_context(portal, ident))


@endpoint(*PERSONAL_ROLES)
async def debtors_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    try:
        filt = dp.parse_filter(request.query_params, _today(request))
    except DomainError as exc:
        if exc.field != "cerca":  # the others come only from an address made by hand
            raise
        return await _refused(request, ident, uow, exc)
    found = await handlers_portal.debtor_page(uow, ident, filt)
    if not found.rows and filt.page > found.pages:  # a page past the end (a link kept while rows went)
        last = filt.query(found.pages if found.pages > 1 else None)
        return RedirectResponse(f"{request.url.path}" + (f"?{last}" if last else ""), status_code=303)
    table = portal_content.debtors_table(filt.describe(), found.rows)
    base = f"/t/{ident.tenant_slug}/reporting/portale/debitori"
    # Each debtor's page keeps the list's filters and page, for its way back.
    back = filt.query(filt.page if filt.page > 1 else None)
    links: list[str | None] = [f"{base}/{r.debtor_id}" + (f"?{back}" if back else "") for r in found.rows]
    context = {
        "found": found,
        "filter": filt,
        "stages": dp.STAGE_LABELS,
        "shown": _shown(table, links),
        "first": filt.offset + 1,
        "last": filt.offset + len(found.rows),
    }
    return page(templates, request, "portal_debtors.html", context)


async def _refused(request: Request, ident: Identity, uow: UnitOfWork, error: DomainError) -> Response:
    """The list's form again with the search refused at its field, as typed, and no list (400)."""
    rest = {k: v for k, v in request.query_params.items() if k not in ("cerca", "page")}
    try:
        filt = dp.parse_filter(rest, _today(request))
    except DomainError:
        filt = dp.parse_filter({}, _today(request))
    found = await handlers_portal.refused_search(uow, ident, filt)
    typed = request.query_params.get("cerca", "")
    context = {"found": found, "filter": filt, "stages": dp.STAGE_LABELS, "error": error, "typed": typed}
    return page(templates, request, "portal_debtors.html", context, status_code=400)


# What the notes after an act recorded or withdrawn say (`web_limitation_acts`, `?atto=`).
ACT_NOTES = {
    "registrato": "Atto interruttivo registrato: la prescrizione delle posizioni indicate riparte dal giorno della notifica.",
    "annullato": "Registrazione dell'atto annullata: l'atto non interrompe più la prescrizione.",
}


@endpoint(*PERSONAL_ROLES)
async def debtor_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    found = await handlers_portal.debtor_file(uow, ident, debtor_id_of(request))
    context = debtor_context(request, ident, found)
    context["act_note"] = ACT_NOTES.get(request.query_params.get("atto", ""))
    return page(templates, request, "portal_debtor.html", context)


def debtor_context(request: Request, ident: Identity, found: handlers_portal.DebtorFile) -> dict[str, Any]:
    """The debtor's page: their file, each position's first time-barred day, the acts' form."""
    today = _today(request)
    return {
        "debtor": found,
        "back": _list_left(request),
        "states": dp.POSITION_STATE_LABELS,
        "promises": dp.PROMISE_LABELS,
        "outcome_label": dp.outcome_label,
        "kinds": KIND_LABELS,
        "answers": ANSWER_LABELS,
        # Each position's first time-barred day (`kernel.limitation`), judged against today.
        "barred": {p.position_id: found.barred_on(p) for p in found.positions},
        "today": today,
        "act_kinds": ACT_KINDS,
        "can_record_acts": ident.has_role(*ACT_ROLES),
    }


def _list_left(request: Request) -> dp.DebtorFilter | None:
    """The list the debtor was opened from (its filters and page), when the link carried it; a
    query that is not a valid filter is a plain link to the whole list."""
    try:
        filt = dp.parse_filter(request.query_params, _today(request))
    except DomainError:
        return None
    return filt if filt.query(filt.page) != "page=1" else None


def debtor_id_of(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["debtor_id"])
    except ValueError:
        raise NotFound("Debitore non trovato.") from None


@endpoint(*PERSONAL_ROLES)
async def dossier_pdf(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    """The debtor's file as PDF (`pdf_dossier`), to hand over with the credit; the download is
    recorded in the access log."""
    found = await handlers_portal.debtor_file(uow, ident, debtor_id_of(request), action="export_dossier")
    body = pdf_dossier.render(found, ident.tenant_name, ctx(request).clock(), ident.display_name)
    name = f"fascicolo-{''.join(ch for ch in found.fiscal_code if ch.isalnum()) or found.debtor_id}.pdf"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    return Response(body, media_type="application/pdf", headers=headers)


async def _download(request: Request, ident: Identity, uow: UnitOfWork, fmt: str) -> Response:
    kind = request.path_params["kind"]
    if kind == "debitori":
        if not ident.has_role(*PERSONAL_ROLES):
            raise Forbidden()
        filt = dp.parse_filter(request.query_params, _today(request))
        rows = await handlers_portal.debtor_export(uow, ident, filt, fmt)
        table = portal_content.debtors_table(filt.describe(), rows)
    elif kind in portal_content.TABLES:
        portal = await handlers_portal.portal(uow, ident.tenant_id, _today(request))
        table = portal_content.table(kind, portal)
    else:
        raise NotFound("Tabella non trovata.")
    body = tabular.csv_bytes(table) if fmt == "csv" else tabular.xlsx_bytes([table])
    name = f"portale-{kind}-{_today(request):%Y%m%d}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    return Response(body, media_type=FORMATS[fmt], headers=headers)


@endpoint(*PORTAL_ROLES)
async def download_csv(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return await _download(request, ident, uow, "csv")


@endpoint(*PORTAL_ROLES)
async def download_xlsx(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    return await _download(request, ident, uow, "xlsx")


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting/portale"
    return [
        Route(web, portal_page, methods=["GET"]),
        Route(f"{web}/debitori", debtors_page, methods=["GET"]),
        Route(f"{web}/debitori/{{debtor_id}}", debtor_page, methods=["GET"]),
        Route(f"{web}/debitori/{{debtor_id}}/fascicolo.pdf", dossier_pdf, methods=["GET"]),
        Route(f"{web}/{{kind}}.csv", download_csv, methods=["GET"]),
        Route(f"{web}/{{kind}}.xlsx", download_xlsx, methods=["GET"]),
    ]
