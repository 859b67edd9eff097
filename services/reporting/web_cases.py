"""Views of the Ufficio tributi's worklist: the cases operators sent, the office's answers, the
receipts a claim of payment came with."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, ctx, endpoint, is_htmx, page, stored_download
from services.reporting import domain_cases, handlers_cases
from services.reporting.web import templates

# Who sees the worklist: the Comune's office and the firm's supervisors (who also open a debtor's
# file on the portal); the office answers.
READERS = ("comune_viewer", "comune_admin", "supervisor", "platform_admin")
ANSWERERS = ("comune_admin", "platform_admin")


def _id(request: Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise NotFound() from None


def _labels() -> dict[str, object]:
    return {
        "kinds": domain_cases.KIND_LABELS,
        "answers": domain_cases.ANSWER_LABELS,
        "answer_labels": domain_cases.ANSWER_LABELS,
    }


@endpoint(*READERS)
async def worklist(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    found = await handlers_cases.worklist(uow, ident)
    context = {"list": found, "answered_now": request.query_params.get("risposta") == "1", **_labels()}
    return page(templates, request, "cases.html", context)


@endpoint(*READERS)
async def case_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    detail = await handlers_cases.case_detail(uow, ident, _id(request, "case_id"))
    context = {
        "case": detail.case,
        "given": detail.answers,
        "files": detail.files,
        "positions": detail.positions,
        "acts": detail.acts,
        "case_open": detail.open,
        "can_answer": ident.has_role(*ANSWERERS) and detail.open,
        **_labels(),
        "answers": domain_cases.answers_for(detail.case.kind),
        "answer_help": domain_cases.ANSWER_HELP,
    }
    return page(templates, request, "case.html", context)


@endpoint(*ANSWERERS)
async def answer_case(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    case_id = _id(request, "case_id")
    form = await request.form()
    typed = handlers_cases.Typed(
        str(form.get("esito", "")),
        str(form.get("nota", "")),
        str(form.get("importo", "")),
        tuple(str(v) for v in form.getlist("posizioni")),
    )
    if handlers_cases.needs_confirmation(typed) and form.get("conferma") != "1":
        # A cancellation or a correction: what it changes, to confirm; nothing written yet.
        preview = await handlers_cases.preview_answer(uow, ident, case_id, typed)
        context = {"preview": preview, "case_id": case_id, "embedded": is_htmx(request), **_labels()}
        return page(templates, request, "case_confirm.html", context, block="confirm")
    # At the service's clock, as every other time of the case (its opening comes from the call).
    await handlers_cases.answer(uow, ident, case_id, typed, ctx(request).clock())
    url = f"/t/{ident.tenant_slug}/reporting/pratiche?risposta=1"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@endpoint(*READERS)
async def evidence_download(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    found = await handlers_cases.evidence_file(uow, ident, _id(request, "evidence_id"))
    return stored_download(request, ident.tenant_id, found.object_key, found.file_name, found.media_type)


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting/pratiche"
    return [
        Route(web, worklist, methods=["GET"]),
        Route(f"{web}/{{case_id}}", case_page, methods=["GET"]),
        Route(f"{web}/{{case_id}}/risposta", answer_case, methods=["POST"]),
        Route(f"{web}/ricevute/{{evidence_id}}", evidence_download, methods=["GET"]),
    ]
