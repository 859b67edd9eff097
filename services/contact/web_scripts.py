"""The supervisors' page of the Comune's call scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.contact import handlers_scripts
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.kernel.web import endpoint, page, templates_for
from services.kernel.web_reload import back_to_form

templates = templates_for(Path(__file__).parent)


@endpoint(*handlers_scripts.EDITORS)
async def scripts_page(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    context = {**await handlers_scripts.scripts_page(uow, ident), "problem": None, "typed_kind": None}
    return page(templates, request, "scripts.html", context)


@endpoint(*handlers_scripts.EDITORS)
async def save_script(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_fields=10) as form:
        kind, raw = str(form.get("revenue_type") or ""), str(form.get("steps") or "")
    context: dict[str, Any]
    try:
        saved = await handlers_scripts.save_script(uow, ident, kind, raw)
    except DomainError as problem:  # shown at its form; nothing was written
        context = {
            **await handlers_scripts.scripts_page(uow, ident),
            "problem": problem,
            "typed_kind": kind,
            "typed": raw,
        }
        return page(templates, request, "scripts.html", context, status_code=400)
    context = {
        **await handlers_scripts.scripts_page(uow, ident),
        "problem": None,
        "typed_kind": None,
        "saved": saved,
    }
    return page(templates, request, "scripts.html", context)


@endpoint(*handlers_scripts.EDITORS)
async def save_labels(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    async with request.form(max_fields=40) as form:
        values = {str(k): str(v) for k, v in form.items() if str(k).startswith("label_")}
    context: dict[str, Any]
    try:
        await handlers_scripts.save_labels(uow, ident, values)
    except DomainError as problem:  # shown at its field; nothing was written
        context = {
            **await handlers_scripts.scripts_page(uow, ident),
            "problem": None,
            "typed_kind": None,
            "label_problem": problem,
            "typed_labels": values,
        }
        return page(templates, request, "scripts.html", context, status_code=400)
    context = {
        **await handlers_scripts.scripts_page(uow, ident),
        "problem": None,
        "typed_kind": None,
        "labels_saved": True,
    }
    return page(templates, request, "scripts.html", context)


def routes() -> list[BaseRoute]:
    return [
        Route("/t/{tenant}/contact/scripts", scripts_page, methods=["GET"]),
        Route("/t/{tenant}/contact/scripts", save_script, methods=["POST"]),
        Route("/t/{tenant}/contact/outcome-labels", save_labels, methods=["POST"]),
        back_to_form(
            "/t/{tenant}/contact/outcome-labels", "/t/{tenant}/contact/scripts", *handlers_scripts.EDITORS
        ),
    ]
