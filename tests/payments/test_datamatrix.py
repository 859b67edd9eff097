"""The Poste DataMatrix of a notice (`../shared/domain.md` §1.3): its exact 256 characters, and the
symbol read back by zxing-cpp from the rendered PDF page equal to them."""

from __future__ import annotations

from datetime import date

import pypdfium2
import pytest
import zxingcpp

from services.kernel.identity import Identity
from services.payments import pdf_notice
from services.payments.domain_datamatrix import LENGTH, clean, codeline, poste_payload
from services.payments.domain_notices import notice_number, qr_payload
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, seed
from tests.payments.test_settings import GOOD
from tests.support import make_identity

NAV = notice_number("01", 548)
ARGS = (
    NAV,
    "1234567",
    12_345,
    "80012340016",
    "rssmra80a01h501u",
    "Rossi Mario Nicolò",
    "TARI 2022, atto T-1",
)


def codes(pdf: bytes) -> dict[str, str]:
    """The barcodes on the first page rendered at 200 dpi, by format."""
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=200 / 72).to_pil()
    found = {}
    for result in zxingcpp.read_barcodes(image):
        found[str(result.format)] = result.text
    return found


def test_the_payload_has_the_poste_layout() -> None:
    payload = poste_payload(*ARGS)
    assert len(payload) == LENGTH == 256
    # io-app's decodePosteDataMatrix offsets
    assert (payload[15:33], payload[49:59], payload[66:77]) == (NAV, "0000012345", "80012340016")
    expected = (
        "codfase=NBPA;"
        + f"18{NAV}"
        + "12000001234567"
        + "100000012345"
        + "3896"
        + "1P1"
        + "80012340016"
        + "RSSMRA80A01H501U"
        + "ROSSI MARIO NICOLO".ljust(40)
        + "TARI 2022, atto T-1".ljust(110)
        + " " * 12
        + "A"
    )
    assert payload == expected
    assert codeline(NAV, "1234567", 12_345) == expected[13:63]


def test_free_text_is_cleaned_and_cut_to_its_field() -> None:
    assert clean("Società «Più» & C. – n°1/2") == "Societa Piu & C.  n1 2"
    long_reason = "x" * 200
    payload = poste_payload(NAV, "1", 1, "80012340016", "00743110157", "A" * 60, long_reason)
    assert len(payload) == 256 and payload[93:133] == "A" * 40 and payload[133:243] == "x" * 110


@pytest.mark.parametrize(
    "bad",
    [
        ("301000000000000549", *ARGS[1:]),  # check digits wrong
        (NAV, "12345678901234", *ARGS[2:]),
        (NAV, "12a", *ARGS[2:]),
        (NAV, "1234567", 0, *ARGS[3:]),
        (NAV, "1234567", 10**10, *ARGS[3:]),
        (*ARGS[:3], "8001234001", *ARGS[4:]),
    ],
)
def test_bad_input_is_refused(bad: tuple[str, str, int, str, str, str, str]) -> None:
    with pytest.raises(ValueError):
        poste_payload(*bad)


def notice(postal_account: str | None) -> pdf_notice.Notice:
    return pdf_notice.Notice(
        "Comune di Demo A",
        "80012340016",
        "DEMOA",
        NAV,
        12_345,
        date(2026, 12, 31),
        "Rossi Mario Nicolò",
        "rssmra80a01h501u",
        "TARI 2022, atto T-1",
        postal_account,
    )


def test_the_rendered_page_carries_both_codes_only_with_a_postal_account() -> None:
    with_account = codes(pdf_notice.render(notice("1234567")))
    assert with_account == {
        "QR Code": qr_payload(NAV, "80012340016", 12_345),
        "Data Matrix": poste_payload(*ARGS),
    }
    assert codes(pdf_notice.render(notice(None))) == {"QR Code": qr_payload(NAV, "80012340016", 12_345)}


@pytest.mark.asyncio
async def test_a_comune_with_a_postal_account_issues_notices_with_the_datamatrix(
    platform: Platform, tenant: Identity
) -> None:
    key = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("api",), user_id="api-key-5")
    position = fact(98_765, name="VERDI ANNA", fiscal_code="VRDNNA70A41F205X")
    await seed(platform, tenant.tenant_id, position)
    async with service_client(platform, "payments", key) as http:
        settings = {**GOOD, "postal_account": "001234567"}
        assert (await http.put("/api/v1/payments/settings", json=settings)).status_code == 200
        issued = await http.post("/api/v1/payments/notices", json={"position_ids": [position.position_id]})
        option = issued.json()["options"][0]
        pdf = await http.get(option["pdf_url"])
    assert pdf.status_code == 200
    found = codes(pdf.content)
    reason = f"Tassa sui rifiuti (TARI) 2022, atto {position.act_number}"  # the name, not the acronym alone
    expected = poste_payload(
        option["nav"], "001234567", 98_765, GOOD["fiscal_code"], "VRDNNA70A41F205X", "VERDI ANNA", reason
    )
    assert found["Data Matrix"] == expected
    assert found["QR Code"] == f"PAGOPA|002|{option['nav']}|{GOOD['fiscal_code']}|98765"
