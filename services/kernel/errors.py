"""One error hierarchy and one handler: Italian messages, HTML fragments for HTMX, JSON for the API."""

from __future__ import annotations

import logging
from html import escape

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from services.kernel.logs import correlation_var

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule was broken; `message` is shown to the user in Italian."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str = "Risorsa non trovata.") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = "Operazione non consentita per il tuo ruolo.") -> None:
        super().__init__(message)


class Conflict(DomainError):
    status = 409


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def render_error(request: Request, status: int, message: str, field: str | None = None) -> Response:
    if _wants_json(request):
        body: dict[str, object] = {"error": message}
        if field:
            body["field"] = field
        return JSONResponse(body, status_code=status)
    fragment = f'<div class="alert alert-danger" role="alert" data-field="{escape(field or "")}">{escape(message)}</div>'
    if request.headers.get("hx-request"):
        return HTMLResponse(fragment, status_code=status)
    page = (
        '<!doctype html><html lang="it"><head><meta charset="utf-8"><title>Riscossa</title>'
        '<link rel="stylesheet" href="/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css"></head>'
        f'<body><main class="container my-5">{fragment}<a href="/">Torna alla pagina iniziale</a></main></body></html>'
    )
    return HTMLResponse(page, status_code=status)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return render_error(request, exc.status, exc.message, exc.field)


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


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
