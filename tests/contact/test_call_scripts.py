"""Call scripts: a Comune's own steps per revenue type between the fixed steps the editor cannot
remove, refused in Italian when wrong, shown on the card for the debtor's revenue types."""

from __future__ import annotations

import html
import uuid

import pytest

from services.contact.domain_scripts import DEFAULT_STEPS, OPENING, PRIVACY, check_steps, script_for
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import seed
from tests.contact.test_conduct_web import MONDAY, record, take
from tests.contact.test_web import as_user, base
from tests.support import contact_clock, position_fact


def test_steps_are_one_per_line_within_limits() -> None:
    assert check_steps("tari", " Spiega la TARI 2023\n\n Proponi l'avviso unico ") == (
        "TARI",
        ("Spiega la TARI 2023", "Proponi l'avviso unico"),
    )
    assert check_steps("imu", " \n ") == ("IMU", ())  # no steps of its own: back to the defaults
    for kind, raw, field in (
        ("ICI", "Passo", "revenue_type"),
        ("IMU", "ok\n" * 13, "steps"),
        ("IMU", "x" * 501, "steps"),
    ):
        with pytest.raises(DomainError) as refused:
            check_steps(kind, raw)
        assert refused.value.field == field


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (OPENING[0], "ripete un passo fisso"),
        ("  " + OPENING[1].upper() + " ", "ripete un passo fisso"),
        (PRIVACY.rstrip(".") + ";", "ripete un passo fisso"),
        (
            "Non è necessario verificare l'identità dell'interlocutore.",
            "l'identità dell'interlocutore si verifica",
        ),
        (
            "Senza verificare chi risponde, spiega subito il debito.",
            "l'identità dell'interlocutore si verifica",
        ),
        ("Se risponde un familiare, spiegagli il debito e chiedi di riferire.", "non si rivela mai"),
        ("Al collega che risponde comunica l'importo dovuto.", "non si rivela mai"),
    ],
)
def test_the_comunes_part_neither_repeats_nor_contradicts_the_fixed_steps(step: str, words: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_steps("CUP", f"Spiega la CUP dell'anno\n{step}")
    assert refused.value.field == "steps" and refused.value.message.startswith("Il passo 2 ")
    assert words in refused.value.message


def test_steps_that_agree_with_the_fixed_ones_are_kept() -> None:
    fine = (
        "Se risponde un terzo, non rivelare il debito: chiedi solo quando richiamare.",
        "Evita di rivelare al familiare il motivo della chiamata.",
        "Se il contribuente non ha verificato l'avviso ricevuto, rileggiglielo.",
        "Verifica l'identità prima di parlare del debito.",
    )
    assert check_steps("CUP", "\n".join(fine)) == ("CUP", fine)


def test_the_card_shows_each_revenue_types_steps_once() -> None:
    own = {"TARI": ("Spiega la TARI",), "*": ("Passo comune",)}
    assert script_for(["TARI", "IMU", "CDS"], own) == [
        ("TARI", ("Spiega la TARI",)),
        ("IMU", ("Passo comune",)),
    ]
    assert script_for(["IMU"], {}) == [("IMU", DEFAULT_STEPS)]


@pytest.mark.asyncio
async def test_a_supervisor_writes_the_tari_script_and_the_card_follows_it(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, position_fact(40_000, debtor_id=d, credit=("TARI", 2023, "T")))
    supervisor = as_user(tenant, "sup-script", ("supervisor",))
    async with service_client(platform, "contact", supervisor) as client:
        page = html.unescape((await client.get(f"{base(supervisor)}/scripts")).text)
        assert "Verifica l'identità" in page and "art. 28 del Regolamento UE 2016/679" in page
        refused = await client.post(
            f"{base(supervisor)}/scripts", data={"revenue_type": "TARI", "steps": "ok\n" * 13}
        )
        assert refused.status_code == 400 and "Al massimo 12 passi" in refused.text
        assert 'aria-invalid="true"' in refused.text
        steps = "Ricorda che la TARI 2023 è scaduta a dicembre\nProponi il pagamento con l'avviso unico"
        saved = await client.post(
            f"{base(supervisor)}/scripts", data={"revenue_type": "TARI", "steps": steps}
        )
        assert saved.status_code == 200 and "Traccia salvata (TARI)" in saved.text
        card = html.unescape((await client.get(f"{base(supervisor)}/debtors/{d}")).text)
    assert "Ricorda che la TARI 2023 è scaduta a dicembre" in card
    # The fixed steps stay, before and after.
    assert card.index("Verifica l'identità") < card.index("Ricorda che la TARI") < card.index("art. 28")
    async with service_client(platform, "contact", supervisor) as client:
        back = await client.post(f"{base(supervisor)}/scripts", data={"revenue_type": "TARI", "steps": " \n"})
        assert back.status_code == 200 and "Traccia salvata (TARI)" in back.text
        card = html.unescape((await client.get(f"{base(supervisor)}/debtors/{d}")).text)
    # An empty box gives the type back to the defaults.
    assert "Ricorda che la TARI" not in card and DEFAULT_STEPS[0] in card
    async with service_client(platform, "contact", as_user(tenant, "op-script")) as client:
        assert (await client.get(f"{base(supervisor)}/scripts")).status_code == 403


@pytest.mark.asyncio
async def test_a_comune_names_the_outcomes_its_way_and_their_meaning_stays(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, position_fact(40_000, debtor_id=d, credit=("TARI", 2023, "L")))
    supervisor = as_user(tenant, "sup-labels", ("supervisor",))
    async with service_client(platform, "contact", supervisor) as client:
        short = await client.post(f"{base(supervisor)}/outcome-labels", data={"label_non_risponde": "no"})
        assert short.status_code == 400 and 'id="label_non_risponde-errore"' in short.text
        same = await client.post(
            f"{base(supervisor)}/outcome-labels",
            data={"label_non_risponde": "Nessuno", "label_occupato": "Nessuno"},
        )
        assert same.status_code == 400 and "lo stesso nome" in same.text
        # The second of the two is marked (the card's order: «Non risponde», then «Occupato»).
        assert 'id="label_occupato-errore"' in same.text
        # A name given may not be another outcome's default name either, whatever the case.
        taken = await client.post(
            f"{base(supervisor)}/outcome-labels", data={"label_promessa_pagamento": "non RISPONDE"}
        )
        assert taken.status_code == 400 and 'id="label_promessa_pagamento-errore"' in taken.text
        assert "«non RISPONDE» è già il nome dell&#39;esito «Non risponde»" in taken.text
        saved = await client.post(
            f"{base(supervisor)}/outcome-labels",
            data={"label_non_risponde": "Squilla a vuoto", "label_terzo_risponde": "Risponde un familiare"},
        )
        assert saved.status_code == 200 and "Nomi degli esiti salvati." in saved.text
        # The address the form posted to, reloaded: back to the form, not «Metodo non consentito».
        again = await client.get(f"{base(supervisor)}/outcome-labels")
        assert again.status_code == 303 and again.headers["location"] == f"{base(supervisor)}/scripts"
        card = (await client.get(f"{base(supervisor)}/debtors/{d}")).text
        with contact_clock(platform, MONDAY):
            assert f"/debtors/{d}" in await take(platform, supervisor)
            await record(platform, supervisor, d, outcome="non_risponde")
            board = (await client.get(f"{base(supervisor)}/board")).text
    assert '<option value="non_risponde">Squilla a vuoto</option>' in card
    assert '<option value="occupato">Occupato</option>' in card
    # The fixed step names the third-party outcome as the Comune does; the board's columns too.
    assert "registra l&#39;esito «Risponde un familiare»" in card and "«Risponde un terzo»" not in card
    assert '<th scope="col" class="text-end">Squilla a vuoto</th>' in board
