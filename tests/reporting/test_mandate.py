"""The end of a mandate in the reporting service, against the real PostgreSQL: a final relazione
that failed can be asked again after the closure, and the package then takes the newer one."""

from __future__ import annotations

from datetime import date

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import handlers_mandate, handlers_relazione
from services.reporting import repository_relazione as store
from tests.conftest import service_client
from tests.support import make_identity


@pytest.mark.asyncio
async def test_a_failed_final_relazione_is_asked_again_and_joins_the_package(
    platform: Platform, tenant: Identity
) -> None:
    firm = make_identity(
        tenant.tenant_id, tenant.tenant_slug, roles=("platform_admin",), name="Comune di Prova"
    )
    db = platform.databases["reporting"]
    async with db.unit_of_work(firm.tenant_id) as uow:
        await handlers_mandate.close(uow, firm, "Contratto scaduto", True, date(2026, 11, 30))
        await uow.commit()
    async with db.unit_of_work(firm.tenant_id) as uow:
        found = await handlers_mandate.mandate(uow, firm.tenant_id)
        await store.update_report(uow, firm.tenant_id, found.final_report_id, {"status": "failed"})
        await uow.commit()
    async with db.unit_of_work(firm.tenant_id) as uow:
        package = await handlers_mandate.package(uow, firm.tenant_id, found)
    assert package.report_status == "failed" and not package.ready
    async with service_client(platform, "reporting", firm) as http:
        page = await http.get(f"/t/{firm.tenant_slug}/reporting/mandato")
        assert "Richiedere di nuovo la relazione finale" in page.text
        refused = await http.post(
            f"/t/{firm.tenant_slug}/reporting/aggio/rendiconti", data={"month": "2026-10"}
        )
        assert refused.status_code == 409 and "mandato" in refused.text
        again = await http.post(
            f"/t/{firm.tenant_slug}/reporting/reports",
            data={"kind": "final", "period_from": "2026-01-01", "period_to": "2026-11-30"},
        )
        assert again.status_code == 200, again.text
    async with db.unit_of_work(firm.tenant_id) as uow:
        newest = (await handlers_relazione.reports(uow, firm.tenant_id))[0]
        await store.update_report(uow, firm.tenant_id, newest.id, {"status": "done"})
        await uow.commit()
    async with db.unit_of_work(firm.tenant_id) as uow:
        package = await handlers_mandate.package(uow, firm.tenant_id, found)
    assert newest.kind == "final" and newest.id != found.final_report_id
    assert package.report_status == "done"
