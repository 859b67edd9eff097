"""Numbers in the query string (`page`, `offset`, `after`, `limit`): out of range or not a number,
every view answers 400 with an Italian message naming the parameter, never a 500."""

from __future__ import annotations

import uuid

import pytest
from starlette.requests import Request

from services.kernel.errors import DomainError
from services.kernel.web import query_int
from services.platform import Platform
from tests.conftest import service_client
from tests.support import make_identity

HUGE = "99999999999999999999"


def _request(query: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": []}
    )


def test_query_int_takes_a_number_in_range_and_the_default_when_absent() -> None:
    assert query_int(_request("page=3"), "page", 1, least=1, most=10) == 3
    assert query_int(_request(""), "page", 1, least=1, most=10) == 1
    assert query_int(_request("page="), "page", 1, least=1, most=10) == 1


@pytest.mark.parametrize("raw", [HUGE, "11", "0", "-1", "abc", "²", "1e3", " 5"])
def test_query_int_refuses_anything_else_naming_the_parameter(raw: str) -> None:
    with pytest.raises(DomainError) as refused:
        query_int(_request(f"page={raw}"), "page", 1, least=1, most=10)
    assert refused.value.field == "page" and "«page»" in str(refused.value)
    assert refused.value.status == 400


VIEWS = [
    ("contact", "/t/{slug}/contact/?page=" + HUGE, "page"),
    ("payments", "/t/{slug}/payments/?page=" + HUGE, "page"),
    ("payments", "/api/v1/payments/positions?offset=" + HUGE, "offset"),
    ("ingest", "/t/{slug}/ingest/tracing?offset=" + HUGE, "offset"),
    ("ingest", f"/api/v1/ingest/batches/{uuid.uuid4()}/rows?after={HUGE}", "after"),
    ("ingest", f"/api/v1/ingest/batches/{uuid.uuid4()}/rows?limit={HUGE}", "limit"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("service", "path", "name"), VIEWS)
async def test_a_huge_number_in_the_query_is_a_400_naming_the_parameter(
    platform: Platform, service: str, path: str, name: str
) -> None:
    tid = uuid.uuid4()
    who = make_identity(tid, f"comune-{tid.hex[:8]}", roles=("operator", "comune_admin", "api"))
    async with service_client(platform, service, who) as client:
        answer = await client.get(path.format(slug=who.tenant_slug))
    assert answer.status_code == 400, answer.text[:300]
    assert f"«{name}»" in answer.text
