"""After the end of a Comune's mandate, the office's pages that could change its data say so first
(the dashboard, the uploads, which offer no upload form): it saw an empty, working Comune."""

from __future__ import annotations

import pytest

from services import repository_mandate
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.support import make_identity


@pytest.mark.asyncio
async def test_the_office_s_pages_say_the_mandate_ended(platform: Platform, tenant: Identity) -> None:
    office = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("comune_admin",))
    pages = {"reporting": f"/t/{tenant.tenant_slug}/reporting/", "ingest": f"/t/{tenant.tenant_slug}/ingest/"}
    before = {}
    for service, path in pages.items():
        async with service_client(platform, service, office) as client:
            before[service] = (await client.get(path)).text
    assert all('data-testid="mandate-closed"' not in text for text in before.values())
    assert 'id="upload-form"' in before["ingest"]
    for service in pages:
        async with platform.databases[service].unit_of_work(tenant.tenant_id) as uow:
            await repository_mandate.record_closure(uow, tenant.tenant_id)
            await uow.commit()
    for service, path in pages.items():
        async with service_client(platform, service, office) as client:
            text = (await client.get(path)).text
        assert 'data-testid="mandate-closed"' in text and "è chiuso dal" in text, service
        assert f'href="/t/{tenant.tenant_slug}/reporting/mandato">Fine del mandato</a></div>' in text
    assert 'id="upload-form"' not in text  # the uploads' page, last: nothing more to load
