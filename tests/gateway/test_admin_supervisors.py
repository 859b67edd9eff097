"""A Comune's supervisors on the gateway's people page: they assign and remove the operator role of
their own Comuni (nothing else, nowhere else), audited as the administrators' changes are, and the
page embeds each operator's work list from the contact service."""

from __future__ import annotations

import html
import re
import urllib.parse
import uuid

import pytest

from gateway import domain
from gateway import repository_audit as audit
from gateway.domain import Actor
from gateway.handlers import accept_invitations_on_login
from services.cli import build_gateway
from services.kernel.errors import Forbidden
from services.platform import Platform
from tests.gateway.helpers import client, make_gateway, make_person, make_tenant, random_fiscal_code, sign_in

HX = {"HX-Request": "true"}

# ---------------------------------------------------------------------------------- pure rules


def _actor(*pairs: tuple[str, str]) -> Actor:
    return Actor.of(uuid.uuid4(), "Sara Supervisore", "csrf", "10.0.0.1", pairs)


def test_supervisors_assign_the_operator_role_of_their_comuni_only() -> None:
    sara = _actor(
        ("a", "supervisor"),
        ("b", "operator"),
        ("c", "comune_admin"),
        ("d", "supervisor"),
        ("d", "comune_admin"),
    )
    assert sara.assignable("a") == ("operator",)
    assert sara.assignable("b") == () and sara.assignable("elsewhere") == ()
    assert sara.assignable("c") == ("comune_viewer", "comune_admin")
    assert sara.assignable("d") == ("comune_viewer", "comune_admin", "operator")
    assert sara.may_assign("a") and not sara.may_manage("a")  # not the Comune's audit log
    assert not sara.may_assign("b") and sara.may_manage("c")
    assert sara.assigns_somewhere() == {"a", "c", "d"} and sara.oversees == {"a", "d"}
    assert domain.check_role("operator", sara.assignable("a")) == "operator"
    with pytest.raises(Forbidden, match="Solo gli amministratori del Comune e della piattaforma"):
        domain.check_role("comune_viewer", sara.assignable("a"))
    for role in ("supervisor", "platform_admin"):
        with pytest.raises(Forbidden, match="Solo gli amministratori della piattaforma"):
            domain.check_role(role, sara.assignable("d"))
    with pytest.raises(
        Forbidden, match="Solo i supervisori del Comune e gli amministratori della piattaforma"
    ):
        domain.check_role("operator", sara.assignable("c"))
    root = _actor(("x", "platform_admin"))
    assert root.assignable("anywhere") == domain.ROLES and root.may_assign("anywhere")
    assert root.oversees == {"x"}  # the contact service knows them only where they are members


# ------------------------------------------------------------------------------------- pages


async def _entries(platform: Platform, tenant_id: uuid.UUID) -> list[audit.AuditEntry]:
    async with platform.databases["gateway"].unit_of_work(tenant_id) as uow:
        return await audit.tenant_entries(uow, tenant_id)


