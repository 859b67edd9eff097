from datetime import date
from decimal import Decimal

import pytest

from services.contracts import REVENUE_TYPES
from services.kernel.errors import DomainError
from services.reporting import domain_aggio as d
from services.reporting.domain_aggio import ALL_TYPES, Band, Base, Contract

TODAY = date(2026, 11, 30)


def form(*rows: tuple[str, str, str, str], **extra: str) -> dict[str, str]:
    fields = {"reference": "Rep. 123/2025", "start_date": "01/01/2026", **extra}
    for i, (kind, start, end, rate) in enumerate(rows, 1):
        fields.update(
            {f"row-{i}-type": kind, f"row-{i}-from": start, f"row-{i}-to": end, f"row-{i}-rate": rate}
        )
    return fields


def refused(fields: dict[str, str]) -> DomainError:
    with pytest.raises(DomainError) as err:
        d.parse_contract(fields, REVENUE_TYPES, TODAY)
    return err.value


def test_a_flat_contract_is_one_row() -> None:
    contract = d.parse_contract(form(("*", "0", "", "18,5")), REVENUE_TYPES, TODAY)
    assert contract.basis == "flat"
    assert contract.bands == (Band(ALL_TYPES, 0, None, 1850),)
    assert not contract.vat_applies


def test_tiered_by_type_and_bands_with_vat() -> None:
    contract = d.parse_contract(
        form(
            ("IMU", "0", "10.000,00", "10"),
            ("IMU", "10.000,00", "", "5"),
            ("*", "0", "", "12,25"),
            vat_applies="1",
            vat_percent="22",
        ),
        REVENUE_TYPES,
        TODAY,
    )
    assert contract.basis == "by_type_bands"
    assert contract.table("IMU") == (Band("IMU", 0, 1_000_000, 1000), Band("IMU", 1_000_000, None, 500))
    assert (contract.vat_applies, contract.vat_rate_bp) == (True, 2200)


def test_a_gap_between_bands_is_refused_at_the_row() -> None:
    err = refused(form(("*", "0", "10.000", "10"), ("*", "12.000", "", "5")))
    assert "buco" in err.message and "€ 10.000,00" in err.message and "€ 12.000,00" in err.message
    assert err.field == "row-2-from"


def test_overlapping_bands_are_refused() -> None:
    err = refused(form(("*", "0", "10.000", "10"), ("*", "9.000", "", "5")))
    assert "si sovrappongono" in err.message and err.field == "row-2-from"
    err = refused(form(("TARI", "0", "", "10"), ("TARI", "0", "", "5"), ("*", "0", "", "1")))
    assert "si sovrappongono" in err.message


def test_a_table_must_start_at_zero_and_end_open() -> None:
    err = refused(form(("*", "100", "", "10")))
    assert "partire da € 0,00" in err.message and err.field == "row-1-from"
    err = refused(form(("*", "0", "5.000", "10")))
    assert "senza limite superiore" in err.message and err.field == "row-1-to"


def test_rates_outside_0_100_and_unknown_types_are_refused() -> None:
    assert refused(form(("*", "0", "", "100,01"))).field == "row-1-rate"
    assert "tra 0% e 100%" in refused(form(("*", "0", "", "101"))).message
    assert refused(form(("*", "0", "", "-1"))).field == "row-1-rate"
    assert refused(form(("*", "0", "", "3,333"))).field == "row-1-rate"
    err = refused(form(("BOLLO", "0", "", "3")))
    assert "sconosciuto" in err.message and err.field == "row-1-type"
    err = refused(form(("*", "0", "", "3"), vat_applies="1", vat_percent="150"))
    assert err.field == "vat_percent"


def test_every_revenue_type_needs_a_rate() -> None:
    err = refused(form(("IMU", "0", "", "10"), ("TARI", "0", "", "8")))
    assert "CUP" in err.message and "CDS" in err.message and err.field == "row-1-type"
    assert refused(form()).field == "row-1-rate"
    assert refused(form(("*", "0", "", "3"), reference="")).field == "reference"
    assert refused(form(("*", "0", "", "3"), start_date="31/02/2026")).field == "start_date"


