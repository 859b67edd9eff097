"""The Ufficio tributi's portal against the real platform: figures from the other services' events,
the drill-down to the debtors (counts equal to the figures), a debtor's file, downloads, roles and
the access log."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from services.contracts import (
    DisputeOpened,
    Event,
    PaymentsReceived,
    PlanCreated,
    PlanLapsed,
    PlanReamounted,
    PromiseMade,
)
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import domain_portal as dp
from services.reporting import handlers_portal
from services.reporting import repository as repo
from services.reporting.models import positions
from tests.conftest import service_client
from tests.reporting.helpers import deliver, fact, paid, registered
from tests.reporting.test_cases import to_cases
from tests.reporting.test_ledger import START, flow_payment, outcome, refunded, revoked
from tests.support import make_identity

NOW = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)  # Thursday: the current week starts on 9 March
FORMULA = '=HYPERLINK("http://x")'


def person(who: Identity, *roles: str) -> Identity:
    return make_identity(
        who.tenant_id, who.tenant_slug, roles=roles, user_id=f"u-{roles[0]}", name=who.tenant_name
    )


def portale(who: Identity, path: str = "") -> str:
    return f"/t/{who.tenant_slug}/reporting/portale{path}"


@contextmanager
def frozen(platform: Platform) -> Iterator[None]:
    platform.clocks["reporting"] = NOW
    try:
        yield
    finally:
        platform.clocks.pop("reporting", None)


async def campaign(platform: Platform, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Five positions of five debtors: A called twice (a promise, paid in full), B reached (a plan that
    lapsed, a payment partly refunded, a dispute), C called once (a payment revoked, another older),
    D in a plan (called once just after midnight in Rome, Sunday night in UTC), E cancelled."""
    a = fact(50_000, "IMU", 2021, debtor_name="ROSSI MARIO", fiscal_code="RSSMRA80A01H501U")
    b = fact(30_000, "TARI", 2022, debtor_name="BIANCHI ANNA", fiscal_code="BNCNNA70B41F205X")
    c = fact(12_345, "CDS", 2023, debtor_name=FORMULA, fiscal_code="VRDLGI70B02F205X")
    d = fact(20_000, "IMU", 2022, debtor_name="NERI LUCA", fiscal_code="NRELCU65C03L219Y")
    e = fact(9_999, "TARI", 2021, debtor_name="GIALLI SARA", fiscal_code="GLLSRA90D44L219Z")
    pa, pb, pc = flow_payment(a, 50_000), flow_payment(b, 10_000), flow_payment(c, 2_345)
    lapsed, running = str(uuid.uuid4()), str(uuid.uuid4())
    events: list[Event] = [
        registered(a, b, c, d, e),
        outcome(a.debtor_id, "non_risponde", 0),
        outcome(a.debtor_id, "promessa_pagamento", 60),
        PromiseMade(
            str(uuid.uuid4()), a.debtor_id, str(uuid.uuid4()), 45_000, "2026-03-20", "Olga", START.isoformat()
        ),
        outcome(b.debtor_id, "vuole_rateizzare", 5),
        outcome(c.debtor_id, "occupato", 10),
        outcome(d.debtor_id, "non_risponde", 6 * 1440 + 870),  # 8 March 23:30 UTC = 9 March 00:30 in Rome
        PaymentsReceived(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, payments=(pa, pb, pc)),
        revoked(pc),
        refunded(pb, 2_500),  # on 10 March
        PlanCreated(lapsed, b.debtor_id, (b.position_id,), "TARI", 20_000, 10, "2026-04-01", "Olga"),
        PlanReamounted(lapsed, b.debtor_id, b.position_id, 2_000, 18_000, 10),  # a correction, then the lapse
        PlanLapsed(lapsed, b.debtor_id, (b.position_id,), "TARI", 20_000, "2026-09-01"),
        PlanCreated(running, d.debtor_id, (d.position_id,), "IMU", 20_000, 5, "2026-04-01", "Olga"),
        paid(c, 1_000),  # paid on 14/03/2025: before the trend's weeks
    ]
    await deliver(platform, tenant_id, *events)
    await to_cases(
        platform,
        tenant_id,
        DisputeOpened(str(uuid.uuid4()), b.debtor_id, "Immobile venduto", "op-1", START.isoformat()),
    )
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:  # the office's sgravio
        await uow.execute(
            sa.update(positions)
            .where(positions.c.tenant_id == tenant_id, positions.c.position_id == uuid.UUID(e.position_id))
            .values(state="cancelled")
        )
        await uow.commit()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "pb": pb, "pc": pc}


