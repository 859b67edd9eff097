"""A person works for the collection firm or for a Comune's tax office, never both (gateway
migration 0007): a supervisor of one Comune cannot make another Comune's office staff their
operator (and so let them read that Comune's taxpayers), nor an office give the firm's people its
own roles. Refused in words where the page knows the person, at login otherwise, and by the
database whatever writes the membership."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from gateway import domain, repository
from gateway import repository_audit as audit
from gateway.handlers import accept_invitations_on_login
from services.cli import build_gateway
from services.platform import Platform
from tests.gateway.helpers import client, make_person, make_tenant, sign_in


def test_the_firm_s_roles_and_the_office_s_are_two_sides() -> None:
    assert domain.other_side("operator", ["comune_admin"]) == "comune_admin"
    assert domain.other_side("comune_viewer", ["supervisor", "operator"]) == "operator"
    assert domain.other_side("platform_admin", ["comune_viewer"]) == "comune_viewer"
    assert domain.other_side("operator", ["supervisor", "platform_admin"]) is None
    assert domain.other_side("comune_admin", ["comune_viewer"]) is None


@pytest.mark.asyncio
async def test_an_invitation_across_the_sides_is_refused_at_login_and_shown_to_who_sent_it(
    platform: Platform,
) -> None:
    a, b = await make_tenant(platform), await make_tenant(platform)
    email = "ufficio.tributi@example.it"
    anna = await make_person(platform, {a.id: "comune_admin"}, email=email)
    sergio = await make_person(platform, {b.id: "supervisor"})
    gw = build_gateway(platform)
    url = f"/admin/comuni/{b.slug}/utenti"
    async with client(gw) as http:
        csrf = await sign_in(gw, http, sergio)
        # Sergio cannot know who Anna is: the invitation is registered, as for anyone.
        sent = await http.post(url, data={"csrf_token": csrf, "identificativo": email, "ruolo": "operator"})
        assert sent.status_code == 303 and sent.headers["location"].endswith("esito=invitato")
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        granted = await accept_invitations_on_login(uow, anna.id, None, email, actor_label=anna.name)
        await uow.commit()
        mine = await repository.user_memberships(uow, anna.id)
    assert granted == [] and {(m.slug, m.role) for m in mine} == {(a.slug, "comune_admin")}
    async with platform.databases["gateway"].unit_of_work(b.id) as uow:
        entries = await audit.tenant_entries(uow, b.id)
    assert (entries[0].action, entries[0].detail) == (
        "invitation_refused",
        {"role": "operator", "reason": "other_side"},
    )
    async with client(gw) as http:
        await sign_in(gw, http, sergio)
        people = html.unescape((await http.get(url)).text)
    assert "Non accettato" in people and "la persona ha già un ruolo dell'altra parte" in people
    # A second login changes nothing: the refused invitation is not taken again.
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        assert await accept_invitations_on_login(uow, anna.id, None, email, actor_label=anna.name) == []


@pytest.mark.asyncio
async def test_a_known_person_is_refused_in_words_at_the_role_s_field(platform: Platform) -> None:
    a = await make_tenant(platform)
    email = "sergio.supervisore@example.it"
    chief = await make_person(platform, {a.id: "comune_admin"})
    sergio = await make_person(platform, {a.id: "supervisor"}, email=email)
    root = await make_person(platform, {a.id: "platform_admin"})
    office = await make_person(platform, {a.id: "comune_viewer"}, email="vittorio@example.it")
    gw = build_gateway(platform)
    url = f"/admin/comuni/{a.slug}/utenti"
    async with client(gw) as http:
        csrf = await sign_in(gw, http, chief)
        # A member of this Comune (the page lists him): the office's role is refused now.
        refused = await http.post(
            url, data={"csrf_token": csrf, "identificativo": email, "ruolo": "comune_viewer"}
        )
    assert refused.status_code == 400
    assert f"{sergio.name} ha già il ruolo «Supervisore»" in html.unescape(refused.text)
    assert 'data-field="ruolo"' in refused.text
    async with client(gw) as http:
        csrf = await sign_in(gw, http, root)
        # The platform administrator finds anyone: the office's viewer is no operator.
        refused = await http.post(
            url, data={"csrf_token": csrf, "identificativo": "vittorio@example.it", "ruolo": "operator"}
        )
    assert refused.status_code == 400
    assert f"{office.name} ha già il ruolo «Ufficio tributi (consultazione)»" in html.unescape(refused.text)
    async with platform.databases["gateway"].unit_of_work(a.id) as uow:
        invited = await repository.pending_invitations(uow, a.id)
    assert invited == []  # nothing was written
    # A stranger invited as an operator, then as the office's viewer: the second is refused now
    # (both waited, the page saying a pair across the sides is never accepted).
    async with client(gw) as http:
        csrf = await sign_in(gw, http, root)
        first = await http.post(
            url, data={"csrf_token": csrf, "identificativo": "nuovo@example.it", "ruolo": "operator"}
        )
        second = await http.post(
            url, data={"csrf_token": csrf, "identificativo": "NUOVO@example.it", "ruolo": "comune_viewer"}
        )
    assert first.status_code in (200, 303) and second.status_code == 400
    assert "C'è già un invito per nuovo@example.it come «Operatore»" in html.unescape(second.text)
    async with platform.databases["gateway"].unit_of_work(a.id) as uow:
        assert [i.role for i in await repository.pending_invitations(uow, a.id)] == ["operator"]


@pytest.mark.asyncio
async def test_the_database_refuses_a_membership_across_the_sides(platform: Platform) -> None:
    a, b = await make_tenant(platform), await make_tenant(platform)
    anna = await make_person(platform, {a.id: "comune_admin"})
    with pytest.raises(sa.exc.IntegrityError, match="holds a role of the other side"):
        async with platform.databases["gateway"].unit_of_work(b.id) as uow:
            await repository.add_membership(uow, b.id, anna.id, "operator")
    async with platform.databases["gateway"].unit_of_work(b.id) as uow:
        assert await repository.add_membership(uow, b.id, anna.id, "comune_viewer")  # same side: fine
        await uow.commit()
