"""The aggio contract's versions (pure): which version a day is in, how a period is split among
them, the rules a new or corrected version must keep, and periods added up."""

from __future__ import annotations

from datetime import date

import pytest

from services.kernel.errors import DomainError
from services.reporting import domain_relazione_frame as frame
from services.reporting.domain_aggio import ALL_TYPES, Band, Base, Contract, compute, flat
from services.reporting.domain_aggio_versions import Versions, combine, place, shown_vat, without

FIRST = Contract("Rep. 1", date(2025, 3, 15), (Band(ALL_TYPES, 0, None, 1_000),), True, 2_200)
SECOND = flat(500, date(2026, 1, 1), "Atto aggiuntivo")
THIRD = flat(800, date(2026, 7, 1), "Atto aggiuntivo 2")


def test_a_day_is_in_the_version_that_began_last_before_it() -> None:
    versions = Versions((FIRST, SECOND, THIRD))
    assert versions.in_force(date(2024, 1, 1)) is FIRST  # before the contract: its first version
    assert versions.in_force(date(2025, 12, 31)) is FIRST
    assert versions.in_force(date(2026, 1, 1)) is SECOND
    assert versions.in_force(date(2026, 6, 30)) is SECOND
    assert versions.in_force(date(2030, 1, 1)) is THIRD
    assert (versions.first, versions.latest) == (FIRST, THIRD)
    with pytest.raises(ValueError):
        Versions((SECOND, FIRST))
    with pytest.raises(ValueError):
        Versions(())


def test_a_period_is_split_at_each_versions_start() -> None:
    versions = Versions((FIRST, SECOND, THIRD))
    assert versions.spans(date(2025, 12, 1), date(2026, 7, 31)) == [
        (FIRST, date(2025, 12, 1), date(2025, 12, 31)),
        (SECOND, date(2026, 1, 1), date(2026, 6, 30)),
        (THIRD, date(2026, 7, 1), date(2026, 7, 31)),
    ]
    assert versions.spans(date(2026, 2, 1), date(2026, 2, 28)) == [
        (SECOND, date(2026, 2, 1), date(2026, 2, 28))
    ]
    assert versions.spans(date(2020, 1, 1), date(2020, 1, 31)) == [
        (FIRST, date(2020, 1, 1), date(2020, 1, 31))
    ]


def test_a_new_version_starts_on_a_months_first_day_and_on_a_day_of_its_own() -> None:
    assert place((), None, FIRST).contracts == (FIRST,)  # the first: any day
    assert place((FIRST,), None, SECOND).contracts == (FIRST, SECOND)
    with pytest.raises(DomainError, match=r"primo giorno di un mese.*15/01/2026") as refused:
        place((FIRST,), None, flat(500, date(2026, 1, 15)))
    assert refused.value.field == "start_date"
    with pytest.raises(DomainError, match="Esiste già una versione del contratto in vigore dal 01/01/2026"):
        place((FIRST, SECOND), None, flat(900, date(2026, 1, 1)))
    # Corrected in place, its date too; a version earlier than the first makes the old first a later
    # version, which must then start on a month's first day.
    moved = flat(600, date(2026, 2, 1), "Atto aggiuntivo")
    assert place((FIRST, SECOND), date(2026, 1, 1), moved).contracts == (FIRST, moved)
    with pytest.raises(DomainError, match=r"prima dell'inizio del contratto \(15/03/2025\)"):
        place((FIRST, SECOND), None, flat(500, date(2025, 1, 1)))
    earlier = flat(500, date(2025, 1, 1))  # the first version corrected to an earlier start
    assert place((FIRST, SECOND), FIRST.start_date, earlier).contracts == (earlier, SECOND)
    with pytest.raises(DomainError, match="15/03/2025"):  # the old first, now later, not on a 1st
        place((FIRST,), None, flat(500, date(2025, 1, 1)))
    with pytest.raises(DomainError, match="non esiste più"):
        place((FIRST,), date(2026, 1, 1), SECOND)


def test_only_a_version_among_others_is_removed() -> None:
    assert without((FIRST, SECOND, THIRD), date(2026, 1, 1)).contracts == (FIRST, THIRD)
    for versions in ((FIRST, SECOND), (FIRST,)):
        with pytest.raises(DomainError, match="La prima versione del contratto non si elimina"):
            without(versions, date(2025, 3, 15))
    with pytest.raises(DomainError, match="non esiste più"):
        without((FIRST, SECOND), date(2026, 2, 1))


def test_periods_add_up_by_type_with_each_periods_rounded_vat() -> None:
    march = compute(FIRST, {"IMU": Base(10_005), "TARI": Base(2_000, 500)})  # 10% and VAT 22%
    april = compute(SECOND, {"IMU": Base(20_000)})  # 5%, no VAT
    total = combine([march, april], shown_vat([FIRST, SECOND], SECOND))
    by_type = {line.revenue_type: (line.base, line.aggio_cents) for line in total.lines}
    assert by_type == {"IMU": (Base(30_005), 1_001 + 1_000), "TARI": (Base(2_000, 500), 150)}
    assert (total.vat_cents, total.vat_rate_bp) == (march.vat_cents, 2_200)  # VAT only in March
    assert total.totals == Base(32_005, 500)
    assert shown_vat([], SECOND) == 0


def test_the_relazione_names_every_version() -> None:
    heading, rule = frame.versions_texts((FIRST, SECOND, THIRD))
    assert heading == (
        "Rep. 1, dal 15/03/2025 aggio 10,00%, IVA 22,00%; Atto aggiuntivo, dal 01/01/2026 aggio 5,00%, "
        "IVA non applicata; Atto aggiuntivo 2, dal 01/07/2026 aggio 8,00%, IVA non applicata"
    )
    assert (
        rule.startswith("Contratto in 3 versioni: Rep. 1") and "ogni mese con la versione in vigore" in rule
    )
    same = flat(700, date(2026, 1, 1), "Rep. 1")
    assert frame.versions_texts((FIRST, same))[0].endswith("; dal 01/01/2026 aggio 7,00%, IVA non applicata")
    assert frame.versions_texts((FIRST,)) == frame.contract_texts(FIRST)
    assert frame.versions_texts(()) == frame.contract_texts(None)