EXPECTED = {  # debtors, positions, cents
    "assigned": (4, 4, 112_345),
    "worked": (4, 4, 112_345),
    "reached": (2, 2, 80_000),
    "promised": (1, 1, 50_000),
    "in_plan": (1, 1, 20_000),
    "collected": (3, 3, 58_500),  # 50,000 + 10,000 - 2,500 refunded + 1,000 (2,345 revoked)
    "residual": (3, 3, 53_845),
}


async def portal_of(platform: Platform, tenant_id: uuid.UUID) -> dp.Portal:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        return await handlers_portal.portal(uow, tenant_id, NOW.date())


async def access_log(platform: Platform, tenant_id: uuid.UUID) -> list[Any]:
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        return await repo.access.entries(uow, tenant_id)


@pytest.mark.asyncio
async def test_figures_follow_the_events(platform: Platform, tenant: Identity) -> None:
    await campaign(platform, tenant.tenant_id)
    portal = await portal_of(platform, tenant.tenant_id)
    assert {s.stage: (s.debtors, s.positions, s.cents) for s in portal.total.stages} == EXPECTED
    assert portal.promised_cents == 45_000
    types = {g.key: g for g in portal.by_type}
    assert sorted(types) == ["CDS", "IMU", "TARI"]
    assert types["IMU"].stage("assigned").cents == 70_000 and types["IMU"].stage("in_plan").positions == 1
    assert types["TARI"].stage("assigned").positions == 1  # the cancelled one left
    assert types["TARI"].stage("collected").cents == 7_500
    years = {g.key: g.stage("assigned").cents for g in portal.by_year}
    assert years == {"2021": 50_000, "2022": 50_000, "2023": 12_345}
    weeks = {w.start.isoformat(): (w.collected_cents, w.outcomes) for w in portal.weeks}
    assert len(weeks) == 12 and portal.weeks[-1].start.isoformat() == "2026-03-09"
    assert weeks["2026-03-02"] == (60_000, 4)  # flow payments of 4 March; the revoked one not
    assert weeks["2026-03-09"] == (-2_500, 1)  # the refund; the call of Sunday night UTC
    assert sum(c for c, _ in weeks.values()) == 57_500


@pytest.mark.asyncio
async def test_summary_api_keeps_its_keys_and_adds_the_portal(platform: Platform, tenant: Identity) -> None:
    await campaign(platform, tenant.tenant_id)
    with frozen(platform):
        async with service_client(platform, "reporting", tenant) as client:
            body = (await client.get("/api/v1/reporting/summary")).json()
    for key in (
        "assigned_cents",
        "collected_cents",
        "residual_cents",
        "positions",
        "by_revenue_type",
        "aggio_cents",
    ):
        assert key in body
    stages = body["portal"]["stages"]
    assert {k: (v["debtors"], v["positions"], v["cents"]) for k, v in stages.items()} == EXPECTED
    assert body["portal"]["promised_cents"] == 45_000
    assert body["portal"]["weeks"][-1] == {
        "week_start": "2026-03-09",
        "iso_week": "2026-W11",
        "collected_cents": -2_500,
        "outcomes": 1,
    }
    assert [y["year"] for y in body["portal"]["by_year"]] == [2021, 2022, 2023]


