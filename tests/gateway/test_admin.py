"""Memberships, invitations and Comuni managed on the gateway's own administration pages."""

from __future__ import annotations

import html
import uuid
from dataclasses import replace

import pytest
import sqlalchemy as sa

from gateway import domain, handlers, repository
from gateway import repository_audit as audit
from gateway.app import Gateway
from gateway.handlers import accept_invitations_on_login
from services.cli import build_gateway
from services.kernel.errors import DomainError, Forbidden
from services.platform import Platform
from tests.gateway.helpers import (
    alert,
    client,
    make_gateway,
    make_person,
    make_tenant,
    random_fiscal_code,
    sign_in,
)
from tests.smtp_server import Inbox, free_port

# ---------------------------------------------------------------------------------- pure rules


def test_comune_admins_assign_only_comune_roles() -> None:
    assert domain.assignable_roles(False) == ("comune_viewer", "comune_admin")
    assert "operator" in domain.assignable_roles(True) and "platform_admin" in domain.assignable_roles(True)
    assert domain.check_role("comune_viewer", domain.assignable_roles(False)) == "comune_viewer"
    with pytest.raises(Forbidden):
        domain.check_role("operator", domain.assignable_roles(False))
    with pytest.raises(DomainError, match="Ruolo non valido"):
        domain.check_role("root", domain.assignable_roles(True))


def test_identifiers_are_fiscal_codes_or_email_addresses() -> None:
    code = random_fiscal_code()
    assert domain.parse_identifier(f"  {code.lower()} ") == (code, None)
    assert domain.parse_identifier(" Anna.Bianchi@Comune.IT ") == (None, "anna.bianchi@comune.it")
    odd = ("<script>alert(1)</script>@x.it", "anna@@comune.it", "anna..b@comune.it", "a b@comune.it")
    for bad, message in [
        ("RSSMRA85T10A562X", "Codice fiscale"),
        ("a@b", "e-mail"),
        ("", "Indica"),
        *((address, "e-mail") for address in odd),
    ]:
        with pytest.raises(DomainError, match=message):
            domain.parse_identifier(bad)


def test_new_tenant_slugs_follow_the_url_rule() -> None:
    assert domain.check_new_tenant(" Comune-X ", "  Comune   di X ") == ("comune-x", "Comune di X")
    for slug, name in [("-x", "Comune"), ("a b", "Comune"), ("ok", " ")]:
        with pytest.raises(DomainError):
            domain.check_new_tenant(slug, name)


# ------------------------------------------------------------------------------------ database


async def _actions(platform: Platform, tenant_id: uuid.UUID) -> list[tuple[str, dict[str, object]]]:
    async with platform.databases["gateway"].unit_of_work(tenant_id) as uow:
        return [(e.action, e.detail) for e in await audit.tenant_entries(uow, tenant_id)]


@pytest.mark.asyncio
async def test_invitations_are_tenant_scoped_and_accepted_at_first_login(platform: Platform) -> None:
    db = platform.databases["gateway"]
    a, b = await make_tenant(platform), await make_tenant(platform)
    code = random_fiscal_code()
    async with db.unit_of_work(a.id) as uow:
        assert await repository.create_invitation(uow, a.id, code, None, "comune_viewer", None)
        assert not await repository.create_invitation(uow, a.id, code, None, "comune_viewer", None)
        await uow.commit()
    async with db.unit_of_work(b.id) as uow:
        assert await repository.pending_invitations(uow, a.id) == []
        rows = (await uow.execute(sa.text("SELECT count(*) FROM gateway.invitations"))).scalar()
        assert rows == 0
        assert await repository.create_invitation(uow, b.id, None, "x@example.it", "comune_admin", None)
        await uow.commit()
    with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
        async with db.unit_of_work(b.id) as uow:
            await repository.create_invitation(uow, a.id, None, "y@example.it", "comune_admin", None)
    person = await make_person(platform, fiscal_number=code, email="X@Example.it")
    async with db.unit_of_work(None) as uow:
        granted = await handlers.accept_invitations_on_login(
            uow, person.id, code.lower(), "X@example.IT", actor_label=person.name, ip="10.0.0.9"
        )
        again = await repository.accept_invitations(uow, person.id, code, "x@example.it")
        await uow.commit()
    assert sorted(granted) == sorted([(a.id, "comune_viewer"), (b.id, "comune_admin")]) and again == []
    async with db.unit_of_work(None) as uow:
        mine = await repository.user_memberships(uow, person.id)
    assert {(m.slug, m.role) for m in mine} == {(a.slug, "comune_viewer"), (b.slug, "comune_admin")}
    async with db.unit_of_work(a.id) as uow:
        assert await repository.pending_invitations(uow, a.id) == []
    assert (
        "membership_added",
        {"user_id": str(person.id), "role": "comune_viewer", "via": "invitation"},
    ) in (await _actions(platform, a.id))


