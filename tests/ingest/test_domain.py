"""Pure ingest rules: amounts, revenue types, taxpayers, years, header detection, verdicts."""

from __future__ import annotations

import pytest

from services.ingest.domain import (
    CellError,
    Credit,
    Rejection,
    UnreadableFile,
    normalise_revenue_type,
    parse_amount,
    parse_taxpayer,
    parse_year,
)
from services.ingest.domain_mapping import (
    ColumnMapping,
    find_header,
    propose_mapping,
)
from services.ingest.domain_verdicts import (
    is_totals,
    parse_row,
    validate,
)
from tests.support import READABLE_AMOUNTS

YEAR = 2026


@pytest.mark.parametrize(("text", "cents"), READABLE_AMOUNTS)
def test_amounts_in_italian_and_plain_formats(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    "text", ["-12,00", "- 1.234,56", "0,00", "0.00", "", "n.d.", "mille", "12,3,4", "1,234", "1.2.3"]
)
def test_unreadable_negative_zero_or_too_precise_amounts_are_rejected(text: str) -> None:
    with pytest.raises(CellError) as err:
        parse_amount(text)
    assert err.value.reason == "amount"
    assert err.value.message


def test_zero_paid_is_allowed_when_asked() -> None:
    assert parse_amount("0,00", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IMU", "IMU"),
        ("imu", "IMU"),
        ("I.M.U.", "IMU"),
        ("tari ", "TARI"),
        ("T.A.R.I.", "TARI"),
        ("Canone unico", "CUP"),
        ("C.U.P.", "CUP"),
        ("Codice della strada", "CDS"),
        ("C.D.S.", "CDS"),
        ("Altro", "ALTRO"),
    ],
)
def test_revenue_types_ignore_case_dots_and_spaces(text: str, expected: str) -> None:
    assert normalise_revenue_type(text) == expected


@pytest.mark.parametrize("text", ["XYZ", "TASI2", "", "IRPEF"])
def test_unknown_revenue_types_are_rejected(text: str) -> None:
    with pytest.raises(CellError) as err:
        normalise_revenue_type(text)
    assert err.value.reason == "revenue_type"
    said = f"Tipo di entrata non riconosciuto: «{text}»" if text else "Tipo di entrata mancante (ammessi"
    assert err.value.message.startswith(said)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RSSMRA80A01H501U", "RSSMRA80A01H501U"),
        (" rssmra80 a01h501u ", "RSSMRA80A01H501U"),
        ("RSSMRA80A01H50MM", "RSSMRA80A01H50MM"),  # omocodic
        ("00000010215", "00000010215"),
        ("99445380399", "99445380399"),
    ],
)
def test_valid_fiscal_codes_and_vat_numbers(text: str, expected: str) -> None:
    assert parse_taxpayer(text) == expected


@pytest.mark.parametrize(
    "text", ["RSSMRA80A01H501A", "RSSMRA80A01H50", "00000010216", "994453803", "", "ABC"]
)
def test_invalid_taxpayers_are_rejected(text: str) -> None:
    with pytest.raises(CellError) as err:
        parse_taxpayer(text)
    assert err.value.reason == "taxpayer"


@pytest.mark.parametrize(
    ("text", "ok"), [("2000", True), ("2026", True), ("1999", False), ("2028", False), ("20x1", False)]
)
def test_reference_year_between_2000_and_this_year(text: str, ok: bool) -> None:
    if ok:
        assert parse_year(text, YEAR) == int(text)
    else:
        with pytest.raises(CellError):
            parse_year(text, YEAR)


def test_mapping_from_synonyms_of_each_export() -> None:
    halley = propose_mapping(
        [
            "CODICE_FISCALE",
            "COGNOME",
            "NOME",
            "RAGIONE_SOCIALE",
            "TRIBUTO",
            "ANNO",
            "NUM_ATTO",
            "IMPORTO_DOVUTO",
            "IMPORTO_VERSATO",
        ]
    )
    assert halley.columns == {
        "taxpayer": 0,
        "surname": 1,
        "first_name": 2,
        "company": 3,
        "revenue_type": 4,
        "year": 5,
        "act_number": 6,
        "amount_due": 7,
        "amount_paid": 8,
    }
    sheet = propose_mapping(
        ["CF/P.IVA", "Denominazione", "Tipo entrata", "Anno rif.", "N. avviso", "Importo residuo (€)"]
    )
    assert sheet.columns == {
        "taxpayer": 0,
        "name": 1,
        "revenue_type": 2,
        "year": 3,
        "act_number": 4,
        "amount": 5,
    }
    assert sheet.missing() == []