@pytest.mark.asyncio
async def test_portal_page_draws_charts_with_tables_and_links_to_debtors(
    platform: Platform, tenant: Identity
) -> None:
    await campaign(platform, tenant.tenant_id)
    viewer, operator = person(tenant, "comune_viewer"), person(tenant, "operator")
    with frozen(platform):
        async with service_client(platform, "reporting", viewer) as client:
            page = await client.get(portale(viewer))
            home = await client.get(f"/t/{viewer.tenant_slug}/reporting/")
        async with service_client(platform, "reporting", operator) as client:
            seen_by_operator = await client.get(portale(operator))
    assert page.status_code == 200
    assert page.text.count('role="img"') == 5 and page.text.count("<desc id=") == 5
    assert page.text.count("<caption") == 4 and 'scope="row"' in page.text
    # The two weekly charts under one heading each say in sight what they count.
    assert "Riscosso netto per settimana, in euro (colonne)" in page.text
    assert "Esiti di contatto registrati per settimana (linea)" in page.text
    assert "/reporting/portale/debitori?fase=reached" in page.text
    assert "/reporting/portale/debitori?entrata=IMU" in page.text
    assert "€ 1.123,45" in page.text  # assigned
    assert "<script" not in page.text.split("<main", 1)[-1]
    assert 'href="/t/' + viewer.tenant_slug + '/reporting/portale"' in home.text
    assert seen_by_operator.status_code == 200
    assert "€ 1.123,45" in seen_by_operator.text
    assert "portale/debitori" not in seen_by_operator.text  # figures only, no names
    assert await access_log(platform, tenant.tenant_id) == []  # figures are not personal data
    # The limitation: on 12 March 2026 nothing left runs out within a year (D's IMU 2022 does on
    # 1 January 2028, C's and B's later: each was paid in part).
    assert "Entro il 12/03/2027 non si prescrive alcun residuo da riscuotere." in page.text
    assert "residual-barred" not in page.text and "residual-barred" not in home.text


