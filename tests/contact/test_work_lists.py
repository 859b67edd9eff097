"""The operators' work lists: the rules of a list (pure), the queue offering a listed operator only
the debtors of their list (the others unaffected, callbacks still theirs, Comuni apart), and the
supervisors' editor (audited, refused to everyone else), on the real database."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.contact import domain_lists, repository, repository_lease, repository_lists
from services.contact.domain_lists import WorkList
from services.kernel.errors import DomainError
from services.kernel.identity import Identity, sign_subject
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import seed, uncapped
from tests.contact.test_web import as_user, base
from tests.support import position_fact

HX = {"HX-Request": "true"}
TARI_LIST = WorkList(("TARI",), 2019, 2021, 10_000, 500_000)

# ------------------------------------------------------------------------------------- pure rules


def test_a_list_as_typed() -> None:
    got = domain_lists.check_list(["tari", " IMU ", ""], "2019", "2021", "100", "5.000,00")
    assert got == WorkList(("IMU", "TARI"), 2019, 2021, 10_000, 500_000)
    assert domain_lists.check_list([], "", "", "", "1.500") == WorkList(max_cents=150_000)
    assert domain_lists.describe(TARI_LIST) == "TARI, anni 2019–2021, dovuto da € 100,00 a € 5.000,00"
    assert domain_lists.describe(WorkList(("IMU", "CDS"), year_from=2020)) == "IMU o CDS, anni dal 2020"
    assert domain_lists.describe(WorkList(year_from=2020, year_to=2020, min_cents=5_050)) == (
        "tutti i tributi, anno 2020, dovuto almeno € 50,50"
    )
    # What the editor shows is what it reads back.
    values = domain_lists.form_values(TARI_LIST)
    assert values == {"anno_da": "2019", "anno_a": "2021", "importo_min": "100,00", "importo_max": "5.000,00"}
    again = domain_lists.check_list(["TARI"], *(values[f] for f in domain_lists.FIELDS[1:]))
    assert again == TARI_LIST


def test_every_field_at_fault_is_named_at_once() -> None:
    from services.kernel.errors import FieldErrors

    with pytest.raises(FieldErrors) as refused:
        domain_lists.check_list(["TASI"], "2022", "2019x", "-1", "dieci")
    assert list(refused.value.errors) == ["tributi", "anno_a", "importo_min", "importo_max"]


@pytest.mark.parametrize(
    ("kinds", "years", "amounts", "field", "message"),
    [
        (["TASI"], ("", ""), ("", ""), "tributi", "Tributo sconosciuto: «TASI»."),
        (["TARI"], ("2022", "2019"), ("", ""), "anno_a", "L'anno finale non può precedere quello iniziale."),
        (["TARI"], ("19", ""), ("", ""), "anno_da", "Anno non valido"),
        (["TARI"], ("", "2021x"), ("", ""), "anno_a", "Anno non valido"),
        ([], ("", ""), ("5.000", "100"), "importo_max", "L'importo massimo non può essere minore"),
        ([], ("", ""), ("-100", ""), "importo_min", "L'importo non può essere negativo."),
        ([], ("", ""), ("", "-1,00"), "importo_max", "L'importo non può essere negativo."),
        ([], ("", ""), ("dieci", ""), "importo_min", "Importo non valido"),
        ([], ("", ""), ("", "99999999999999999"), "importo_max", "Importo troppo alto"),  # was a 500
        ([], ("", ""), ("", ""), "tributi", "Indica almeno un tributo, un anno o un importo"),
    ],
)
def test_a_list_refused_at_its_field(
    kinds: list[str], years: tuple[str, str], amounts: tuple[str, str], field: str, message: str
) -> None:
    with pytest.raises(DomainError) as refused:
        domain_lists.check_list(kinds, *years, *amounts)
    assert refused.value.field == field and refused.value.message.startswith(message)


# ------------------------------------------------------------------------------------- the queue


async def set_list(platform: Platform, who: Identity, operator: str, work_list: WorkList) -> None:
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        await repository_lists.save_list(uow, who.tenant_id, (operator, None), work_list, ("sup", "Sup"))
        await uow.commit()


async def leases(platform: Platform, who: Identity, operators: list[str]) -> list[str | None]:
    """What each operator is offered in turn (each keeps what they got), all rolled back."""
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        got = [await repository_lease.take_next(uow, who.tenant_id, op, uncapped()) for op in operators]
    return [str(d) if d else None for d in got]


@pytest.mark.asyncio
async def test_a_listed_operator_is_offered_only_the_debtors_of_the_list(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    ids = {name: str(uuid.uuid4()) for name in ("listed", "imu", "old", "rich", "paid", "small")}
    paid_tari = position_fact(50_000, debtor_id=ids["paid"], credit=("TARI", 2022, "P"))
    await seed(
        platform,
        tenant.tenant_id,
        position_fact(50_000, debtor_id=ids["listed"], credit=("TARI", 2022, "L")),
        position_fact(80_000, debtor_id=ids["imu"], credit=("IMU", 2022, "I")),
        # Older than the list (2021, not yet time-barred: a time-barred debtor is never leased).
        position_fact(30_000, debtor_id=ids["old"], credit=("TARI", 2021, "O")),
        position_fact(900_000, debtor_id=ids["rich"], credit=("TARI", 2022, "R")),
        # Its TARI is paid: what it still owes (€400 of IMU) is within the band, but no TARI is open.
        paid_tari,
        position_fact(40_000, debtor_id=ids["paid"], credit=("IMU", 2022, "Q")),
        position_fact(5_000, debtor_id=ids["small"], credit=("TARI", 2022, "S")),
    )
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        payment = (uuid.uuid4(), uuid.UUID(ids["paid"]), uuid.UUID(paid_tari.position_id))
        await repository.register_payment(uow, tenant.tenant_id, *payment, 50_000, date(2026, 1, 10))
        await uow.commit()
    for operator in ("op-tari-1", "op-tari-2"):
        await set_list(platform, tenant, operator, replace(TARI_LIST, year_from=2022, year_to=2024))
    # The first listed operator gets the one debtor of the list; the second, nobody (it is held).
    assert await leases(platform, tenant, ["op-tari-1", "op-tari-2"]) == [ids["listed"], None]
    # Without a list: the whole pool, as before.
    everyone = await leases(platform, tenant, [f"op-{n}" for n in range(7)])
    assert sorted(filter(None, everyone)) == sorted(ids.values()) and everyone[-1] is None
    # Only the band: the debtors owing €300 to €800 in all, whatever their positions.
    band = [f"op-band-{n}" for n in range(5)]
    for operator in band:
        await set_list(platform, tenant, operator, WorkList(min_cents=30_000, max_cents=80_000))
    banded = await leases(platform, tenant, band)
    assert set(banded[:4]) == {ids["listed"], ids["imu"], ids["old"], ids["paid"]} and banded[4] is None
    # The same operator in another Comune: the list is not theirs there.
    elsewhere = str(uuid.uuid4())
    await seed(platform, other_tenant.tenant_id, position_fact(80_000, debtor_id=elsewhere))
    assert await leases(platform, other_tenant, ["op-tari-1"]) == [elsewhere]


@pytest.mark.asyncio
async def test_a_callback_the_listed_operator_set_stays_theirs(platform: Platform, tenant: Identity) -> None:
    listed, imu = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(
        platform,
        tenant.tenant_id,
        position_fact(50_000, debtor_id=listed, credit=("TARI", 2021, "L")),
        position_fact(80_000, debtor_id=imu, credit=("IMU", 2021, "I")),
    )
    for operator in ("op-cb", "op-cb-2"):
        await set_list(platform, tenant, operator, TARI_LIST)
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await uow.execute(
            sa.text(
                "UPDATE contact.debtors SET status = 'da_richiamare', callback_at = :at, callback_for = 'op-cb'"
                " WHERE tenant_id = :t AND id = :d"
            ),
            {"at": datetime.now(UTC) - timedelta(minutes=5), "t": tenant.tenant_id, "d": uuid.UUID(imu)},
        )
        await uow.commit()
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        first = await repository_lease.take_next(uow, tenant.tenant_id, "op-cb", uncapped())
        # rolled back
    assert str(first) == imu
    assert await leases(platform, tenant, ["op-cb-2"]) == [listed]  # someone else's list: no IMU


@pytest.mark.asyncio
async def test_lists_are_kept_per_comune(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    await set_list(platform, tenant, "op-a", TARI_LIST)
    db = platform.databases["contact"]
    async with db.unit_of_work(other_tenant.tenant_id) as uow:
        assert await repository_lists.lists_in(uow, tenant.tenant_id) == []
        assert await repository_lists.list_of(uow, tenant.tenant_id, "op-a") is None
        assert await repository_lists.list_of(uow, other_tenant.tenant_id, "op-a") is None
    with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
        async with db.unit_of_work(other_tenant.tenant_id) as uow:
            await repository_lists.save_list(uow, tenant.tenant_id, ("op-b", None), TARI_LIST, ("x", "X"))
    async with db.unit_of_work(tenant.tenant_id) as uow:
        [stored] = await repository_lists.lists_in(uow, tenant.tenant_id)
    assert stored.operator == "op-a" and stored.work_list == TARI_LIST


# ------------------------------------------------------------------------------------ the editor


async def work_list_log(platform: Platform, who: Identity) -> list[tuple[str, str, str]]:
    sql = (
        "SELECT action, user_id, detail FROM contact.access_log WHERE tenant_id = :t"
        " AND action LIKE 'work_list%' ORDER BY id"
    )
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        return [tuple(r) for r in await uow.execute(sa.text(sql), {"t": who.tenant_id})]


@pytest.mark.asyncio
async def test_supervisors_edit_the_lists_and_each_change_is_audited(
    platform: Platform, tenant: Identity
) -> None:
    supervisor = as_user(tenant, "sup-lists", ("supervisor",))
    operator = as_user(tenant, "op-lists")
    url = f"{base(supervisor)}/liste/op-lists"
    typed = {
        "tributi": ["TARI"],
        "anno_da": "2019",
        "anno_a": "2021",
        "importo_min": "100",
        "importo_max": "5.000",
    }
    # The gateway's people page links each operator of the Comune with their name, signed.
    firma = sign_subject(platform.settings.secret_key, tenant.tenant_id, "op-lists", "Anna Operatrice")
    async with service_client(platform, "contact", supervisor) as client:
        empty = await client.get(url, params={"firma": firma}, headers=HX)
        assert empty.status_code == 200 and "Nessuna lista" in empty.text and "Anna Operatrice" in empty.text
        assert f'name="firma" value="{firma}"' in empty.text
        assert "<html" not in empty.text  # the fragment the gateway's page embeds
        # Nobody the gateway vouched for: no list, whatever the address or the name it carries.
        for params in ({}, {"nome": "Olga IMPOSTORE"}, {"firma": firma + "x"}):
            assert (await client.get(url, params=params, headers=HX)).status_code == 404, params
        other = sign_subject(platform.settings.secret_key, tenant.tenant_id, "op-other", "Anna Operatrice")
        assert (await client.post(url, data={**typed, "firma": other}, headers=HX)).status_code == 404
        bad = await client.post(url, data={**typed, "anno_da": "2022", "firma": firma}, headers=HX)
        assert bad.status_code == 400 and 'data-field="anno_a"' in bad.text and 'value="2022"' in bad.text
        worse = {**typed, "tributi": "TASI", "anno_da": "19", "importo_min": "dieci", "firma": firma}
        several = await client.post(url, data=worse, headers=HX)
        assert several.status_code == 400 and "Lista non salvata: correggi i 3 campi indicati" in several.text
        for field in ("tributi", "anno_da", "importo_min"):
            assert (
                f'href="#wl-op-lists-{field}"' in several.text and f'id="wl-op-lists-{field}' in several.text
            )
        saved = await client.post(url, data={**typed, "firma": firma, "nome": "IMPOSTORE"}, headers=HX)
        assert saved.status_code == 200 and "Lista salvata" in saved.text
        assert "TARI, anni 2019–2021, dovuto da € 100,00 a € 5.000,00" in saved.text
        page = await client.get(f"{base(supervisor)}/liste")
        assert "Anna Operatrice" in page.text and "TARI, anni 2019–2021" in page.text
        assert 'hx-confirm="Togliere la lista di Anna Operatrice? Riceverà di nuovo tutti' in saved.text
    async with service_client(platform, "contact", operator) as client:
        mine = await client.get(f"{base(operator)}/lista", headers=HX)
        assert (
            "La tua lista: <strong>TARI, anni 2019–2021, dovuto da € 100,00 a € 5.000,00</strong>"
            in mine.text
        )
        assert (await client.post(url, data=typed)).status_code == 403
        assert (await client.get(url)).status_code == 403
    async with service_client(platform, "contact", supervisor) as client:
        # A stored list's editor opens without the gateway's link (the Comune's lists page).
        again = await client.get(url, headers=HX)
        assert again.status_code == 200 and "Anna Operatrice" in again.text and "IMPOSTORE" not in again.text
        removed = await client.post(f"{url}/rimuovi", headers=HX)
        assert removed.status_code == 200 and "Lista tolta" in removed.text
        assert (await client.post(f"{url}/rimuovi", headers=HX)).status_code == 404
    async with service_client(platform, "contact", operator) as client:
        assert (await client.get(f"{base(operator)}/lista", headers=HX)).text == ""
    assert await work_list_log(platform, tenant) == [
        (
            "work_list",
            "sup-lists",
            "Anna Operatrice: TARI, anni 2019–2021, dovuto da € 100,00 a € 5.000,00",
        ),
        (
            "work_list_removed",
            "sup-lists",
            "Anna Operatrice: TARI, anni 2019–2021, dovuto da € 100,00 a € 5.000,00",
        ),
    ]


@pytest.mark.asyncio
async def test_only_supervisors_and_platform_admins_edit_lists(platform: Platform, tenant: Identity) -> None:
    url = f"{base(tenant)}/liste/op-z"
    firma = {"firma": sign_subject(platform.settings.secret_key, tenant.tenant_id, "op-z", "Zeno")}
    for roles, status in [
        (("operator",), 403),
        (("comune_admin",), 403),
        (("comune_viewer",), 403),
        (("platform_admin",), 200),
        (("supervisor",), 200),
    ]:
        async with service_client(platform, "contact", as_user(tenant, "who", roles)) as client:
            assert (await client.get(url, params=firma)).status_code == status, roles
            posted = await client.post(url, data={"tributi": "IMU", **firma}, headers=HX)
            assert posted.status_code == status, roles
    async with service_client(platform, "contact", as_user(tenant, "who", ("supervisor",))) as client:
        assert (await client.get(f"{base(tenant)}/liste/op%20z")).status_code == 404  # names nobody
    assert [a for a, _, _ in await work_list_log(platform, tenant)] == ["work_list", "work_list"]


@pytest.mark.asyncio
async def test_the_board_shows_each_operators_list(platform: Platform, tenant: Identity) -> None:
    await set_list(platform, tenant, "op-board", TARI_LIST)
    supervisor = as_user(tenant, "sup-board-lists", ("supervisor",))
    async with service_client(platform, "contact", supervisor) as client:
        board = await client.get(f"{base(supervisor)}/board")
    assert "1 operatore ha una lista" in board.text


@pytest.mark.asyncio
async def test_an_empty_queue_says_it_is_the_operators_list_that_is_empty(
    platform: Platform, tenant: Identity
) -> None:
    await seed(platform, tenant.tenant_id, position_fact(80_000, credit=("IMU", 2021, "I")))
    listed, free = as_user(tenant, "op-tari-empty"), as_user(tenant, "op-free")
    await set_list(platform, tenant, listed.user_id, TARI_LIST)
    async with service_client(platform, "contact", listed) as client:
        nobody = await client.post(f"{base(listed)}/next", headers=HX)
        assert "Nessun debitore da lavorare nella tua lista (TARI, anni 2019–2021" in nobody.text
        queue = await client.get(f"{base(listed)}/?vuota=1")
        assert "nella tua lista (TARI" in queue.text
    async with service_client(platform, "contact", free) as client:
        taken = await client.post(f"{base(free)}/next", headers=HX)
        assert "HX-Redirect" in taken.headers  # the whole pool: the IMU debtor


@pytest.mark.asyncio
async def test_the_home_counts_the_debtors_of_the_operators_list(
    platform: Platform, tenant: Identity
) -> None:
    await seed(
        platform,
        tenant.tenant_id,
        position_fact(80_000, credit=("IMU", 2021, "I")),
        position_fact(30_000, credit=("TARI", 2021, "T")),
        position_fact(40_000, credit=("IMU", 2022, "J")),
    )
    listed, free = as_user(tenant, "op-tari-home"), as_user(tenant, "op-free-home")
    await set_list(platform, tenant, listed.user_id, TARI_LIST)
    counted, shown = {}, {}
    for who in (listed, free):
        async with service_client(platform, "contact", who) as client:
            summary = await client.get(f"{base(who)}/summary", headers=HX)
            page = (await client.get(f"{base(who)}/")).text
        counted[who.user_id] = summary.text.split('data-testid="to-call">', 1)[1].split("<", 1)[0]
        # The queue's counts too (they counted the whole Comune above a table of the list).
        counts = page.split('data-status="da_lavorare">', 1)[1].split("</span>", 1)[0]
        shown[who.user_id] = counts.rsplit(">", 1)[-1]
    assert counted == shown == {"op-tari-home": "1", "op-free-home": "3"}
