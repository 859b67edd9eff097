"""The operators' search for a taxpayer who phones in or writes: by fiscal code, by the caller's
number as typed (any number recorded for them), by act number, by the start of a word of the name;
only in the Comune's own debtors; too short a search is refused at the field; each search is in the
access log with what was typed."""

from __future__ import annotations

import uuid

import pytest

from services.contact.domain_search import like_prefix, read_query
from services.contracts import NoticeIssued
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import contact_fact, contact_updated, contacts_registered, deliver, scalar, seed
from tests.contact.test_web import as_user, base
from tests.support import position_fact


def test_what_the_typed_text_may_be() -> None:
    assert read_query(" rssmra80a01h501u ").fiscal_code == "RSSMRA80A01H501U"
    assert read_query("RSSMRA80A01H5O1U").fiscal_code is None  # a letter O where a digit goes
    assert read_query("01234567890").fiscal_code == "01234567890"  # a company's VAT number
    assert read_query("347 123 4567").phone == "+393471234567"
    assert read_query("+39 06.1234.5678").phone == "+390612345678"
    assert read_query("Rossi").phone is None and read_query("Rossi").fiscal_code is None
    assert read_query("  De   Luca ").text == "De Luca"
    with pytest.raises(DomainError) as refused:
        read_query(" ab ")
    assert refused.value.field == "q" and "almeno 3 caratteri" in refused.value.message
    assert like_prefix("50%_x\\") == "50\\%\\_x\\\\%"
    # A notice's code as printed (groups of digits) or its IUV.
    assert read_query("3012 3456 7890 1234 56").notice == "301234567890123456"
    assert read_query("01234567890123456").notice == "01234567890123456"
    assert read_query("347 123 4567").notice is None and read_query("01234567890").notice is None


@pytest.mark.asyncio
async def test_an_operator_finds_who_phones_in_by_fiscal_code_number_act_or_name(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    rossi, verdi, gialli = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    facts = [
        position_fact(40_000, debtor_id=rossi, name="ROSSI MARIO", fiscal_code="RSSMRA80A01H501U"),
        position_fact(25_000, debtor_id=verdi, name="VERDI ANNA MARIA", fiscal_code="VRDNMR75C41F205W"),
        position_fact(9_900, debtor_id=gialli, name="GIALLI ROSSANA", fiscal_code="GLLRSN90D44L219Z"),
    ]
    await seed(platform, tenant.tenant_id, *facts)
    old = contact_fact(verdi, "+393471234567")
    mail = contact_fact(verdi, "anna.verdi@example.it", kind="email")
    await deliver(platform, contacts_registered(tenant.tenant_id, old, mail))
    await deliver(platform, contact_updated(tenant.tenant_id, old, active=False))  # an old number
    stranger = str(uuid.uuid4())
    await seed(platform, other_tenant.tenant_id, position_fact(1_000, debtor_id=stranger, name="ROSSI LUCA"))
    op = as_user(tenant, "op-search")
    async with service_client(platform, "contact", op) as client:
        queue = (await client.get(f"{base(op)}/")).text
        by_code = (await client.get(f"{base(op)}/cerca", params={"q": "rssmra80a01h501u"})).text
        by_phone = (await client.get(f"{base(op)}/cerca", params={"q": "347 123 4567"})).text
        by_act = (await client.get(f"{base(op)}/cerca", params={"q": facts[2].act_number})).text
        by_name = (await client.get(f"{base(op)}/cerca", params={"q": "ross"})).text
        by_word = (await client.get(f"{base(op)}/cerca", params={"q": "maria"})).text
        nobody = (await client.get(f"{base(op)}/cerca", params={"q": "bianchi"})).text
        as_said = (await client.get(f"{base(op)}/cerca", params={"q": "maria verdi"})).text
        by_mail = (await client.get(f"{base(op)}/cerca", params={"q": "Anna.Verdi@example.it"})).text
        short = await client.get(f"{base(op)}/cerca", params={"q": "ro"}, headers={"HX-Request": "true"})
    assert f'action="{base(op)}/cerca"' in queue
    assert f"/debtors/{rossi}" in by_code and f"/debtors/{verdi}" not in by_code
    assert f"/debtors/{verdi}" in by_phone and "numero registrato" in by_phone
    assert f"/debtors/{gialli}" in by_act and f"/debtors/{rossi}" not in by_act
    # The start of the surname or of any word of the name: ROSSI MARIO and GIALLI ROSSANA, never
    # another Comune's ROSSI LUCA.
    assert f"/debtors/{rossi}" in by_name and f"/debtors/{gialli}" in by_name
    assert f"/debtors/{stranger}" not in by_name and "2 contribuenti trovati" in by_name
    assert f"/debtors/{verdi}" in by_word and "1 contribuente trovato" in by_word
    assert "Nessun contribuente di questo Comune corrisponde a «bianchi»" in nobody
    # First name then surname, as callers say it; an e-mail for who writes.
    assert f"/debtors/{verdi}" in as_said and "1 contribuente trovato" in as_said
    assert f"/debtors/{verdi}" in by_mail and "1 contribuente trovato" in by_mail
    assert short.status_code == 400 and 'id="q-errore"' in short.text and "almeno 3 caratteri" in short.text
    assert short.text.count("almeno 3 caratteri") == 1
    sql = "SELECT count(*) FROM contact.access_log WHERE tenant_id = :t AND action = 'search_debtors'"
    assert await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id) == 8


