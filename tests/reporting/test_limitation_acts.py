"""The Ufficio tributi records the Comune's acts that interrupted the limitation (c.c. art. 2943) on
the debtor's page: each one served while the term ran starts it again from its day, for every
limitation figure of reporting (the page, the portal, the relazione's rows) and, by
`reporting.limitation_interrupted`, for payments and contact. Refused in Italian at its field when
it could not interrupt anything; withdrawn when entered by mistake."""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from services.contracts import LimitationInterrupted
from services.kernel.errors import Conflict, DomainError
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting.domain_limitation_acts import check_interrupts, read_act
from tests.conftest import service_client
from tests.reporting.helpers import deliver, fact, registered
from tests.reporting.test_digest import text_of
from tests.reporting.test_portal import person, portale

TODAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


class _Position:
    def __init__(self, year: int, act_on: date | None, state: str = "open", collected: int = 0) -> None:
        self.act_number, self.year, self.act_on, self.state = "A-1", year, act_on, state
        self.amount_cents, self.collected_cents = 10_000, collected


def test_an_act_is_read_and_refused_at_its_field() -> None:
    pid = str(uuid.uuid4())
    act = read_act({"kind": "sollecito", "served_on": "2024-05-10", "reference": " prot.  12 "}, [pid], TODAY)
    assert (act.kind, act.served_on, act.reference, act.position_ids) == (
        "sollecito",
        date(2024, 5, 10),
        "prot. 12",
        (uuid.UUID(pid),),
    )
    # As typed where a browser offers no date picker.
    assert read_act({"kind": "sollecito", "served_on": "10/05/2024"}, [pid], TODAY).served_on == date(
        2024, 5, 10
    )
    cases = [
        ({"served_on": "2024-05-10"}, [pid], "kind", "Scegli il tipo di atto notificato."),
        ({"kind": "sollecito"}, [pid], "served_on", "Indica il giorno in cui l'atto è stato notificato."),
        ({"kind": "sollecito", "served_on": "10/05/24"}, [pid], "served_on", "non è una data valida"),
        ({"kind": "sollecito", "served_on": "31/02/2024"}, [pid], "served_on", "non è una data valida"),
        ({"kind": "sollecito", "served_on": "2026-12-04"}, [pid], "served_on", "dopo oggi (03/12/2026)"),
        ({"kind": "sollecito", "served_on": "2024-05-10", "reference": "x" * 81}, [pid], "reference", "80"),
        ({"kind": "sollecito", "served_on": "2024-05-10"}, [], "position_id", "almeno una posizione"),
        ({"kind": "sollecito", "served_on": "2024-05-10"}, ["x"], "position_id", "Posizione non valida."),
    ]
    for form, ids, field, words in cases:
        with pytest.raises(DomainError) as refused:
            read_act(form, ids, TODAY)
        assert refused.value.field == field and words in refused.value.message, form


