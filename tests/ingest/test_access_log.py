"""Every page, report and API call of the ingest service that shows personal data is logged."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.ingest import repository, repository_tracing
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.ingest.test_web import base, upload_and_process


async def entries(platform: Platform, tenant_id: uuid.UUID) -> list[sa.Row]:  # type: ignore[type-arg]
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        return await repository.access.entries(uow, tenant_id)


@pytest.mark.asyncio
async def test_views_of_personal_data_are_logged_with_who_and_what(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    batch_id = await upload_and_process(platform, tenant, "comune-a-halley.csv")
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        [debtor, *_] = await repository_tracing.tracing_queue(uow, tenant.tenant_id, limit=1)
    assert await entries(platform, tenant.tenant_id) == []

    async with service_client(platform, "ingest", tenant) as client:
        responses = [
            await client.get(f"{base(tenant)}/batches/{batch_id}"),
            await client.get(f"{base(tenant)}/batches/{batch_id}/errors.csv"),
            await client.get(f"/api/v1/ingest/batches/{batch_id}/rows?verdict=rejected"),
            await client.get(f"{base(tenant)}/debtors/{debtor.id}"),
            await client.get(f"/api/v1/ingest/debtors/{debtor.id}"),
            await client.get(f"{base(tenant)}/tracing"),
            await client.get(f"{base(tenant)}/cleaning-report.pdf"),
        ]
    assert [r.status_code for r in responses] == [200] * len(responses)

    logged = await entries(platform, tenant.tenant_id)
    assert [(e.action, e.subject_id) for e in logged] == [
        ("view_batch_rows", uuid.UUID(batch_id)),
        ("download_errors_csv", uuid.UUID(batch_id)),
        ("api_rows", uuid.UUID(batch_id)),
        ("view_debtor", debtor.id),
        ("api_debtor", debtor.id),
        ("view_tracing_queue", None),
        ("download_cleaning_pdf", None),
    ]
    assert {e.user_id for e in logged} == {tenant.user_id}
    assert "verdict=rejected" in logged[2].detail
    assert await entries(platform, other_tenant.tenant_id) == []


@pytest.mark.asyncio
async def test_a_page_without_personal_data_is_not_logged(platform: Platform, tenant: Identity) -> None:
    async with service_client(platform, "ingest", tenant) as client:
        assert (await client.get(f"{base(tenant)}/")).status_code == 200
    assert await entries(platform, tenant.tenant_id) == []


@pytest.mark.asyncio
async def test_the_access_log_is_append_only(platform: Platform, tenant: Identity) -> None:
    async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
        await repository.access.record(uow, tenant.tenant_id, "someone", "view_debtor", uuid.uuid4())
        await uow.commit()
    for statement in ("UPDATE ingest.access_log SET user_id = 'nobody'", "DELETE FROM ingest.access_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with platform.databases["ingest"].unit_of_work(tenant.tenant_id) as uow:
                await uow.execute(sa.text(statement))
    assert [e.user_id for e in await entries(platform, tenant.tenant_id)] == ["someone"]