@pytest.mark.asyncio
async def test_the_portal_says_what_the_limitation_bars_next_and_links_its_debtors(
    platform: Platform, tenant: Identity
) -> None:
    known = await campaign(platform, tenant.tenant_id)
    f = fact(5_000, "CDS", 2023, debtor_name="VIOLA PIA", fiscal_code="VLIPIA80A41H501R")
    # A 2020 fine the Comune notified on 10 June 2024: its five years run from that day, not its year.
    g = fact(7_000, "CDS", 2020, debtor_name="ROSA RITA", fiscal_code="RSORTI80A41H501C", act_on="2024-06-10")
    await deliver(platform, tenant.tenant_id, registered(f, g))
    viewer, operator = person(tenant, "comune_viewer"), person(tenant, "operator")
    platform.clocks["reporting"] = datetime(2028, 12, 1, 10, 0, tzinfo=UTC)
    try:
        async with service_client(platform, "reporting", viewer) as client:
            page = (await client.get(portale(viewer))).text
            listed = (await client.get(portale(viewer, "/debitori?fase=barring"))).text
            gone = (await client.get(portale(viewer, "/debitori?fase=barred"))).text
            g_file = (await client.get(portale(viewer, f"/debitori/{g.debtor_id}"))).text
            d_file = (await client.get(portale(viewer, f"/debitori/{known['d'].debtor_id}"))).text
            home = (await client.get(f"/t/{viewer.tenant_slug}/reporting/")).text
            api = (await client.get("/api/v1/reporting/summary")).json()
        async with service_client(platform, "reporting", operator) as client:
            figures_only = (await client.get(portale(operator))).text
    finally:
        platform.clocks.pop("reporting", None)
    # On 1 December 2028: D's IMU 2022 (€ 200.00, a plan but no payment) is barred since 1 January
    # 2028. Within the year: F's CDS 2023 from 1 January 2029, G's from 11 June 2029. Not C's CDS
    # 2023, paid on 14 March 2025 (barred from 15 March 2030), nor B's TARI 2022, paid in part on
    # 4 March 2026 (the term runs again from then, c.c. art. 2944).
    section = page.split('data-testid="limitation"', 1)[1].split("</section>", 1)[0]
    assert (
        "Entro il <strong>01/12/2029</strong> si prescrivono <strong>€ 120,00</strong> di residuo su 2 posizioni"
        " di 2 debitori" in section
    )
    assert "la prima dal <strong>01/01/2029</strong>" in section
    months = section.split('data-testid="limitation-months"', 1)[1]
    assert re.search(r"gennaio 2029</th><td>01/01/2029</td><td[^>]*>1</td><td[^>]*>€ 50,00<", months)
    assert re.search(r"giugno 2029</th><td>11/06/2029</td><td[^>]*>1</td><td[^>]*>€ 70,00<", months)
    assert "marzo 2030" not in months
    assert "/reporting/portale/debitori?fase=barring" in section
    assert (
        "Già prescritti, salvo atti interruttivi notificati dall'ente e non registrati qui: € 200,00 su 1 posizione"
        in section
    )
    assert "/reporting/portale/debitori?fase=barred" in section
    # The lists behind the figures: F and G, not C; D alone barred.
    assert "<strong>2</strong> debitori" in listed and "VIOLA PIA" in listed and "ROSA RITA" in listed
    assert "VRDLGI70B02F205X" not in listed and "NERI LUCA" not in listed
    assert "<strong>1</strong> debitore" in gone and "NERI LUCA" in gone and "ROSA RITA" not in gone
    assert "portale/debitori" not in figures_only and "€ 120,00" in figures_only
    # Each debtor's page says when each position runs out, from the act's day it shows.
    g_row = g_file.split('data-testid="debtor-positions"', 1)[1].split("</table>", 1)[0]
    assert "del 10/06/2024" in g_row and "<td>11/06/2029</td>" in g_row
    d_row = d_file.split('data-testid="debtor-positions"', 1)[1].split("</table>", 1)[0]
    assert "<td>01/01/2028 <strong>(prescritta)</strong></td>" in d_row
    # The residual says how much of it is barred, on the dashboard, the portal and in the API.
    assert 'data-testid="residual-barred">di cui € 200,00 già prescritti (1 posizione' in home
    residual_card = page.split('data-testid="stage-residual"', 1)[1].split("</div>", 1)[0]
    assert 'data-testid="residual-barred">di cui € 200,00 già prescritti' in residual_card
    assert api["time_barred_cents"] == 20_000 and api["residual_cents"] >= 20_000


@pytest.mark.asyncio
async def test_the_drill_down_finds_as_many_debtors_as_the_figure(
    platform: Platform, tenant: Identity
) -> None:
    await campaign(platform, tenant.tenant_id)
    viewer = person(tenant, "comune_viewer")
    async with service_client(platform, "reporting", viewer) as client:
        for stage, (debtors, _, _) in EXPECTED.items():
            response = await client.get(portale(viewer, f"/debitori?fase={stage}"))
            assert response.status_code == 200
            noun = "debitore" if debtors == 1 else "debitori"
            assert f"<strong>{debtors}</strong> {noun}" in response.text, stage
        imu = await client.get(portale(viewer, "/debitori?entrata=IMU&fase=residual"))
        year = await client.get(portale(viewer, "/debitori?anno=2021"))
    assert "NERI LUCA" in imu.text and "ROSSI MARIO" not in imu.text  # A paid in full
    assert "ROSSI MARIO" in year.text and "GIALLI SARA" not in year.text  # E cancelled
    assert '<option value="CDS">CDS</option>' in year.text and '<option value="2021" selected>' in year.text
    logged = await access_log(platform, tenant.tenant_id)
    assert len(logged) == len(EXPECTED) + 2
    # A debtor opened from a filtered list leads back to that list, not to the whole one.
    opened = re.search(r'href="([^"]+/debitori/[0-9a-f-]{36}\?[^"]*)"', imu.text)
    assert opened is not None and opened.group(1).endswith("?entrata=IMU&amp;fase=residual"), imu.text
    async with service_client(platform, "reporting", viewer) as client:
        shown = await client.get(html.unescape(opened.group(1)))
        plain = await client.get(html.unescape(opened.group(1)).split("?")[0] + "?fase=tutto")
    back = re.search(r'<a href="([^"]+)" data-testid="back-to-list">([^<]+)</a>', shown.text)
    assert back is not None and back.group(1).endswith("/debitori?entrata=IMU&amp;fase=residual")
    assert html.unescape(back.group(2)) == "Torna all'elenco: Con residuo da riscuotere, entrata IMU"
    # A query that is not a filter: the page opens, its way back is the whole list.
    assert plain.status_code == 200 and 'debitori" data-testid="back-to-list">Torna all' in plain.text
    assert {e.action for e in logged} == {"view_debtor_list"} and logged[0].user_id == viewer.user_id
    assert logged[-1].detail == "anno=2021"