@pytest.mark.asyncio
async def test_a_supervisor_assigns_and_removes_the_operators_of_their_comune(platform: Platform) -> None:
    a, b, c = await make_tenant(platform), await make_tenant(platform), await make_tenant(platform)
    sara = await make_person(platform, {a.id: "supervisor", b.id: "operator"})
    operator = await make_person(platform, {a.id: "operator"})
    viewer = await make_person(platform, {a.id: "comune_viewer"})
    code = random_fiscal_code()
    newcomer = await make_person(platform, fiscal_number=code)
    gw = make_gateway(platform)
    url = f"/admin/comuni/{a.slug}/utenti"
    async with client(gw) as http:
        csrf = await sign_in(gw, http, sara)
        assert (await http.get("/admin/")).headers["location"] == url
        page = await http.get(url)
        assert page.status_code == 200 and operator.name in page.text and viewer.name in page.text
        assert 'value="operator"' in page.text and 'value="comune_viewer"' not in page.text
        assert "/registro" not in page.text and 'data-testid="supervisor-note"' in page.text
        # The operator's row has a «Rimuovi»; the viewer's, none.
        assert page.text.count("/utenti/rimuovi") == 1
        # It asks first (a plain form: app.js asks the question data-confirm holds).
        assert f'data-confirm="Togliere a {operator.name} il ruolo «Operatore» in {a.name}?"' in page.text
        invited = await http.post(url, data={"csrf_token": csrf, "identificativo": code, "ruolo": "operator"})
        assert invited.status_code == 303 and invited.headers["location"].endswith("esito=invitato")
        refused = await http.post(
            url, data={"csrf_token": csrf, "identificativo": code, "ruolo": "comune_viewer"}
        )
        assert refused.status_code == 403 and "amministratori del Comune" in refused.text
        refused = await http.post(
            url, data={"csrf_token": csrf, "identificativo": code, "ruolo": "supervisor"}
        )
        assert refused.status_code == 403
        remove = f"{url}/rimuovi"
        not_theirs = {"csrf_token": csrf, "utente": str(viewer.id), "ruolo": "comune_viewer"}
        assert (await http.post(remove, data=not_theirs)).status_code == 403
        gone = await http.post(
            remove, data={"csrf_token": csrf, "utente": str(operator.id), "ruolo": "operator"}
        )
        assert gone.status_code == 303 and gone.headers["location"].endswith("esito=rimosso")
        assert operator.name not in (await http.get(url)).text
        # Where Sara is only an operator, and where she is nobody, and the audit log: not hers.
        assert (await http.get(f"/admin/comuni/{b.slug}/utenti")).status_code == 403
        assert (await http.get(f"/admin/comuni/{c.slug}/utenti")).status_code == 404
        assert (await http.get(f"/admin/comuni/{a.slug}/registro")).status_code == 403
        no_csrf = await http.post(url, data={"identificativo": code, "ruolo": "operator"})
        assert no_csrf.status_code == 403
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        granted = await accept_invitations_on_login(uow, newcomer.id, code, None, actor_label=newcomer.name)
        await uow.commit()
    assert granted == [(a.id, "operator")]
    entries = [(e.action, e.actor_user_id, e.detail) for e in await _entries(platform, a.id)]
    assert entries[1:] == [
        ("membership_removed", sara.id, {"user_id": str(operator.id), "role": "operator"}),
        ("invitation_created", sara.id, {"fiscal_number": code, "email": None, "role": "operator"}),
    ]
    assert entries[0][0] == "membership_added"  # the newcomer's first login
    assert [e.action for e in await _entries(platform, c.id)] == ["access_denied"]


@pytest.mark.asyncio
async def test_the_home_leads_a_supervisor_to_their_operators(platform: Platform) -> None:
    a, b = await make_tenant(platform), await make_tenant(platform)
    sara = await make_person(platform, {a.id: "supervisor", b.id: "operator"})
    gw = make_gateway(platform)
    async with client(gw) as http:
        await sign_in(gw, http, sara)
        home = await http.get("/")
    assert home.status_code == 200 and f'href="/admin/comuni/{a.slug}/utenti"' in home.text
    assert f"/admin/comuni/{b.slug}/utenti" not in home.text
    # The platform admin too, with each Comune's queue at a glance (it had the names alone).
    paola = await make_person(platform, {a.id: "platform_admin", b.id: "platform_admin"})
    async with client(gw) as http:
        await sign_in(gw, http, paola)
        theirs = (await http.get("/")).text
    for t in (a, b):
        assert (
            f'href="/admin/comuni/{t.slug}/utenti"' in theirs
            and f'hx-get="/t/{t.slug}/contact/summary"' in theirs
        )


