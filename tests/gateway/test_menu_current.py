"""The main menu says which item the page belongs to (`aria-current="page"`, WCAG 2.4.8), the
Comune's pages under /admin keep the Comune's header and menu, and the platform administrator's
home leads to the platform's pages."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from starlette.requests import Request

from services.kernel.identity import Identity
from services.kernel.menu import menu_item
from services.kernel.web import templates_for
from services.platform import Platform
from tests.gateway.helpers import client, make_gateway, make_person, make_tenant, sign_in

ROOT = Path(__file__).parents[2]


def test_a_path_belongs_to_the_longest_menu_item_it_starts_with() -> None:
    assert menu_item("/t/roma/payments/") == "/payments/"
    assert menu_item("/t/roma/payments/positions/1") == "/payments/"
    assert menu_item("/t/roma/payments/reconciliation") == "/payments/reconciliation"
    assert menu_item("/t/roma/payments/reconciliation/flows/9") == "/payments/reconciliation"
    assert menu_item("/t/roma/payments/rulesx") == "/payments/"  # a word, not a prefix
    assert menu_item("/t/roma/contact/board") == "/contact/board"
    assert menu_item("/t/roma/contact/debtors/1") == "/contact/"
    assert (
        menu_item("/admin/comuni/roma/utenti") == menu_item("/admin/comuni/roma/registro") == "/admin/utenti"
    )
    assert menu_item("/admin/comuni") is None and menu_item("/") is None
    assert menu_item("/t/roma/") is None


def _render(path: str, roles: tuple[str, ...]) -> str:
    ident = Identity("u", "Sara", uuid.uuid4(), "roma", "Comune di Roma", roles, csrf_token="x")
    request = Request({"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""})
    template = templates_for(ROOT / "services" / "payments").get_template("base.html")
    return template.render(identity=ident, request=request, base="/t/roma")


def _current(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"[^>]*aria-current="page"', html)


def test_the_page_s_item_is_current_and_no_other() -> None:
    assert _current(_render("/t/roma/payments/reconciliation", ("operator",))) == [
        "/t/roma/payments/reconciliation"
    ]
    assert _current(_render("/t/roma/payments/positions/5", ("operator",))) == ["/t/roma/payments/"]
    settings = _render("/t/roma/payments/rules", ("comune_admin",))
    assert _current(settings) == ["/t/roma/payments/rules"]
    # The closed «Regole e impostazioni» says the page is among its items.
    assert re.search(
        r'<summary class="nav-link active">Regole e impostazioni<span class="visually-hidden">', settings
    )
    assert _current(_render("/t/roma/", ("operator",))) == []


@pytest.mark.asyncio
async def test_a_comune_s_people_page_keeps_its_header_and_the_home_leads_to_the_platform(
    platform: Platform,
) -> None:
    a = await make_tenant(platform)
    anna = await make_person(platform, {a.id: "comune_admin"})
    paola = await make_person(platform, {a.id: "platform_admin"})
    await make_tenant(platform)
    gw = make_gateway(platform)
    async with client(gw) as http:
        await sign_in(gw, http, anna)
        people = await http.get(f"/admin/comuni/{a.slug}/utenti")
        home = await http.get("/", follow_redirects=False)
    assert people.status_code == 200
    assert f'data-testid="tenant-name">{a.name}<' in people.text
    assert _current(people.text) == [f"/admin/comuni/{a.slug}/utenti"]
    assert people.text.count('action="/logout"') == 1  # the header's, not the admin bar's too
    assert home.status_code == 303  # one Comune and no calls: straight to it, as before
    async with client(gw) as http:
        await sign_in(gw, http, paola)
        theirs = (await http.get("/")).text
        comuni = await http.get("/admin/comuni")
    assert 'href="/admin/comuni"' in theirs and 'href="/admin/registro"' in theirs
    assert comuni.status_code == 200 and 'data-testid="tenant-name">Riscossa<' in comuni.text
    async with client(gw) as http:
        await sign_in(gw, http, await make_person(platform, {a.id: "operator"}))
        operator_home = (await http.get("/")).text
    assert '/admin/comuni"' not in operator_home and "/admin/registro" not in operator_home