def test_header_found_after_title_lines() -> None:
    rows = iter(
        [
            (1, ["Comune di Prova - Elenco posizioni insolute"]),
            (2, ["Estrazione del 24/11/2026"]),
            (3, []),
            (4, ["codice_fiscale", "nominativo", "entrata", "anno_imposta", "numero_atto", "residuo"]),
            (5, ["RSSMRA80A01H501U", "ROSSI MARIO", "IMU", "2024", "1", "10.00"]),
        ]
    )
    line, mapping = find_header(rows)
    assert line == 4
    assert mapping.columns["amount"] == 5
    assert next(rows)[0] == 5  # the iterator is left at the first data line


def test_missing_header_is_reported_in_italian() -> None:
    with pytest.raises(UnreadableFile, match="Intestazione non trovata"):
        find_header(iter([(1, ["a", "b"]), (2, ["1", "2"])]))
    with pytest.raises(UnreadableFile, match="numero atto"):
        find_header(iter([(1, ["codice fiscale", "tributo", "anno", "importo"])]))


MAPPING = ColumnMapping(
    {"taxpayer": 0, "name": 1, "revenue_type": 2, "year": 3, "act_number": 4, "amount": 5}
)
DUE_PAID = ColumnMapping(
    {"taxpayer": 0, "revenue_type": 1, "year": 2, "act_number": 3, "amount_due": 4, "amount_paid": 5}
)


def test_row_becomes_a_credit() -> None:
    credit = parse_row(
        [" rssmra80a01h501u", "ROSSI  MARIO", "i.m.u.", "2024", " 2024/1 ", "€ 1.000,00"], MAPPING, YEAR
    )
    assert credit == Credit("RSSMRA80A01H501U", "ROSSI MARIO", "IMU", 2024, "2024/1", 100000)


def test_amount_due_minus_paid_and_nothing_due() -> None:
    assert isinstance(
        parse_row(["00000010215", "TARI", "2024", "7", "100,00", "40,50"], DUE_PAID, YEAR), Credit
    )
    credit = parse_row(["00000010215", "TARI", "2024", "7", "100,00", ""], DUE_PAID, YEAR)
    assert isinstance(credit, Credit) and credit.amount_cents == 10000
    paid = parse_row(["00000010215", "TARI", "2024", "7", "100,00", "100,00"], DUE_PAID, YEAR)
    assert paid == Rejection("amount", "nothing_due", paid.message if isinstance(paid, Rejection) else "")


def test_every_rejection_names_its_field_and_an_italian_reason() -> None:
    rejection = parse_row(["RSSMRA80A01H501U", "X", "IRPEF", "2024", "1", "1,00"], MAPPING, YEAR)
    assert isinstance(rejection, Rejection)
    assert (rejection.field, rejection.reason) == ("revenue_type", "revenue_type")
    assert "Tipo di entrata" in rejection.message


def test_validate_counts_duplicates_conflicts_blanks_and_totals() -> None:
    cf = "RSSMRA80A01H501U"
    rows = [
        (2, [cf, "R", "IMU", "2024", "1", "10,00"]),
        (3, [cf, "R", "IMU", "2024", "1", "10,00"]),  # exact repeat
        (4, ["", "", "", "", "", ""]),  # blank
        (5, [cf, "R", "TARI", "2024", "9", "5,00"]),
        (6, [cf, "R", "TARI", "2024", "9", "6,00"]),  # same key, other amount
        (7, [cf, "R", "CDS", "1999", "3", "1,00"]),
        (8, ["", "", "", "", "TOTALE", "32,00"]),
    ]
    report = validate(iter(rows), MAPPING, 1, YEAR)
    assert [v.verdict for v in report.verdicts] == [
        "accepted",
        "duplicate",
        "conflict",
        "conflict",
        "rejected:year",
    ]
    assert [v.row_number for v in report.verdicts] == [1, 2, 3, 4, 5]
    assert [v.line_number for v in report.verdicts] == [2, 3, 5, 6, 7]
    assert report.accepted_total_cents == 1000
    assert report.rejected == {"year": 1}
    assert report.verdicts[4].field == "year"


