"""Ingest repository against PostgreSQL: tenant isolation of batches, debtors, positions and rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.ingest import repository, repository_tracing
from services.ingest.models import batch_rows, batches, debtors, positions
from services.kernel.identity import Identity
from services.platform import Platform
from tests.ingest.helpers import ingest_file
from tests.support import FIXTURES


@pytest.mark.asyncio
async def test_other_tenant_sees_and_changes_nothing(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    a, b = tenant.tenant_id, other_tenant.tenant_id
    batch_id = await ingest_file(platform, a, FIXTURES / "comune-c-utf8.csv")
    db = platform.databases["ingest"]

    async with db.unit_of_work(b) as uow:
        assert await repository.get_batch(uow, b, batch_id) is None
        assert await repository.list_batches(uow, b) == []
        assert await repository.row_verdicts(uow, b, batch_id) == []
        assert await repository.position_totals(uow, b) == (0, 0)
        # Even without the explicit tenant filter, row-level security hides A's rows.
        for table in (batches, debtors, positions, batch_rows):
            assert (await uow.execute(sa.select(sa.func.count()).select_from(table))).scalar_one() == 0
        # Asking for A's rows with A's id from B's transaction still finds nothing.
        assert await repository.get_batch(uow, a, batch_id) is None
        updated = await uow.execute(sa.update(positions).values(amount_cents=1))
        assert updated.rowcount == 0
        await repository.mark_failed(uow, a, batch_id, "manomesso")
        await uow.commit()

    async with db.unit_of_work(a) as uow:
        row = await repository.get_batch(uow, a, batch_id)
        assert (row.status, row.error) == ("completed", None)
        count, total = await repository.position_totals(uow, a)
    assert (count, total) == (267, 26208815)


@pytest.mark.asyncio
async def test_insert_into_other_tenant_is_refused(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    import uuid

    from sqlalchemy.exc import DBAPIError

    db = platform.databases["ingest"]
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.unit_of_work(other_tenant.tenant_id) as uow:
            await uow.execute(
                sa.insert(debtors).values(
                    id=uuid.uuid4(), tenant_id=tenant.tenant_id, fiscal_code="00000010215", name="X"
                )
            )


@pytest.mark.asyncio
async def test_same_fiscal_code_is_one_debtor_per_tenant(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    """The same file in two Comuni makes a debtor in each; sent again, it makes no new debtor."""
    path = FIXTURES / "comune-c-utf8.csv"
    ids: dict[object, list[set[object]]] = {}
    for who in (tenant, other_tenant, tenant):
        await ingest_file(platform, who.tenant_id, path)
        async with platform.databases["ingest"].unit_of_work(who.tenant_id) as uow:
            found = await uow.execute(sa.select(debtors.c.id, debtors.c.fiscal_code))
            ids.setdefault(who.tenant_id, []).append({(r.id, r.fiscal_code) for r in found})
    first, again = ids[tenant.tenant_id]
    assert first and again == first
    (other,) = ids[other_tenant.tenant_id]
    assert {code for _, code in other} == {code for _, code in first}
    assert not {i for i, _ in other} & {i for i, _ in first}


@pytest.mark.asyncio
async def test_mappings_contacts_and_progress_are_per_tenant(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    from services.ingest.models import batch_progress, contacts, mappings

    a, b = tenant.tenant_id, other_tenant.tenant_id
    batch_id = await ingest_file(platform, a, FIXTURES / "comune-a-halley.csv")
    db = platform.databases["ingest"]
    async with db.unit_of_work(a) as uow:
        await repository.save_mapping(uow, a, "cf|tributo", ["CF", "Tributo"], {"taxpayer": 0}, "a")
        await uow.commit()
    async with db.unit_of_work(a) as uow:
        mine = await repository.saved_mappings(uow, a, ["cf|tributo"])
        contact_count = (await uow.execute(sa.select(sa.func.count()).select_from(contacts))).scalar_one()
        progress = await repository.get_progress(uow, a, batch_id)
    assert mine == {"cf|tributo": {"taxpayer": 0}}
    assert contact_count > 0 and progress is not None

    async with db.unit_of_work(b) as uow:
        assert await repository.saved_mappings(uow, b, ["cf|tributo"]) == {}
        assert await repository.saved_mappings(uow, a, ["cf|tributo"]) == {}
        assert await repository.get_progress(uow, a, batch_id) is None
        assert await repository_tracing.tracing_queue(uow, a) == []
        for table in (mappings, contacts, batch_progress):
            assert (await uow.execute(sa.select(sa.func.count()).select_from(table))).scalar_one() == 0
        assert (await uow.execute(sa.update(contacts).values(active=False))).rowcount == 0
        # B saving under A's tenant id is refused by row-level security.
        with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
            await repository.save_mapping(uow, a, "x", ["x"], {"taxpayer": 0}, "b")