# ------------------------------------------------------------------------------------- pages


@pytest.mark.asyncio
async def test_platform_admin_creates_a_tenant(platform: Platform) -> None:
    home = await make_tenant(platform)
    root = await make_person(platform, {home.id: "platform_admin"})
    chief = await make_person(platform, {home.id: "comune_admin"})
    gw = build_gateway(platform)  # with the services: the new Comune's pages open
    slug = f"nuovo-{uuid.uuid4().hex[:8]}"
    async with client(gw) as c:
        csrf = await sign_in(gw, c, root)
        page = await c.get("/admin/comuni")
        assert page.status_code == 200 and home.name in page.text
        bad = await c.post("/admin/comuni", data={"csrf_token": csrf, "slug": "Non Valido", "nome": "X"})
        assert bad.status_code == 400 and "Identificativo non valido" in alert(bad.text)
        assert 'value="Non Valido"' in bad.text and 'id="slug-error"' in bad.text  # typed, at its field
        both = await c.post("/admin/comuni", data={"csrf_token": csrf, "slug": "", "nome": " "})
        assert both.status_code == 400 and 'id="nome-error"' in both.text and 'id="slug-error"' in both.text
        assert 'href="#nome"' in both.text and 'href="#slug"' in both.text  # both named at once
        created = await c.post(
            "/admin/comuni", data={"csrf_token": csrf, "slug": slug, "nome": "Comune Nuovo"}
        )
        assert created.status_code == 303 and created.headers["location"].startswith(f"/admin/comuni/{slug}/")
        again = await c.post("/admin/comuni", data={"csrf_token": csrf, "slug": slug, "nome": "Altro"})
        assert again.status_code == 400 and "Esiste già" in alert(again.text)
        twin = await c.post(
            "/admin/comuni", data={"csrf_token": csrf, "slug": f"{slug}-bis", "nome": " comune  NUOVO "}
        )
        assert twin.status_code == 400 and f"Esiste già un Comune di nome «Comune Nuovo» («{slug}»)" in alert(
            twin.text
        )
        # Its creator may open it at once: its people, and its pages.
        people = await c.get(created.headers["location"])
        assert people.status_code == 200 and "Nessuna persona abilitata" not in people.text
        opened = await c.get(f"/t/{slug}/")
        assert opened.status_code in (200, 303), opened.text
        if opened.status_code == 303:
            landed = await c.get(opened.headers["location"])
            assert landed.status_code == 200, (opened.headers["location"], landed.text[-600:])
        assert (await c.post("/admin/comuni", data={"slug": f"{slug}-x", "nome": "X"})).status_code == 403
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        tenant = await repository.tenant_by_slug(uow, slug)
    assert tenant is not None and tenant.name == "Comune Nuovo"
    assert sorted(a for a, _ in await _actions(platform, tenant.id)) == [
        "membership_added",
        "tenant_created",
        "tenant_enter",  # its creator opened it
    ]
    async with client(gw) as c:
        csrf = await sign_in(gw, c, chief)
        assert (await c.get("/admin/comuni")).status_code == 403
        refused = await c.post("/admin/comuni", data={"csrf_token": csrf, "slug": f"{slug}-y", "nome": "Y"})
        assert refused.status_code == 403