def test_a_totals_line_may_carry_its_word_in_the_taxpayer_column() -> None:
    cf = "RSSMRA80A01H501U"
    rows = [
        (2, [cf, "R", "IMU", "2024", "1", "10,00"]),
        (3, ["TOTALE", "", "", "", "", "10,00"]),  # a lookalike: a credit follows, so it is a row
        (4, [cf, "R", "IMU", "2024", "2", "20,00"]),
        (5, ["Totale generale:", "", "", "", "", "30,00"]),  # the last line: not a credit
    ]
    report = validate(iter(rows), MAPPING, 1, YEAR)
    assert [(v.line_number, v.verdict) for v in report.verdicts] == [
        (2, "accepted"),
        (3, "rejected:taxpayer"),
        (4, "accepted"),
    ]
    assert not is_totals(["RSSMRA80A01H501U", "", "", "", "TOTALE", "1,00"], MAPPING)
    assert is_totals(["T.O.T.A.L.E.", "", "", "", "", "1,00"], MAPPING)


# ---------------------------------------------------------------- contacts, warnings, mappings

from datetime import date  # noqa: E402

from services.ingest.domain import (  # noqa: E402
    is_valid_codice_fiscale,
)
from services.ingest.domain_contacts import (  # noqa: E402
    contacts_of,
    limitation_warning,
    normalise_email,
    normalise_phone,
    row_warnings,
)
from services.ingest.domain_mapping import (  # noqa: E402
    MappingError,
    ambiguous_fields,
    header_candidate,
    header_signature,
    mapping_from_choices,
    row_values,
)
from services.kernel.cells import neutralise  # noqa: E402
from services.kernel.limitation import Cutoffs  # noqa: E402

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("3471234567", "+393471234567"),
        ("+39 347 1234567", "+393471234567"),
        ("00393471234567", "+393471234567"),
        ("347/1234567", "+393471234567"),
        ("06-1234567", "+39061234567"),
        ("n.d.", None),
        ("12", None),
        ("", None),
    ],
)
def test_phones_become_e164_or_nothing(text: str, e164: str | None) -> None:
    assert normalise_phone(text) == e164


def test_emails_are_checked() -> None:
    assert normalise_email(" Mario.Rossi@Example.it ") == "mario.rossi@example.it"
    assert normalise_email("posta@") is None
    assert normalise_email("x@pec.example.it") == "x@pec.example.it"


CONTACT_MAP = ColumnMapping(
    {
        "taxpayer": 0,
        "name": 1,
        "revenue_type": 2,
        "year": 3,
        "act_number": 4,
        "amount": 5,
        "phone": 6,
        "email": 7,
        "address": 8,
        "postcode": 9,
        "city": 10,
        "act_date": 11,
    }
)


def _warnings(cells: list[str]) -> list[str]:
    values = row_values(cells, CONTACT_MAP)
    return [code for code, _ in row_warnings(values, contacts_of(values), Cutoffs.on(TODAY))]


def test_clean_row_has_no_warnings() -> None:
    cells = [
        "RSSMRA80A01H501U",
        "ROSSI",
        "IMU",
        "2024",
        "1",
        "10",
        "3471234567",
        "a@b.it",
        "VIA ROMA 1",
        "00100",
        "ROMA",
        "15/01/2024",
    ]
    assert _warnings(cells) == []
    assert contacts_of(row_values(cells, CONTACT_MAP)).address == "VIA ROMA 1 00100 ROMA"


def test_warnings_flag_without_rejecting() -> None:
    cells = [
        "RSSMRA80A01H501U",
        "=HYPERLINK(1)",
        "IMU",
        "2020",
        "1",
        "10",
        "n.d.",
        "posta@",
        "VIA ROMA 1",
        "",
        "ROMA",
        "20/11/2021",
    ]
    assert _warnings(cells) == ["phone", "email", "address", "limitation", "formula"]
    assert isinstance(parse_row(cells, CONTACT_MAP, YEAR), Credit)


def test_a_row_without_an_act_day_is_time_barred_with_its_year() -> None:
    """No notification nor due date: the limitation runs from the end of the reference year (on
    24 November 2026, the years up to 2020 are barred), as the relazione and the queue count it."""
    values = {"year": "2020", "act_date": "", "due_date": ""}
    limit = Cutoffs.on(TODAY)
    assert limitation_warning(values, limit) == (
        "Anno 2020 senza data di notifica né scadenza: oltre il termine di prescrizione di cinque anni "
        "dalla fine dell'anno."
    )
    assert limitation_warning({**values, "year": "2021"}, limit) == ""
    assert limitation_warning({**values, "year": "2019.0"}, limit).startswith("Anno 2019 ")
    # An act's day decides when there is one, however old the year.
    assert limitation_warning({**values, "act_date": "20/12/2022"}, limit) == ""
    assert limitation_warning({**values, "year": "２０１９"}, limit) == ""  # not a year: rejected anyway


