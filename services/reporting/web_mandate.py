"""Views of the end of a mandate: the page (state, package, erasure progress, certificate), the
firm's platform admin's two actions (close, erase), the package's and the certificate's downloads."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, after_closure, ctx, endpoint, page, stored_download
from services.kernel.web_reload import back_to_form
from services.reporting import domain_mandate as rules
from services.reporting import handlers_mandate as handlers
from services.reporting import repository_mandate as store
from services.reporting.domain import ROME
from services.reporting.repository import access
from services.reporting.signing import verify
from services.reporting.web import templates

# The package holds the payments and the relazione (taxpayers' data): the Comune's administrators
# and the firm's admin; the certificate holds none, the Comune's viewers see it too.
READ_ROLES = ("comune_viewer", "comune_admin", "platform_admin")
PACKAGE_ROLES = ("comune_admin", "platform_admin")
FIRM_ADMIN = ("platform_admin",)
PAGE = "mandate.html"


async def _context(uow: UnitOfWork, who: Identity, problem: DomainError | None = None) -> dict[str, Any]:
    found = await handlers.mandate(uow, who.tenant_id)
    reports = await store.erasures(uow, who.tenant_id) if found is not None else {}
    package = await handlers.package(uow, who.tenant_id, found) if found is not None else None
    signed = None
    if found is not None and found.certificate is not None:
        content = json.loads(found.certificate)
        valid = verify(content["firma"]["chiave_pubblica"], found.certificate.encode(), found.signature)
        signed = {"content": content, "valid": valid}
    downloads = (
        await store.package_downloads(uow, who.tenant_id, found.closed_on) if found is not None else []
    )
    return {
        "mandate": found,
        "package": package,
        "downloads": downloads,
        "reported": handlers.services_reported(reports),
        "reports": reports,
        "signed": signed,
        "state_labels": rules.STATE_LABELS,
        "service_labels": rules.SERVICE_LABELS,
        "is_firm_admin": who.has_role(*FIRM_ADMIN),
        "can_download": who.has_role(*PACKAGE_ROLES),
        "problem": problem,
        "rome": ROME,
    }


@endpoint(*READ_ROLES)
async def mandate_page(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    return page(templates, request, PAGE, await _context(uow, who))


@endpoint(*FIRM_ADMIN)
async def close_mandate(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    form = await request.form()
    today = ctx(request).clock().astimezone(ROME).date()
    try:
        await handlers.close(uow, who, str(form.get("reason", "")), form.get("confirm") == "1", today)
    except DomainError as exc:
        context = {**await _context(uow, who, exc), "reason": str(form.get("reason", ""))}
        return page(templates, request, PAGE, context, status_code=exc.status)
    return RedirectResponse(f"/t/{who.tenant_slug}/reporting/mandato?esito=chiuso", status_code=303)


@endpoint(*FIRM_ADMIN)
@after_closure
async def request_erasure(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    form = await request.form()
    try:
        await handlers.request_erasure(uow, who, form.get("received") == "1")
    except DomainError as exc:
        return page(templates, request, PAGE, await _context(uow, who, exc), status_code=exc.status)
    return RedirectResponse(f"/t/{who.tenant_slug}/reporting/mandato?esito=cancellazione", status_code=303)


@endpoint(*PACKAGE_ROLES)
async def download_file(request: Request, who: Identity, uow: UnitOfWork) -> AfterCommit:
    found = await store.file(uow, who.tenant_id, str(request.path_params["sha256"]))
    mandate = await handlers.mandate(uow, who.tenant_id)
    if found is None or mandate is None or mandate.state == "erased":
        raise NotFound("Il documento non è più disponibile.")
    await access.record(uow, who.tenant_id, who.user_id, "download_handover", None, found.name)
    return stored_download(request, who.tenant_id, found.object_key, found.name, found.media_type)


@endpoint(*READ_ROLES)
async def certificate_pdf(request: Request, who: Identity, uow: UnitOfWork) -> AfterCommit:
    found = await handlers.mandate(uow, who.tenant_id)
    if found is None or found.certificate_pdf_key is None:
        raise NotFound("Il certificato di cancellazione non è ancora stato emesso.")
    return stored_download(request, who.tenant_id, found.certificate_pdf_key, "certificato-cancellazione.pdf")


@endpoint(*READ_ROLES)
async def certificate_json(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    data = handlers.certificate_json(await handlers.mandate(uow, who.tenant_id))
    disposition = 'attachment; filename="certificato-cancellazione.json"'
    return Response(data, media_type="application/json", headers={"Content-Disposition": disposition})


def routes() -> list[BaseRoute]:
    base = "/t/{tenant}/reporting/mandato"
    return [
        Route(base, mandate_page, methods=["GET"]),
        Route(f"{base}/chiusura", close_mandate, methods=["POST"]),
        Route(f"{base}/cancellazione", request_erasure, methods=["POST"]),
        back_to_form(f"{base}/chiusura", base, *READ_ROLES),
        back_to_form(f"{base}/cancellazione", base, *READ_ROLES),
        Route(f"{base}/consegna/{{sha256}}", download_file, methods=["GET"]),
        Route(f"{base}/certificato.pdf", certificate_pdf, methods=["GET"]),
        Route(f"{base}/certificato.json", certificate_json, methods=["GET"]),
    ]
