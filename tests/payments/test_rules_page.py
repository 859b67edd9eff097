"""The installment rules page of the Comune's admin: the rules in force and their versions per revenue
type; a new version saved from a date, bands typed as rows; a c.797-breaking set refused in Italian."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.payments.domain_plans import DEFAULT_BANDS, Band
from services.payments.web_rules import band_rows, read_band_rows
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import scalar
from tests.support import make_identity

TODAY = datetime.now(ZoneInfo("Europe/Rome")).date()


def admin(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("comune_admin",), user_id="admin-2")


def url(who: Identity) -> str:
    return f"/t/{who.tenant_slug}/payments/rules"


def rows(*bands: tuple[str, str, str, str]) -> dict[str, list[str]]:
    """Form fields of band rows ("from", "to", "min", "max"), with two blank rows after them."""
    padded = [*bands, ("", "", "", ""), ("", "", "", "")]
    return {name: [b[i] for b in padded] for i, name in enumerate(("from", "to", "min", "max"))}


REGULATION = rows(("0", "200,00", "1", "1"), ("200,01", "1.000,00", "2", "6"), ("1.000,01", "", "36", "60"))


def form(**fields: Any) -> dict[str, Any]:
    base = {"revenue_type": "IMU", "valid_from": TODAY.isoformat(), "min_installment": "50,00"}
    return {**base, "interest_rate": "1,5", **REGULATION, **fields}


async def versions(platform: Platform, who: Identity) -> object:
    return await scalar(
        platform,
        who.tenant_id,
        "SELECT count(*) FROM payments.plan_rules WHERE tenant_id = :t",
        t=who.tenant_id,
    )


def test_rows_round_trip_and_must_follow_each_other() -> None:
    shown = band_rows(DEFAULT_BANDS)
    assert [(r["from"], r["to"]) for r in shown[:2]] == [(0, 10_000), (10_001, 50_000)]
    typed = [
        {"from": "0", "to": "100,00", "min": "1", "max": "1"},
        {"from": "100,01", "to": "", "min": "2", "max": "72"},
    ]
    assert read_band_rows(typed) == (Band(10_000, 1, 1), Band(None, 2, 72))
    typed[1]["from"] = "150,00"
    with pytest.raises(DomainError, match="Fascia 2: deve partire da € 100,01"):
        read_band_rows(typed)
    refusals = {
        "due": "Fascia 1: il numero minimo di rate va da 1 a 72 («due»).",
        "": "Fascia 1: indica il numero minimo di rate.",
        "0": "Fascia 1: il numero minimo di rate va da 1 a 72 («0»).",
    }
    for typed_min, message in refusals.items():
        with pytest.raises(DomainError) as refused:
            read_band_rows([{"from": "", "to": "", "min": typed_min, "max": "4"}])
        assert str(refused.value) == message
    huge = [
        {"from": "0", "to": "100,00", "min": "1", "max": "1"},
        {"from": "100,01", "to": "", "min": "2", "max": "99999999999999999"},
    ]
    with pytest.raises(
        DomainError, match=r"Fascia 2: il numero massimo di rate va da 1 a 72 \(«99999999999999999»\)"
    ):
        read_band_rows(huge)
    with pytest.raises(DomainError, match=r"Fascia 3: il minimo di rate \(12\) supera il massimo \(6\)"):
        read_band_rows(
            [
                *typed[:1],
                {**typed[1], "from": "100,01", "to": "200,00"},
                {"from": "200,01", "to": "", "min": "12", "max": "6"},
            ]
        )


@pytest.mark.asyncio
async def test_the_page_shows_the_rules_in_force_and_saves_a_new_version(
    platform: Platform, tenant: Identity
) -> None:
    later = TODAY + timedelta(days=40)
    async with service_client(platform, "payments", admin(tenant)) as http:
        first = await http.get(url(tenant))
        assert first.status_code == 200
        assert (
            "fasce di legge" in first.text and "202-bis" in first.text and 'name="csrf_token"' in first.text
        )
        saved = await http.post(url(tenant), data=form())
        assert saved.status_code == 303 and saved.headers["location"].endswith("/payments/rules?salvate=1")
        future = form(valid_from=later.isoformat(), interest_rate="", min_installment="")
        assert (await http.post(url(tenant), data=future)).status_code == 303
        page = await http.get(url(tenant), params={"salvate": "1"})
        api_view = await http.get("/api/v1/payments/rules")
    assert "Regole salvate." in page.text
    imu = page.text.split('data-testid="rules-IMU"')[1].split("</section>")[0]
    assert f"regolamento del Comune dal {TODAY.strftime('%d/%m/%Y')}" in imu
    assert "1,5% annuo" in imu and "€ 50,00" in imu and "da 36 a 60" in imu
    assert f"{later.strftime('%d/%m/%Y')} (futura)" in imu
    history = imu.split('data-testid="history-IMU"')[1]
    assert "€ 0,00–€ 200,00: nessuna rateizzazione; € 200,01–€ 1.000,00: da 2 a 6 rate" in history
    assert f"<td>{admin(tenant).display_name}</td>" in history  # who saved them, by name
    tari = page.text.split('data-testid="rules-TARI"')[1].split("</section>")[0]
    assert "fasce di legge" in tari and "history-TARI" not in tari
    kept = api_view.json()["rules"]
    assert [(r["valid_from"], r["min_installment_cents"]) for r in kept] == [
        (TODAY.isoformat(), 5_000),
        (later.isoformat(), 0),
    ]
    assert kept[0]["bands"] == [
        {"up_to_cents": 20_000, "min": 1, "max": 1},
        {"up_to_cents": 100_000, "min": 2, "max": 6},
        {"up_to_cents": None, "min": 36, "max": 60},
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({**rows(("0", "", "2", "30"))}, "almeno 36 rate mensili per i debiti oltre € 6.000,00"),
        ({"min_installment": "200,00"}, "almeno 36 rate mensili"),
        (
            {**rows(("0", "200,00", "1", "1"), ("300,00", "", "36", "72"))},
            "Fascia 2: deve partire da € 200,01",
        ),
        ({"revenue_type": "CDS"}, "Scegli il tipo di entrata"),
        ({"valid_from": "2020-01-01"}, "da oggi o da una data futura"),
        ({"interest_rate": "molto"}, "Tasso di interesse non valido"),
        ({"min_installment": "cinquanta"}, "Rata minima non valida: «cinquanta»"),
    ],
)
async def test_a_bad_rule_set_is_refused_in_italian_and_nothing_recorded(
    platform: Platform, tenant: Identity, fields: dict[str, Any], words: str
) -> None:
    async with service_client(platform, "payments", admin(tenant)) as http:
        answer = await http.post(url(tenant), data=form(**fields))
    assert answer.status_code == 400
    assert words in answer.text and 'data-testid="problem"' in answer.text
    assert await versions(platform, tenant) == 0


@pytest.mark.asyncio
async def test_only_the_comune_admin_edits_the_rules(platform: Platform, tenant: Identity) -> None:
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator", "supervisor"))
    async with service_client(platform, "payments", operator) as http:
        assert (await http.get(url(tenant))).status_code == 403
        assert (await http.post(url(tenant), data=form())).status_code == 403
    assert await versions(platform, tenant) == 0
