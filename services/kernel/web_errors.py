"""Errors as the user reads them: a refusal in Italian, as JSON for the API, as an HTMX fragment
(with the field at fault, or each of several), or as a page of its own with a title."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from services.kernel.errors import DomainError, errors_of
from services.kernel.logs import correlation_var

log = logging.getLogger("services.kernel.web")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


ERROR_TITLES = {
    400: "Richiesta non valida",
    401: "Accesso richiesto",
    403: "Accesso non consentito",
    404: "Pagina non trovata",
    409: "Operazione non possibile",
    410: "Non più disponibile",
    413: "File troppo grande",
    429: "Troppi tentativi",
    500: "Errore interno",
}


def render_error(
    request: Request,
    status: int,
    message: str,
    field: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    if _wants_json(request):
        body: dict[str, object] = {"error": message}
        if field:
            body["field"] = field
        if errors and len(errors) > 1:  # every field at fault, the first also as `error`/`field`
            body["errors"] = errors
        return JSONResponse(body, status_code=status)
    said = escape(message)
    if errors and len(errors) > 1:  # each field at fault, which app.js also puts beside its field
        items = "".join(f'<li data-field="{escape(f)}">{escape(m)}</li>' for f, m in errors.items())
        said = f'<p class="mb-1">Correggi i {len(errors)} campi indicati:</p><ul class="mb-0">{items}</ul>'
    fragment = f'<div class="alert alert-danger" role="alert" data-field="{escape(field or "")}">{said}</div>'
    if request.headers.get("hx-request"):
        return HTMLResponse(fragment, status_code=status)
    # A page of its own needs a title and a first-level heading that say what happened (WCAG 2.4.2, 1.3.1).
    title = escape(ERROR_TITLES.get(status, "Operazione non riuscita"))
    page = (
        f'<!doctype html><html lang="it"><head><meta charset="utf-8"><title>{title} · Riscossa</title>'
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css"></head>'
        f'<body><main class="container my-5"><h1 class="h3">{title}</h1>{fragment}'
        '<a href="/">Torna alla pagina iniziale</a></main></body></html>'
    )
    return HTMLResponse(page, status_code=status)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return render_error(request, exc.status, exc.message, exc.field, errors_of(exc))


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: "Pagina non trovata.",
        405: "Metodo non consentito.",
        401: "Accesso non autorizzato.",
        403: "Operazione non consentita.",
        413: "File troppo grande.",
    }
    return render_error(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    correlation = correlation_var.get() or "-"
    log.exception("unexpected error", exc_info=exc)
    return render_error(request, 500, f"Errore interno. Codice per l'assistenza: {correlation}.")


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}


def exception_handlers() -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    return dict(EXCEPTION_HANDLERS)