@pytest.mark.asyncio
async def test_the_people_page_embeds_each_operators_work_list(platform: Platform) -> None:
    a = await make_tenant(platform)
    sara = await make_person(platform, {a.id: "supervisor"})
    operator = await make_person(platform, {a.id: "operator"})
    chief = await make_person(platform, {a.id: "comune_admin"})
    gw = build_gateway(platform)
    async with client(gw) as http:
        csrf = await sign_in(gw, http, sara)
        page = await http.get(f"/admin/comuni/{a.slug}/utenti")
        found = re.search(r'hx-get="([^"]+)"', page.text)
        assert found is not None and "Liste di lavoro degli operatori" in page.text
        fragment_url = html.unescape(found.group(1))
        assert fragment_url.startswith(f"/t/{a.slug}/contact/liste/{operator.id}?firma=")
        firma = fragment_url.split("?firma=", 1)[1]
        editor = await http.get(fragment_url, headers=HX)
        assert editor.status_code == 200 and "Nessuna lista" in editor.text and operator.name in editor.text
        action = f"/t/{a.slug}/contact/liste/{operator.id}"
        typed = {
            "tributi": "TARI",
            "anno_da": "2019",
            "anno_a": "2021",
            "importo_max": "5.000",
            "firma": urllib.parse.unquote(firma),
        }
        assert (await http.post(action, data=typed, headers=HX)).status_code == 403  # no CSRF token
        saved = await http.post(action, data={**typed, "csrf_token": csrf}, headers=HX)
        assert saved.status_code == 200 and "Lista salvata" in saved.text
    async with client(gw) as http:
        await sign_in(gw, http, operator)
        mine = await http.get(f"/t/{a.slug}/contact/lista", headers=HX)
        assert "La tua lista: <strong>TARI, anni 2019–2021, dovuto fino a € 5.000,00</strong>" in mine.text
        assert (await http.get(fragment_url, headers=HX)).status_code == 403
    async with client(gw) as http:
        await sign_in(gw, http, chief)  # the Comune's admin: people, not the calls' lists
        assert (
            "Liste di lavoro degli operatori" not in (await http.get(f"/admin/comuni/{a.slug}/utenti")).text
        )


@pytest.mark.asyncio
async def test_a_pending_invitation_is_withdrawn_by_who_may_assign_its_role(platform: Platform) -> None:
    comune = await make_tenant(platform)
    sara = await make_person(platform, {comune.id: "supervisor"})
    anna = await make_person(platform, {comune.id: "comune_admin"})
    gw = make_gateway(platform)
    url, cancel = f"/admin/comuni/{comune.slug}/utenti", f"/admin/comuni/{comune.slug}/inviti/annulla"
    async with client(gw) as http:
        csrf = await sign_in(gw, http, anna)  # she invites the office; Sara, an operator
        await http.post(
            url, data={"csrf_token": csrf, "identificativo": "ufficio@example.it", "ruolo": "comune_viewer"}
        )
        [theirs] = re.findall(r'name="invito" value="([0-9a-f-]{36})"', (await http.get(url)).text)
    async with client(gw) as http:
        csrf = await sign_in(gw, http, sara)
        await http.post(
            url, data={"csrf_token": csrf, "identificativo": "sbagliato@example.it", "ruolo": "operator"}
        )
        ids = [theirs, *re.findall(r'name="invito" value="([0-9a-f-]{36})"', (await http.get(url)).text)]
        assert len(ids) == 2
    async with client(gw) as http:
        csrf = await sign_in(gw, http, sara)
        page = (await http.get(url)).text
        # Sara may withdraw the operator's invitation only: the other's row has no button.
        [mine] = re.findall(r'name="invito" value="([0-9a-f-]{36})"', page)
        other = next(i for i in ids if i != mine)
        assert (await http.post(cancel, data={"csrf_token": csrf, "invito": other})).status_code == 403
        done = await http.post(cancel, data={"csrf_token": csrf, "invito": mine})
        assert done.status_code == 303 and done.headers["location"].endswith("esito=annullato")
        page = (await http.get(url)).text
        assert "sbagliato@example.it" not in page and "ufficio@example.it" in page
        assert (await http.post(cancel, data={"csrf_token": csrf, "invito": mine})).status_code == 404
        assert (await http.post(cancel, data={"csrf_token": csrf, "invito": "x"})).status_code == 400
    entries = [(e.action, e.actor_user_id) for e in await _entries(platform, comune.id)]
    assert entries[0] == ("invitation_cancelled", sara.id)
