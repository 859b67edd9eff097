"""The Comune's register of accesses to personal data (services/kernel/web_access.py): each service
lists who saw what, with their name, newest first and a page at a time, to the Comune's and the
firm's administrators only; another Comune's entries never show; reading it is recorded."""

from __future__ import annotations

import uuid

import pytest

from services.kernel.identity import Identity
from services.kernel.web_access import PAGE_SIZE, action_label, subject_link
from services.payments import repository
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, seed
from tests.support import make_identity


def test_each_action_is_said_in_italian_with_its_format() -> None:
    assert action_label("view_card") == "Scheda del contribuente"
    assert action_label("download_debtor_list_xlsx") == "Elenco dei debitori scaricato (Excel)"
    assert action_label("download_errors_csv") == "Righe da correggere di un caricamento (CSV)"
    assert action_label("download_rendiconto_pdf") == "Rendiconto dell'aggio (PDF)"
    assert action_label("something_new") == "Something new"  # never an empty cell


def test_a_debtor_a_position_or_a_file_seen_is_linked() -> None:
    some = uuid.uuid4()
    assert subject_link("contact", "view_card", some) == (
        f"reporting/portale/debitori/{some}",
        "fascicolo del debitore",
    )
    assert subject_link("payments", "download_evidence", some) == (f"payments/positions/{some}", "posizione")
    assert subject_link("contact", "download_evidence", some) == (
        f"reporting/portale/debitori/{some}",
        "fascicolo del debitore",
    )
    assert subject_link("ingest", "download_errors_csv", some) == (f"ingest/batches/{some}", "caricamento")
    assert subject_link("reporting", "download_relazione", some) is None  # a report: no page of its own
    assert subject_link("contact", "view_card", None) is None


@pytest.mark.asyncio
async def test_the_register_names_who_saw_what_newest_first_a_page_at_a_time(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    mine, theirs = tenant, other_tenant
    f = fact(10_000)
    await seed(platform, mine.tenant_id, f)
    operator = make_identity(mine.tenant_id, mine.tenant_slug, roles=("operator",), user_id="op-rossi")
    admin = make_identity(mine.tenant_id, mine.tenant_slug, roles=("comune_admin",), user_id="adm-1")
    async with service_client(platform, "payments", operator) as client:
        seen = await client.get(f"/t/{mine.tenant_slug}/payments/positions/{f.position_id}")
        refused = await client.get(f"/t/{mine.tenant_slug}/payments/accessi")
    assert seen.status_code == 200 and refused.status_code == 403
    # Earlier entries: enough for a second page, and one of another Comune.
    async with platform.databases["payments"].unit_of_work(mine.tenant_id) as uow:
        for _ in range(PAGE_SIZE + 5):
            await repository.access.record(uow, mine.tenant_id, "op-old", "view_refunds", uuid.uuid4())
        await uow.commit()
    async with platform.databases["payments"].unit_of_work(theirs.tenant_id) as uow:
        await repository.access.record(uow, theirs.tenant_id, "op-foreign", "view_position", uuid.uuid4())
        await uow.commit()

    async with service_client(platform, "payments", admin) as client:
        first = await client.get(f"/t/{mine.tenant_slug}/payments/accessi")
        older = first.text.split("accessi?prima=", 1)[1].split('"', 1)[0]
        second = await client.get(f"/t/{mine.tenant_slug}/payments/accessi?prima={older}")
        bad = await client.get(f"/t/{mine.tenant_slug}/payments/accessi?prima=x")
    assert first.status_code == 200 and second.status_code == 200 and bad.status_code == 400
    table = first.text.split('data-testid="access-log"', 1)[1]
    assert table.count("<tr><td") == PAGE_SIZE
    # The newest first: the operator's view (by name) came after the old entries.
    assert "Rimborsi di una posizione" in table and "op-foreign" not in table
    rest = second.text.split('data-testid="access-log"', 1)[1]
    assert "Utente di prova" in rest and "Posizione" in rest  # the operator's view, by name
    # The position seen is a link to its page (the administrator opens it).
    # The position seen is a link to its page (the administrator opens it), named by act and debtor;
    # one no longer there keeps its identifier.
    link = f'href="/t/{mine.tenant_slug}/payments/positions/{f.position_id}">posizione'
    assert f'{link}<span class="d-block small">{f.act_number} · {f.debtor_name}</span></a>' in rest
    assert '</a> <code class="small d-block">' in table  # the old entries' positions are not here
    assert rest.count("<tr><td") == 6 and "op-foreign" not in rest
    # Reading the register is recorded too, by name.
    async with platform.databases["payments"].unit_of_work(mine.tenant_id) as uow:
        rows = await repository.access.recent(uow, mine.tenant_id, 3)
    assert [(r.action, r.user_id, r.user_name) for r in rows[:2]] == [
        ("view_access_log", "adm-1", "Utente di prova"),
        ("view_access_log", "adm-1", "Utente di prova"),
    ]