def test_an_act_interrupts_only_a_position_owed_and_still_running() -> None:
    running = _Position(2020, date(2022, 3, 1))
    check_interrupts(running, date(2027, 3, 2), date(2022, 3, 1))  # the act's own day is fine
    with pytest.raises(DomainError, match=r"viene prima dell'atto \(01/03/2022\)"):
        check_interrupts(running, date(2027, 3, 2), date(2022, 2, 28))
    with pytest.raises(DomainError, match="viene prima dell'anno di riferimento 2020"):
        check_interrupts(_Position(2020, None), date(2026, 1, 1), date(2019, 12, 31))
    with pytest.raises(Conflict, match="era già prescritta dal 01/01/2026"):
        check_interrupts(_Position(2020, None), date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(Conflict, match="annullata"):
        check_interrupts(_Position(2020, None, state="cancelled"), date(2026, 1, 1), date(2024, 1, 1))
    with pytest.raises(Conflict, match="saldata"):
        check_interrupts(_Position(2020, None, collected=10_000), date(2026, 1, 1), date(2024, 1, 1))


async def _sent(platform: Platform, tenant_id: uuid.UUID) -> list[dict[str, object]]:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        rows = await uow.execute(
            sa.text("SELECT body FROM reporting.outbox WHERE routing_key = :k ORDER BY id"),
            {"k": LimitationInterrupted.routing_key()},
        )
        return [json.loads(bytes(r.body))["payload"] for r in rows]


def _row(page: str, act_number: str) -> str:
    table = page.split('data-testid="debtor-positions"', 1)[1].split("</table>", 1)[0]
    return next(tr for tr in table.split("<tr>") if act_number in tr)


@pytest.mark.asyncio
async def test_the_office_records_an_act_and_takes_it_back(platform: Platform, tenant: Identity) -> None:
    debtor = str(uuid.uuid4())
    # A 2020 fine notified on 1 March 2022 (runs until 1 March 2027) and a 2020 TARI without an act
    # day (time-barred since 1 January 2026); a 2019 TARI of another debtor, barred too.
    g = fact(
        7_000, "CDS", 2020, debtor_id=debtor, debtor_name="ROSA RITA", act_on="2022-03-01", act_number="G-1"
    )
    h = fact(5_000, "TARI", 2020, debtor_id=debtor, debtor_name="ROSA RITA", act_number="H-1")
    other = fact(4_000, "TARI", 2019, debtor_name="NERI LUCA", fiscal_code="NRELCU65C03L219Y")
    await deliver(platform, tenant.tenant_id, registered(g, h, other))
    admin, reader = person(tenant, "comune_admin"), person(tenant, "comune_viewer")
    page_url = portale(admin, f"/debitori/{debtor}")
    form = {
        "kind": "sollecito",
        "served_on": "2024-05-10",
        "reference": "prot. 4512",
        "position_id": [g.position_id, h.position_id],
    }
    platform.clocks["reporting"] = NOW
    try:
        async with service_client(platform, "reporting", reader) as client:
            seen_by_reader = (await client.get(page_url)).text
            forbidden = await client.post(f"{page_url}/atti", data=form)
        async with service_client(platform, "reporting", admin) as client:
            before = (await client.get(portale(admin))).text
            future = await client.post(f"{page_url}/atti", data={**form, "served_on": "2026-12-04"})
            early = await client.post(f"{page_url}/atti", data={**form, "served_on": "2021-01-01"})
            made = await client.post(f"{page_url}/atti?fase=barred", data=form)  # opened from that list
            twice = await client.post(f"{page_url}/atti", data=form)
            shown = (await client.get(made.headers["location"])).text
            after = (await client.get(portale(admin))).text
            dossier = text_of((await client.get(f"{page_url}/fascicolo.pdf")).content)
            act_id = (await _sent(platform, tenant.tenant_id))[0]["act_id"]
            # Served when H ran again thanks to the first act (it had run out on 1 January 2026).
            later = {"kind": "ingiunzione", "served_on": "2026-06-01", "position_id": h.position_id}
            second = await client.post(f"{page_url}/atti", data=later)
            taken_back = await client.post(f"{page_url}/atti/{act_id}/annulla")
            again = await client.post(f"{page_url}/atti/{act_id}/annulla")
            back_to = (await client.get(page_url)).text
            late = await client.post(
                portale(admin, f"/debitori/{other.debtor_id}/atti"),
                data={"kind": "intimazione", "served_on": "2025-06-01", "position_id": other.position_id},
            )
    finally:
        platform.clocks.pop("reporting", None)
    # The reader sees the section but neither the form nor the withdrawal; may not post.
    assert (
        'data-testid="limitation-acts"' in seen_by_reader and 'data-testid="act-form"' not in seen_by_reader
    )
    assert forbidden.status_code == 403
    # Refused at the field, with what was typed, nothing kept.
    assert future.status_code == 400 and 'id="served_on-errore"' in future.text
    assert "dopo oggi (03/12/2026)" in future.text and 'value="2026-12-04"' in future.text
    assert 'value="prot. 4512"' in future.text
    assert re.search(rf'value="{g.position_id}" id="act-pos-\d" checked', future.text)
    assert early.status_code == 400 and "viene prima dell&#39;atto (01/03/2022)" in early.text
    # Recorded: both positions run five years from the notice's day, H no longer counted as barred.
    assert made.status_code == 303 and made.headers["location"].endswith("?fase=barred&atto=registrato#atti")
    assert (
        'data-testid="back-to-list">Torna all\'elenco: ' in shown and "fase=barred" in shown
    )  # the way back kept
    assert (
        twice.status_code == 409
        and "Lo stesso atto risulta già registrato per questa posizione" in twice.text
    )
    assert 'data-testid="act-note"' in shown and "Sollecito di pagamento" in shown and "prot. 4512" in shown
    assert "11/05/2029" in _row(shown, "G-1") and "11/05/2029" in _row(shown, "H-1")
    assert "(prescritta)" not in _row(shown, "H-1")
    assert "€ 40,00 su 1 posizione" in html.unescape(after.split('data-testid="limitation"', 1)[1])
    listed = " ".join(dossier.split())
    assert (
        "Atti interruttivi della prescrizione" in listed and "Sollecito di pagamento (prot. 4512)" in listed
    )
    assert "€ 90,00 su 2 posizioni" in html.unescape(before.split('data-testid="limitation"', 1)[1])
    # Taken back: H is time-barred again; a second withdrawal says when and by whom.
    assert taken_back.status_code == 303 and taken_back.headers["location"].endswith("?atto=annullato#atti")
    assert again.status_code == 409 and "è già stato annullato il 03/12/2026" in again.text
    assert "01/01/2026 <strong>(prescritta)</strong>" in _row(back_to, "H-1") and "Annullato" in back_to
    # The injunction was served when, the first act taken back, H had already run out: it says so.
    assert second.status_code == 303
    assert 'data-testid="act-too-late">Non interrompe</strong> la prescrizione di H-1' in back_to
    # An act served when the credit was already barred (1 January 2025) interrupts nothing.
    assert late.status_code == 409 and "era già prescritta dal 01/01/2025" in late.text
    assert 'id="served_on-errore"' in late.text and "autofocus" in late.text  # at its field
    sent = await _sent(platform, tenant.tenant_id)
    assert [(p["withdrawn"], sorted(p["position_ids"]), p["served_on"], p["kind"]) for p in sent] == [
        (False, sorted([g.position_id, h.position_id]), "2024-05-10", "sollecito"),
        (False, [h.position_id], "2026-06-01", "ingiunzione"),
        (True, sorted([g.position_id, h.position_id]), "2024-05-10", "sollecito"),
    ]
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        logged = await uow.execute(sa.text("SELECT action, detail FROM reporting.access_log ORDER BY id"))
        actions = [(r.action, r.detail) for r in logged if "limitation" in r.action]
    assert actions == [
        ("record_limitation_act", "Sollecito di pagamento notificato il 10/05/2024 (prot. 4512)"),
        ("record_limitation_act", "Ingiunzione fiscale (R.D. 639/1910) notificata il 01/06/2026"),
        ("withdraw_limitation_act", "Sollecito di pagamento notificato il 10/05/2024 (prot. 4512)"),
    ]