def test_a_row_without_a_name_is_flagged() -> None:
    cells = [
        "RSSMRA80A01H501U",
        "",
        "IMU",
        "2024",
        "1",
        "10",
        "",
        "",
        "VIA ROMA 1",
        "00100",
        "ROMA",
        "15/01/2024",
    ]
    assert _warnings(cells) == ["name"]
    assert _warnings([cells[0], "  ", *cells[2:]]) == ["name"]
    assert isinstance(parse_row(cells, CONTACT_MAP, YEAR), Credit)


def test_unreadable_date_is_a_warning() -> None:
    cells = [
        "RSSMRA80A01H501U",
        "ROSSI",
        "IMU",
        "2024",
        "1",
        "10",
        "",
        "",
        "VIA ROMA 1",
        "00100",
        "ROMA",
        "31/02/2024",
    ]
    assert _warnings(cells) == ["date"]
    iso = [*cells[:11], "2024-01-15"]
    assert _warnings(iso) == []
    values = row_values(cells, CONTACT_MAP)
    [(_, impossible)] = row_warnings(values, contacts_of(values), Cutoffs.on(TODAY))
    assert impossible == "Data inesistente: «31/02/2024» (quel giorno non esiste nel calendario)."
    values = row_values([*cells[:11], "ieri"], CONTACT_MAP)
    [(_, unreadable)] = row_warnings(values, contacts_of(values), Cutoffs.on(TODAY))
    assert unreadable == "Data non leggibile: «ieri» (attese gg/mm/aaaa o aaaa-mm-gg)."


def test_plus_in_a_phone_is_not_a_formula() -> None:
    cells = [
        "RSSMRA80A01H501U",
        "ROSSI",
        "IMU",
        "2024",
        "1",
        "10",
        "+39 347 1234567",
        "",
        "VIA ROMA 1",
        "00100",
        "ROMA",
        "",
    ]
    assert _warnings(cells) == []


@pytest.mark.parametrize(
    ("text", "safe"), [("=1+1", "'=1+1"), ("+39", "'+39"), ("-2", "'-2"), ("@x", "'@x"), ("ROSSI", "ROSSI")]
)
def test_formula_text_is_neutralised(text: str, safe: str) -> None:
    assert neutralise(text) == safe


def test_mapping_choices_need_every_required_field_once() -> None:
    mapping = mapping_from_choices(
        {0: "taxpayer", 1: "revenue_type", 2: "year", 3: "act_number", 4: "amount_due", 5: ""}, 6
    )
    assert mapping.columns == {"taxpayer": 0, "revenue_type": 1, "year": 2, "act_number": 3, "amount_due": 4}
    with pytest.raises(MappingError, match="mancano numero atto"):
        mapping_from_choices({0: "taxpayer", 1: "revenue_type", 2: "year", 4: "amount"}, 6)
    with pytest.raises(MappingError, match="più colonne"):
        mapping_from_choices({0: "taxpayer", 1: "taxpayer"}, 6)
    with pytest.raises(MappingError, match="sconosciuto"):
        mapping_from_choices({0: "password"}, 6)


def test_ambiguous_header_and_signature() -> None:
    header = ["CF", "Codice fiscale", "Tributo", "Anno", "Atto", "Importo", "Residuo"]
    assert ambiguous_fields(header) == ["taxpayer", "amount"]
    assert header_signature(["Codice Fiscale", "ANNO", ""]) == header_signature(["codice_fiscale", "anno"])


def test_header_candidate_prefers_the_line_with_most_known_columns() -> None:
    rows = [
        (1, ["Elenco insoluti"]),
        (2, ["Colonna A", "Tributo", "Anno", "X", "Y"]),
        (3, ["RSSMRA80A01H501U", "IMU", "2024", "1", "10"]),
    ]
    assert header_candidate(rows) == (2, ["Colonna A", "Tributo", "Anno", "X", "Y"])
    assert header_candidate([(1, ["a", "b"])]) is None


@pytest.mark.parametrize(
    "code",
    [
        "RSSMRA80A01H501U",
        "RSSMRA80A01H50MM",
        "RCCMNL83S18D969H",
        "CNTCHR83T41D969D",
        "RSSMRA80A41H501Y",
        "ABCDEF12G34H567I",
    ],
)
def test_fast_codice_fiscale_check_agrees_with_stdnum(code: str) -> None:
    from stdnum.it import codicefiscale

    assert is_valid_codice_fiscale(code) == codicefiscale.is_valid(code)


