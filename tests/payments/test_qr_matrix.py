"""The notice QR code's faster mask choice gives exactly segno's symbol (ISO/IEC 18004 §7.8.3):
every module and the mask number, on random payloads of every amount length."""

from __future__ import annotations

import random

import pytest
import segno

from services.payments import qr_matrix
from services.payments.domain_notices import notice_number, qr_payload


def payloads(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    found = []
    for n in range(count):
        nav = notice_number(f"{rnd.randrange(100):02d}", rnd.randrange(10**13))
        amount = rnd.randrange(1, 10 ** (1 + n % 10))  # 1 to 10 digits: versions 4 and the longest
        found.append(qr_payload(nav, f"{rnd.randrange(10**11):011d}", amount))
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_every_module_and_the_mask_equal_segnos(seed: int) -> None:
    masks = set()
    for payload in payloads(250, seed):
        modules, mask = qr_matrix.matrix(payload)
        reference = segno.make(payload, error="m", micro=False, boost_error=False)
        assert (modules, mask) == (tuple(reference.matrix), reference.mask), payload
        masks.add(mask)
    assert len(masks) >= 6  # the choice really varies: no mask wins by construction


def test_other_symbol_versions_too() -> None:
    for text in ("PAGOPA|002|" + "9" * n for n in (1, 40, 120)):
        modules, mask = qr_matrix.matrix(text)
        reference = segno.make(text, error="m", micro=False, boost_error=False)
        assert (modules, mask) == (tuple(reference.matrix), reference.mask)