def test_marginal_bands_to_the_cent() -> None:
    table = (
        Band(ALL_TYPES, 0, 1_000_000, 1000),
        Band(ALL_TYPES, 1_000_000, 2_500_000, 750),
        Band(ALL_TYPES, 2_500_000, None, 333),
    )
    # 10% of 10.000 + 7,5% of 15.000 + 3,33% of 1.234,57 = 1.000 + 1.125 + 41,111181 €
    assert d.exact_aggio(2_623_457, table) == Decimal("216611.1181")
    assert d.round_cents(d.exact_aggio(2_623_457, table)) == 216_611
    assert d.exact_aggio(999_999, table) == Decimal("99999.9")
    assert d.exact_aggio(-10_000, table) == Decimal(-1000)  # a net refund: credit at the first rate


def test_half_up_rounding_once_per_table_and_vat_on_the_total() -> None:
    contract = Contract(
        "X",
        TODAY,
        (Band("IMU", 0, 100_000, 1250), Band("IMU", 100_000, None, 1000), Band(ALL_TYPES, 0, None, 1850)),
        vat_applies=True,
    )
    bases = {
        "IMU": Base(
            collected_cents=150_005, refunded_cents=0, revoked_cents=7_000
        ),  # 12.500 + 5.000,5 → 17.501
        "TARI": Base(collected_cents=10_001, refunded_cents=1_000),  # pooled: 9.001
        "CDS": Base(collected_cents=3_003),  # pooled: 3.003 → pool 12.004 × 18,5% = 2.220,74 → 2.221
    }
    result = d.compute(contract, bases)
    by_type = {line.revenue_type: line.aggio_cents for line in result.lines}
    assert by_type["IMU"] == 17_501
    assert by_type["TARI"] + by_type["CDS"] == 2_221
    assert by_type == {
        "CDS": 556,
        "IMU": 17_501,
        "TARI": 1_665,
    }  # 2.221 split 3.003 : 9.001 (555,6 and 1.665,4), largest remainder
    assert result.aggio_cents == 19_722
    assert result.vat_cents == 4_339  # 4.338,84
    assert result.invoice_cents == 24_061
    assert (result.totals.collected_cents, result.totals.refunded_cents, result.totals.revoked_cents) == (
        163_009,
        1_000,
        7_000,
    )
    assert [line.table for line in result.lines] == [ALL_TYPES, "IMU", ALL_TYPES]


def test_without_vat_the_invoice_is_the_aggio() -> None:
    result = d.compute(d.flat(350, TODAY), {"IMU": Base(33_457)})
    assert (result.aggio_cents, result.vat_cents, result.invoice_cents) == (1_171, 0, 1_171)


def test_the_period_must_not_end_before_it_starts() -> None:
    assert d.parse_period("2026-10-01", "2026-10-31") == (date(2026, 10, 1), date(2026, 10, 31))
    with pytest.raises(DomainError, match="termina prima di iniziare"):
        d.parse_period("2026-10-31", "2026-10-01")
    with pytest.raises(DomainError, match="non è una data valida") as err:
        d.parse_period("2026-13-01", "2026-10-01")
    assert err.value.field == "period_from"
    with pytest.raises(DomainError, match="period_to"):
        d.parse_period("2026-10-01", None)


def test_first_working_day_of_the_month() -> None:
    assert d.first_working_day(date(2024, 4, 1)) == date(2024, 4, 2)  # Easter Monday
    assert d.first_working_day(date(2026, 11, 1)) == date(2026, 11, 2)  # All Saints' on a Sunday
    assert d.first_working_day(date(2027, 1, 1)) == date(2027, 1, 4)  # New Year, then a weekend
    assert not d.rendiconto_due(date(2027, 1, 1)) and d.rendiconto_due(date(2027, 1, 4))
    assert d.previous_month(date(2027, 1, 4)) == date(2026, 12, 1)
    assert d.month_bounds(date(2024, 2, 1)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert d.parse_month("2026-10", TODAY) == date(2026, 10, 1)
    with pytest.raises(DomainError, match="mese già concluso"):
        d.parse_month("2026-11", TODAY)


def test_every_field_at_fault_is_named_at_once() -> None:
    from services.kernel.errors import FieldErrors

    fields = form(("*", "0", "", "101"), ("BOLLO", "0", "", "3"), start_date="31/02/2026", reference="")
    err = refused({**fields, "vat_applies": "1", "vat_percent": "abc"})
    assert isinstance(err, FieldErrors)
    assert list(err.errors) == ["reference", "start_date", "vat_percent", "row-1-rate", "row-2-type"]
    assert err.field == "reference"
    # The tables' own rules (gaps, overlaps, cover) are judged once every row reads.
    gap = refused(form(("*", "0", "10.000", "10"), ("*", "12.000", "", "5"), reference=""))
    assert isinstance(gap, FieldErrors) and list(gap.errors) == ["reference"]