@pytest.mark.asyncio
async def test_the_search_is_the_firms_not_the_offices(platform: Platform, tenant: Identity) -> None:
    office = as_user(tenant, "u-office", ("comune_viewer",))
    async with service_client(platform, "contact", office) as client:
        refused = await client.get(f"{base(office)}/cerca", params={"q": "rossi"})
    assert refused.status_code == 403


@pytest.mark.asyncio
async def test_a_taxpayer_with_a_notice_in_hand_is_found_by_its_code_or_iuv(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    bianchi, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    owed = position_fact(60_000, debtor_id=bianchi, name="BIANCHI CARLA", fiscal_code="BNCCRL70A41H501P")
    await seed(platform, tenant.tenant_id, owed)
    await seed(platform, other_tenant.tenant_id, position_fact(1_000, debtor_id=stranger, name="NERI ADA"))
    nav, iuv = f"3{uuid.uuid4().int % 10**17:017d}", f"{uuid.uuid4().int % 10**17:017d}"
    issued = NoticeIssued(nav, iuv, owed.position_id, bianchi, 60_000, "2026-12-31", "op-1")
    await deliver(platform, issued.envelope(tenant.tenant_id, "payments"))
    await deliver(platform, issued.envelope(tenant.tenant_id, "payments"))  # a replay: kept once
    # Another Comune's notice, with a code of its own (never this one's).
    other_nav = f"3{(int(nav[1:]) + 1) % 10**17:017d}"
    other_iuv = f"{(int(iuv) + 1) % 10**17:017d}"
    elsewhere = NoticeIssued(other_nav, other_iuv, str(uuid.uuid4()), stranger, 1_000, "2026-12-31", "x")
    await deliver(platform, elsewhere.envelope(other_tenant.tenant_id, "payments"))
    printed = " ".join((nav[:4], nav[4:8], nav[8:12], nav[12:16], nav[16:]))
    op = as_user(tenant, "op-notice")
    async with service_client(platform, "contact", op) as client:
        by_nav = (await client.get(f"{base(op)}/cerca", params={"q": printed})).text
        by_iuv = (await client.get(f"{base(op)}/cerca", params={"q": iuv})).text
        theirs = (await client.get(f"{base(op)}/cerca", params={"q": elsewhere.nav})).text
    assert f"/debtors/{bianchi}" in by_nav and "1 contribuente trovato" in by_nav
    assert f"/debtors/{bianchi}" in by_iuv and "1 contribuente trovato" in by_iuv
    assert f"/debtors/{stranger}" not in theirs and "Nessun contribuente di questo Comune" in theirs
    sql = "SELECT count(*) FROM contact.debtor_notices WHERE tenant_id = :t"
    assert await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id) == 1
