"""The Comune's pagoPA settings: each bad field refused with its Italian message and nothing saved,
the GPD key write-only (masked, kept when left empty), the same checks on the page and the API."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.kernel.identity import Identity
from services.payments.domain_settings import InvalidSettings, masked, read_settings
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import scalar
from tests.support import make_identity

GOOD: dict[str, Any] = {
    "name": "Comune di Prova",
    "fiscal_code": "00743110157",
    "segregation_code": "07",
    "cbill": "abc12",
    "iban": "IT60 X054 2811 1010 0000 0123 456",
    "postal_account": "1234567",
    "applies_charges": "1",
    "reminder_days": "10",
    "gpd_endpoint": "https://gpd.intermediario.example/api/v1",
    "gpd_api_key": "chiave-segreta-0123456789",
}
KEY = GOOD["gpd_api_key"]


def admin(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("comune_admin",), user_id="admin-1")


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-9")


def url(who: Identity) -> str:
    return f"/t/{who.tenant_slug}/payments/settings"


async def stored(platform: Platform, who: Identity, column: str) -> object:
    return await scalar(
        platform,
        who.tenant_id,
        f"SELECT {column} FROM payments.creditors WHERE tenant_id = :t UNION ALL SELECT NULL LIMIT 1",
        t=who.tenant_id,
    )


def test_good_settings_are_read_and_normalised() -> None:
    read = read_settings(GOOD, has_stored_key=False)
    assert (read.cbill, read.iban, read.postal_account) == ("ABC12", "IT60X0542811101000000123456", "1234567")
    assert (read.applies_charges, read.reminder_days, read.gpd_api_key) == (True, 10, KEY)
    json_body = {
        **GOOD,
        "applies_charges": False,
        "reminder_days": 0,
        "postal_account": None,
        "gpd_api_key": "",
    }
    read = read_settings({**json_body, "gpd_endpoint": None}, has_stored_key=False)
    assert (read.applies_charges, read.reminder_days, read.postal_account) == (False, 0, None)
    assert "gpd_api_key" not in read.values()  # an empty key keeps the stored one


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "", "denominazione"),
        ("fiscal_code", "00743110158", "codice fiscale"),  # check digit wrong
        ("fiscal_code", "0074311015", "11 cifre"),
        ("segregation_code", "7", "2 cifre"),
        ("cbill", "AB-12", "CBILL"),
        ("iban", "DE89370400440532013000", "IBAN italiano"),  # valid, but German
        ("iban", "IT60X0542811101000000123457", "IBAN italiano"),  # check digits wrong
        ("postal_account", "12AB", "sole cifre"),
        ("postal_account", "1234567890123", "sole cifre"),
        ("applies_charges", "forse", "sì o no"),
        ("reminder_days", "61", "da 0 a 60"),
        ("reminder_days", 7.5, "da 0 a 60"),
        ("gpd_endpoint", "http://gpd.example/api", "https://"),
        ("gpd_endpoint", "https://", "https://"),
        ("gpd_api_key", "corta", "da 8 a 500"),
        ("gpd_api_key", 12345678, "da 8 a 500"),
    ],
)
def test_each_bad_field_has_its_italian_message(field: str, value: object, words: str) -> None:
    with pytest.raises(InvalidSettings) as caught:
        read_settings({**GOOD, field: value}, has_stored_key=False)
    assert list(caught.value.errors) == [field]
    assert words in caught.value.errors[field] and caught.value.field == field


def test_an_endpoint_needs_a_key_stored_or_given_and_keys_are_masked() -> None:
    with pytest.raises(InvalidSettings) as caught:
        read_settings({**GOOD, "gpd_api_key": ""}, has_stored_key=False)
    assert list(caught.value.errors) == ["gpd_api_key"]
    assert read_settings({**GOOD, "gpd_api_key": ""}, has_stored_key=True).gpd_api_key is None
    assert masked(KEY) == "••••••••6789" and KEY not in masked(KEY)
    assert masked("short-key") == "••••••••" and masked(None) == ""


@pytest.mark.asyncio
async def test_the_admin_saves_the_settings_and_the_key_stays_write_only(
    platform: Platform, tenant: Identity
) -> None:
    async with service_client(platform, "payments", admin(tenant)) as http:
        empty = await http.get(url(tenant))
        assert empty.status_code == 200 and "non ha ancora inserito" in empty.text
        assert 'name="csrf_token"' in empty.text and '<label for="fiscal_code"' in empty.text
        saved = await http.post(url(tenant), data=GOOD, headers={"HX-Request": "true"})
        assert saved.status_code == 200 and "Impostazioni salvate." in saved.text
        assert "<html" not in saved.text and KEY not in saved.text and "••••••••6789" in saved.text
        again = await http.post(url(tenant), data={**GOOD, "gpd_api_key": "", "name": "Comune di Prova Due"})
        assert again.status_code == 200
        shown = await http.get(url(tenant))
    assert KEY not in shown.text and 'value="Comune di Prova Due"' in shown.text
    assert await stored(platform, tenant, "gpd_api_key") == KEY
    assert await stored(platform, tenant, "iban") == "IT60X0542811101000000123456"
    assert await stored(platform, tenant, "reminder_days") == 10


@pytest.mark.asyncio
async def test_bad_fields_are_shown_beside_each_field_and_nothing_is_saved(
    platform: Platform, tenant: Identity
) -> None:
    bad = {**GOOD, "fiscal_code": "12345678901", "iban": "IT00X0000000000000000000000", "reminder_days": "99"}
    async with service_client(platform, "payments", admin(tenant)) as http:
        answer = await http.post(url(tenant), data=bad, headers={"HX-Request": "true"})
    assert answer.status_code == 400
    flagged = re.findall(r'data-field="([a-z_]+)">([^<]+)<', answer.text)
    assert [name for name, _ in flagged] == ["fiscal_code", "iban", "reminder_days"]
    assert "Impostazioni non salvate" in answer.text and 'value="Comune di Prova"' in answer.text
    assert await stored(platform, tenant, "tenant_id") is None


@pytest.mark.asyncio
async def test_the_api_applies_the_same_checks(platform: Platform, tenant: Identity) -> None:
    body = {**GOOD, "applies_charges": True, "reminder_days": 5}
    async with service_client(platform, "payments", api(tenant)) as http:
        refused = await http.put(
            "/api/v1/payments/settings", json={**body, "cbill": "1", "segregation_code": "x"}
        )
        assert refused.status_code == 400
        assert set(refused.json()["errors"]) == {"segregation_code", "cbill"}
        assert await stored(platform, tenant, "tenant_id") is None
        ok = await http.put("/api/v1/payments/settings", json=body)
        not_json = await http.put("/api/v1/payments/settings", content=b"[")
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert ok.status_code == 200, ok.text
    assert ok.json()["gpd_api_key"] == "••••••••6789" and ok.json()["applies_charges"] is True
    assert await stored(platform, tenant, "cbill") == "ABC12"


@pytest.mark.asyncio
async def test_only_the_comune_admin_reaches_the_page(platform: Platform, tenant: Identity) -> None:
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator", "supervisor"))
    async with service_client(platform, "payments", operator) as http:
        assert (await http.get(url(tenant))).status_code == 403
        assert (await http.post(url(tenant), data=GOOD)).status_code == 403
    assert await stored(platform, tenant, "tenant_id") is None
