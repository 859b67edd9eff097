"""Several fields refused at once: gathered by `Problems`, rendered with every field."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.kernel.errors import DomainError, FieldErrors, Problems, errors_of
from services.kernel.web_errors import domain_error_handler


def _positive(raw: str, field: str) -> int:
    if not raw.isdigit() or int(raw) == 0:
        raise DomainError("Indica un numero maggiore di zero.", field=field)
    return int(raw)


def test_problems_keep_the_first_refusal_of_each_field_and_raise_them_together() -> None:
    found = Problems()
    assert found.check(0, _positive, "3", "a") == 3
    assert found.check(0, _positive, "x", "b") == 0  # refused: the fallback
    found.add("b", "Un secondo messaggio per lo stesso campo.")
    found.add("c", "Manca.")
    with pytest.raises(FieldErrors) as refused:
        found.raise_any()
    assert refused.value.errors == {"b": "Indica un numero maggiore di zero.", "c": "Manca."}
    assert (refused.value.field, refused.value.status) == ("b", 400)
    assert errors_of(refused.value) == refused.value.errors
    assert errors_of(DomainError("Uno solo.", field="d")) == {"d": "Uno solo."}
    Problems().raise_any()  # nothing found: nothing raised


async def _refuse(request: Request) -> Response:
    raise FieldErrors({"amount": "Importo non valido.", "due_on": "Data non valida."})


@pytest.mark.asyncio
async def test_an_api_answers_with_every_field_and_the_first_as_before() -> None:
    app = Starlette(
        routes=[Route("/api/v1/x", _refuse, methods=["POST"]), Route("/t/x", _refuse, methods=["POST"])],
        exception_handlers={DomainError: domain_error_handler},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        api = await client.post("/api/v1/x")
        assert api.status_code == 400
        assert api.json() == {
            "error": "Importo non valido.",
            "field": "amount",
            "errors": {"amount": "Importo non valido.", "due_on": "Data non valida."},
        }
        fragment = await client.post("/t/x", headers={"hx-request": "true"})
        assert fragment.status_code == 400 and 'data-field="amount"' in fragment.text