@pytest.mark.asyncio
async def test_the_office_finds_the_taxpayer_who_calls_by_fiscal_code_or_name(
    platform: Platform, tenant: Identity
) -> None:
    await campaign(platform, tenant.tenant_id)
    viewer = person(tenant, "comune_admin")
    async with service_client(platform, "reporting", viewer) as client:
        by_code = (await client.get(portale(viewer, "/debitori?cerca=rssmra80"))).text
        by_name = (await client.get(portale(viewer, "/debitori?cerca=neri  luca"))).text
        name_first = (await client.get(portale(viewer, "/debitori?cerca=Luca Neri"))).text
        with_stage = (await client.get(portale(viewer, "/debitori?cerca=neri&fase=collected"))).text
        wildcard = (await client.get(portale(viewer, "/debitori?cerca=%25%25"))).text
        short = await client.get(portale(viewer, "/debitori?cerca=x"))
    assert "ROSSI MARIO" in by_code and "<strong>1</strong> debitore" in by_code
    assert html.unescape("Tutti i debitori affidati, che corrispondono a «rssmra80»") in html.unescape(
        by_code
    )
    assert "NERI LUCA" in by_name and "ROSSI MARIO" not in by_name  # spaces as one, any case
    assert "NERI LUCA" in name_first and "<strong>1</strong> debitore" in name_first  # any order
    assert 'value="neri luca"' in by_name  # the field keeps what was searched
    assert "<strong>0</strong> debitori" in with_stage  # the search within the other filters
    assert "<strong>0</strong> debitori" in wildcard  # «%» is a character, not «anything»
    assert short.status_code == 400 and "almeno 2" in short.text
    # The refusal is said at the field, on the list's own page, with what was typed and no list.
    assert 'id="cerca-errore"' in short.text and 'aria-invalid="true"' in short.text
    assert 'value="x"' in short.text and 'name="fase"' in short.text
    assert "debtor-total" not in short.text and "ROSSI MARIO" not in short.text
    # Each list seen is recorded with its search.
    assert (await access_log(platform, tenant.tenant_id))[0].detail == "cerca=rssmra80"


@pytest.mark.asyncio
async def test_pages_are_bounded_and_bad_filters_refused_in_italian(
    platform: Platform, tenant: Identity
) -> None:
    viewer = person(tenant, "comune_viewer")
    async with service_client(platform, "reporting", viewer) as client:
        huge = await client.get(portale(viewer, "/debitori?page=99999999999999999999"))
        zero = await client.get(portale(viewer, "/debitori?page=0"), headers={"HX-Request": "true"})
        stage = await client.get(portale(viewer, "/debitori?fase=tutto"))
        year = await client.get(portale(viewer, "/debitori.csv?anno=21"))
        beyond = await client.get(portale(viewer, "/debitori?page=500"))
        nul = await client.get(portale(viewer, "/debitori?cerca=ab%00cd"))
    assert huge.status_code == 400 and "numero di pagina" in huge.text
    assert zero.status_code == 400 and 'data-field="page"' in zero.text
    assert stage.status_code == 400 and "fase" in stage.text
    assert year.status_code == 400 and "anno" in year.text.lower()
    assert nul.status_code == 400 and "caratteri non ammessi" in nul.text  # not a database error
    # Past the last page (here the only one, empty): the list's first page.
    assert beyond.status_code == 303 and beyond.headers["location"].endswith("/reporting/portale/debitori")