@pytest.mark.asyncio
async def test_comune_admin_adds_and_removes_comune_roles_only(platform: Platform) -> None:
    a = await make_tenant(platform)
    chief = await make_person(platform, {a.id: "comune_admin"})
    code = random_fiscal_code()
    colleague = await make_person(platform, fiscal_number=code)
    operator = await make_person(platform, {a.id: "operator"})
    gw = make_gateway(platform)
    url = f"/admin/comuni/{a.slug}/utenti"
    async with client(gw) as c:
        csrf = await sign_in(gw, c, chief)
        page = await c.get(url)
        assert page.status_code == 200 and operator.name in page.text
        assert 'value="operator"' not in page.text  # only Comune roles on offer
        # A Comune's administrator always invites (never learns who exists on the platform) ...
        added = await c.post(url, data={"csrf_token": csrf, "identificativo": code, "ruolo": "comune_viewer"})
        assert added.status_code == 303 and added.headers["location"].endswith("esito=invitato")
        # By fiscal code there is no address to write to: the page says whose task telling them is.
        told = html.unescape((await c.get(added.headers["location"])).text)
        assert "L'invito è per codice fiscale, senza e-mail: comunica tu alla persona" in told
        twice = await c.post(url, data={"csrf_token": csrf, "identificativo": code, "ruolo": "comune_viewer"})
        assert twice.headers["location"].endswith("esito=gia-invitato")
        assert colleague.name not in (await c.get(url)).text
        # ... and the person joins by logging in.
        async with platform.databases["gateway"].unit_of_work(None) as uow:
            await accept_invitations_on_login(uow, colleague.id, code, None, actor_label=colleague.name)
            await uow.commit()
        assert colleague.name in (await c.get(url)).text
        # A member already: the page says the role adds to the one they have.
        more = await c.post(url, data={"csrf_token": csrf, "identificativo": code, "ruolo": "comune_admin"})
        assert more.headers["location"].endswith("esito=invitato-altro-ruolo")
        assert "già abilitata sul Comune con un altro ruolo" in (await c.get(more.headers["location"])).text
        refused = await c.post(url, data={"csrf_token": csrf, "identificativo": code, "ruolo": "operator"})
        assert refused.status_code == 403 and "amministratori della piattaforma" in refused.text
        bad = await c.post(url, data={"csrf_token": csrf, "identificativo": "XYZ", "ruolo": "comune_viewer"})
        assert bad.status_code == 400
        assert alert(bad.text) == "«XYZ» non è un codice fiscale (16 caratteri) né un indirizzo e-mail."
        # What was typed is still there to correct, with the role chosen.
        assert 'value="XYZ"' in bad.text and '<option value="comune_viewer" selected>' in bad.text
        no_csrf = await c.post(url, data={"identificativo": code, "ruolo": "comune_admin"})
        assert no_csrf.status_code == 403
        remove = f"{url}/rimuovi"
        not_theirs = {"csrf_token": csrf, "utente": str(operator.id), "ruolo": "operator"}
        assert (await c.post(remove, data=not_theirs)).status_code == 403
        itself = {"csrf_token": csrf, "utente": str(chief.id), "ruolo": "comune_admin"}
        assert "tua stessa" in alert((await c.post(remove, data=itself)).text)
        gone = await c.post(
            remove, data={"csrf_token": csrf, "utente": str(colleague.id), "ruolo": "comune_viewer"}
        )
        assert gone.status_code == 303 and gone.headers["location"].endswith("esito=rimosso")
        missing = await c.post(
            remove, data={"csrf_token": csrf, "utente": str(colleague.id), "ruolo": "comune_viewer"}
        )
        assert missing.status_code == 404
    actions = await _actions(platform, a.id)
    assert [x for x, _ in actions] == [
        "membership_removed",
        "invitation_created",
        "membership_added",
        "invitation_created",
    ]
    assert actions[2][1] == {"user_id": str(colleague.id), "role": "comune_viewer", "via": "invitation"}