def test_codice_fiscale_with_impossible_birth_date_is_invalid() -> None:
    from stdnum.it import codicefiscale

    first15 = "RSSMRA80B31H501"  # 31 February
    code = first15 + codicefiscale.calc_check_digit(first15)
    assert not is_valid_codice_fiscale(code)
    assert not codicefiscale.is_valid(code)


# ---------------------------------------------------------------- tracing rows

from services.ingest.domain_contacts import (  # noqa: E402
    ContactDatum,
    email_kind,
    normalise_contact,
)
from services.ingest.domain_tracing import (  # noqa: E402
    parse_traced,
    tracing_mapping,
)


def test_tracing_header_needs_code_source_date_and_a_contact() -> None:
    mapping = tracing_mapping(
        ["Codice fiscale", "Telefono", "PEC", "Fonte", "Data reperimento", "Affidabilità"]
    )
    assert mapping.columns == {
        "taxpayer": 0,
        "phone": 1,
        "pec": 2,
        "source": 3,
        "found_on": 4,
        "confidence": 5,
    }
    with pytest.raises(UnreadableFile, match="almeno una tra"):
        tracing_mapping(["Codice fiscale", "Fonte", "Data"])


def test_traced_row_keeps_provenance_and_normalised_contacts() -> None:
    values = {
        "taxpayer": "rssmra80a01h501u",
        "phone": "347 123 4567",
        "pec": "Mario@PEC.Example.it",
        "source": " InfoTrace ",
        "found_on": "10/11/2026",
        "confidence": "85",
    }
    traced = parse_traced(values, TODAY)
    assert traced.fiscal_code == "RSSMRA80A01H501U"
    assert traced.contacts == (
        ContactDatum("phone", "+393471234567"),
        ContactDatum("pec", "mario@pec.example.it"),
    )
    assert (traced.source, traced.found_on, traced.confidence) == ("InfoTrace", date(2026, 11, 10), 85)
    assert parse_traced({**values, "confidence": ""}, TODAY).confidence == 70


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"found_on": "01/01/2030"}, "found_on"),
        ({"found_on": ""}, "found_on"),
        ({"source": ""}, "source"),
        ({"confidence": "150"}, "confidence"),
        ({"phone": "12"}, "phone"),
        ({"taxpayer": "RSSMRA80A01H501A"}, "taxpayer"),
        ({"phone": "", "pec": ""}, "contacts"),
    ],
)
def test_unusable_traced_rows_say_why(change: dict[str, str], reason: str) -> None:
    values = {
        "taxpayer": "RSSMRA80A01H501U",
        "phone": "3471234567",
        "pec": "",
        "source": "X",
        "found_on": "2026-11-01",
    }
    with pytest.raises(CellError) as err:
        parse_traced({**values, **change}, TODAY)
    assert err.value.reason == reason


def test_contact_kinds() -> None:
    assert email_kind("a@pec.comune.it") == "pec"
    assert email_kind("a@legalmail.it") == "pec"
    assert email_kind("a@example.it") == "email"
    assert normalise_contact("address", "  VIA  ROMA 1 ") == ContactDatum("address", "VIA ROMA 1")
    with pytest.raises(CellError):
        normalise_contact("address", "123")
    with pytest.raises(CellError):
        normalise_contact("fax", "0612345")


def test_a_pec_alone_makes_a_debtor_reachable_in_writing_a_plain_email_does_not() -> None:
    from services.ingest.domain_contacts import grade

    assert grade([("pec", True, 60)]) == "address"
    assert grade([("pec", True, 40)]) == "none"  # below the confidence an address needs too
    assert grade([("pec", False, 90)]) == "none"
    assert grade([("email", True, 90)]) == "none"
    assert grade([("pec", True, 60), ("phone", True, 10)]) == "phone"


def test_a_rows_act_day_is_its_notification_else_its_due_day() -> None:
    from services.ingest.domain import act_day

    assert act_day({"act_date": "16/03/2022", "due_date": "15/05/2022"}) == date(2022, 3, 16)
    assert act_day({"act_date": "", "due_date": "2022-05-15"}) == date(2022, 5, 15)
    assert act_day({"act_date": "31/02/2022", "due_date": "15/05/2022"}) == date(2022, 5, 15)
    assert act_day({"year": "2020"}) is None