@pytest.mark.asyncio
async def test_a_debtors_file_shows_everything_and_every_view_is_recorded(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    known = await campaign(platform, tenant.tenant_id)
    b, pb = known["b"], known["pb"]
    viewer = person(tenant, "comune_viewer")
    async with service_client(platform, "reporting", viewer) as client:
        response = await client.get(portale(viewer, f"/debitori/{b.debtor_id}"))
        unknown = await client.get(portale(viewer, f"/debitori/{uuid.uuid4()}"))
        malformed = await client.get(portale(viewer, "/debitori/non-un-id"))
    text = response.text
    assert response.status_code == 200
    assert "BIANCHI ANNA" in text and "BNCNNA70B41F205X" in text
    assert pb.iuv in text and pb.flow_id in text and "04/03/2026" in text
    assert "Rimborsati € 25,00" in text
    assert "€ 300,00" in text and "€ 75,00" in text and "€ 225,00" in text  # assigned, collected, residual
    assert "decaduto il 01/09/2026" in text
    assert (
        "TARI: € 200,00 in 10 rate dal 01/04/2026, rate ricalcolate su € 180,00 dopo le decisioni dell'Ufficio tributi"
        in text
    )
    assert "Chiede di rateizzare" in text
    assert "Contestazione" in text and "Immobile venduto" in text and "In attesa di risposta" in text
    assert unknown.status_code == 404 and malformed.status_code == 404
    # The Comune's administrator may refund from here (the payments position page is the operators').
    refunds = f"/payments/positions/{pb.position_id}/rimborsi"
    assert refunds not in text
    admin = person(tenant, "comune_admin")
    async with service_client(platform, "reporting", admin) as client:
        assert refunds in (await client.get(portale(admin, f"/debitori/{b.debtor_id}"))).text
    logged = [e for e in await access_log(platform, tenant.tenant_id) if e.user_id == viewer.user_id]
    assert [(e.action, str(e.subject_id), e.user_id) for e in logged] == [
        ("view_debtor", b.debtor_id, viewer.user_id)
    ]
    # Another Comune's people never reach it: their path names their own Comune, where it is unknown.
    stranger = person(other_tenant, "comune_admin")
    async with service_client(platform, "reporting", stranger) as client:
        assert (await client.get(portale(stranger, f"/debitori/{b.debtor_id}"))).status_code == 404
        assert (await client.get(portale(viewer, f"/debitori/{b.debtor_id}"))).status_code == 404
        listed = await client.get(portale(stranger, "/debitori"))
    assert listed.status_code == 200 and "<strong>0</strong> debitori" in listed.text
    assert len(await access_log(platform, tenant.tenant_id)) == 2  # the viewer's and the admin's


@pytest.mark.asyncio
async def test_operators_see_figures_but_no_names(platform: Platform, tenant: Identity) -> None:
    known = await campaign(platform, tenant.tenant_id)
    operator = person(tenant, "operator")
    async with service_client(platform, "reporting", operator) as client:
        assert (await client.get(portale(operator, "/debitori"))).status_code == 403
        assert (await client.get(portale(operator, f"/debitori/{known['a'].debtor_id}"))).status_code == 403
        assert (await client.get(portale(operator, "/debitori.csv"))).status_code == 403
        assert (await client.get(portale(operator, "/debitori.xlsx"))).status_code == 403
        assert (await client.get(portale(operator, "/fasi.csv"))).status_code == 200
    for role in ("comune_admin", "supervisor", "platform_admin"):
        async with service_client(platform, "reporting", person(tenant, role)) as client:
            assert (await client.get(portale(tenant, "/debitori"))).status_code == 200, role
    assert await access_log(platform, tenant.tenant_id) != []


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


@pytest.mark.asyncio
async def test_downloads_in_csv_and_xlsx_neutralised_and_recorded(
    platform: Platform, tenant: Identity
) -> None:
    await campaign(platform, tenant.tenant_id)
    viewer = person(tenant, "comune_viewer")
    with frozen(platform):
        async with service_client(platform, "reporting", viewer) as client:
            debtors_csv = await client.get(portale(viewer, "/debitori.csv?fase=assigned"))
            debtors_xlsx = await client.get(portale(viewer, "/debitori.xlsx?entrata=CDS"))
            stages_csv = await client.get(portale(viewer, "/fasi.csv"))
            types_xlsx = await client.get(portale(viewer, "/entrate.xlsx"))
            weeks_csv = await client.get(portale(viewer, "/settimane.csv"))
            missing = await client.get(portale(viewer, "/nessuna.csv"))
    assert debtors_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="portale-debitori-20260312.csv"' in debtors_csv.headers["content-disposition"]
    rows = read_csv(debtors_csv.content)
    assert rows[0][:6] == ["Codice fiscale", "Nominativo", "Posizioni", "Carico", "Riscosso", "Residuo"]
    assert len(rows) == 1 + 4
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["VRDLGI70B02F205X"][1] == "'" + FORMULA
    assert by_code["BNCNNA70B41F205X"][3:6] == ["300,00", "75,00", "225,00"]
    sheet = load_workbook(io.BytesIO(debtors_xlsx.content)).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    assert len(cells) == 2 and cells[1][1] == "'" + FORMULA
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    stage_rows = read_csv(stages_csv.content)
    assert stage_rows[1][:4] == ["Affidati", "4", "4", "1.123,45"]
    assert load_workbook(io.BytesIO(types_xlsx.content)).active.max_row == 4  # type: ignore[union-attr]
    assert read_csv(weeks_csv.content)[-1][2] == "-25,00"
    assert missing.status_code == 404
    logged = [(e.action, e.detail) for e in await access_log(platform, tenant.tenant_id)]
    assert logged == [
        ("download_debtor_list_csv", "fase=assigned; righe=4"),
        ("download_debtor_list_xlsx", "entrata=CDS; righe=1"),
    ]


@pytest.mark.asyncio
async def test_pagination_walks_every_debtor_once(platform: Platform, tenant: Identity) -> None:
    facts = [fact(100 + i, "TARI", 2024, debtor_name=f"DEBITORE {i:03d}") for i in range(dp.PAGE_SIZE + 3)]
    await deliver(platform, tenant.tenant_id, registered(*facts))
    viewer = person(tenant, "comune_viewer")
    async with service_client(platform, "reporting", viewer) as client:
        first = await client.get(portale(viewer, "/debitori?entrata=TARI"))
        second = await client.get(portale(viewer, "/debitori?entrata=TARI&page=2"))
        past = await client.get(portale(viewer, "/debitori?entrata=TARI&page=9"))
    assert f"<strong>{dp.PAGE_SIZE + 3}</strong> debitori" in first.text
    assert "Pagina 1 di 2" in first.text and "entrata=TARI&amp;page=2" in first.text
    assert "DEBITORE 000" in first.text and "DEBITORE 025" not in first.text
    assert "DEBITORE 025" in second.text and "DEBITORE 027" in second.text and "dal 26 al 28" in second.text
    assert "dall&#39;1 al 25" in first.text or "dall'1 al 25" in first.text
    # A page past the end (a link kept while the list shrank) goes to the last one.
    assert past.status_code == 303 and past.headers["location"].endswith("/debitori?entrata=TARI&page=2")