@pytest.mark.asyncio
async def test_invitation_before_first_login_then_membership(platform: Platform, smtp: Inbox) -> None:
    a = await make_tenant(platform)
    root = await make_person(platform, {a.id: "platform_admin"})
    gw = make_gateway(platform)
    email = f"nuovo-{uuid.uuid4().hex[:6]}@esempio.it"
    url = f"/admin/comuni/{a.slug}/utenti"
    async with client(gw) as c:
        csrf = await sign_in(gw, c, root)
        invited = await c.post(
            url, data={"csrf_token": csrf, "identificativo": email.upper(), "ruolo": "operator"}
        )
        assert invited.headers["location"].endswith("esito=invitato")
        page = await c.get(invited.headers["location"])
        assert email in page.text and "Inviti in attesa" in page.text
        outcome = page.text.split('data-testid="outcome">', 1)[1].split("</div>", 1)[0]
        assert "Invito registrato" in outcome and "inviate per e-mail alla persona" in outcome
    # The person is told how to take the role up: log in, as this address, with SPID or CIE.
    [message] = await smtp.wait_for(email)
    assert message["Subject"] == f"Riscossa: invito per il {a.name}"
    body = message.get_content()
    assert f"{root.name} ti ha invitato su Riscossa per il {a.name} con il ruolo «Operatore»" in body
    assert (
        f"{platform.settings.public_base_url.rstrip('/')}/login" in body
        and "SPID o con le credenziali aziendali" in body
    )
    actions = await _actions(platform, a.id)
    assert actions[0] == ("invitation_created", {"fiscal_number": None, "email": email, "role": "operator"})
    newcomer = await make_person(platform, email=email)
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        granted = await handlers.accept_invitations_on_login(uow, newcomer.id, None, email, actor_label="x")
        await uow.commit()
    assert granted == [(a.id, "operator")]
    async with client(gw) as c:
        csrf = await sign_in(gw, c, root)
        page = await c.get(url)
        assert "Inviti in attesa" not in page.text and newcomer.name in page.text
        # A platform administrator adds a role to a member: the page says it adds to the other.
        more = await c.post(url, data={"csrf_token": csrf, "identificativo": email, "ruolo": "supervisor"})
        assert more.headers["location"].endswith("esito=aggiunto-altro-ruolo")
        assert "ora li ha tutti" in (await c.get(more.headers["location"])).text
        again = await c.post(url, data={"csrf_token": csrf, "identificativo": email, "ruolo": "supervisor"})
        assert again.headers["location"].endswith("esito=gia-presente")


@pytest.mark.asyncio
async def test_an_invitation_whose_email_the_server_refuses_stands_and_the_page_says_so(
    platform: Platform,
) -> None:
    a = await make_tenant(platform)
    chief = await make_person(platform, {a.id: "comune_admin"})
    dead = replace(platform.settings, mode="dev", dev_login=True, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    gw = Gateway(dead, platform.databases["gateway"], platform.signer, platform.storage, platform.bus, {})
    email = f"ufficio-{uuid.uuid4().hex[:6]}@esempio.it"
    url = f"/admin/comuni/{a.slug}/utenti"
    async with client(gw) as c:
        csrf = await sign_in(gw, c, chief)
        sent = await c.post(url, data={"csrf_token": csrf, "identificativo": email, "ruolo": "comune_viewer"})
        assert sent.status_code == 303 and sent.headers["location"].endswith("esito=invitato")
        page = html.unescape((await c.get(sent.headers["location"])).text)
    assert "L'e-mail con le istruzioni non è partita" in page and "L'invito resta valido" in page
    assert email in page.split("Inviti in attesa", 1)[1]


@pytest.mark.asyncio
async def test_foreign_tenant_pages_are_missing_and_audited(platform: Platform) -> None:
    a, b = await make_tenant(platform), await make_tenant(platform)
    chief = await make_person(platform, {a.id: "comune_admin"})
    viewer = await make_person(platform, {a.id: "comune_viewer"})
    gw = make_gateway(platform)
    async with client(gw) as c:
        await sign_in(gw, c, chief)
        foreign = await c.get(f"/admin/comuni/{b.slug}/utenti")
        unknown = await c.get("/admin/comuni/comune-che-non-esiste/utenti")
        assert foreign.status_code == unknown.status_code == 404 and foreign.text == unknown.text
        assert (await c.get("/admin/registro")).status_code == 403
        assert (await c.get("/admin/")).headers["location"] == f"/admin/comuni/{a.slug}/utenti"
    async with client(gw) as c:
        await sign_in(gw, c, viewer)
        assert (await c.get(f"/admin/comuni/{a.slug}/utenti")).status_code == 403
        assert (await c.get("/admin/")).status_code == 403
    async with client(gw) as c:
        assert (await c.get(f"/admin/comuni/{a.slug}/utenti")).headers["location"] == "/login"
        assert (await c.post(f"/admin/comuni/{a.slug}/utenti")).status_code == 401
    denied = await _actions(platform, b.id)
    assert denied == [("access_denied", {"path": f"/admin/comuni/{b.slug}/utenti"})]
