"""The mapping of positions and plans to GPD's PaymentPositionModel (external v1 OpenAPI)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.payments import domain_gpd
from services.payments.domain_gpd import Creditor, Debt, Option
from tests.payments.gpd_server import POSITION, validate

CREDITOR = Creditor("80012340011", "Comune di Demo A", "IT60 X054 2811 1010 0000 0123 456")
PLAN_ID = uuid.UUID("5e1f0f3c-8a44-4f8e-9a43-2c4b6f0e9d11")


def plan() -> Debt:
    options = (
        Option("301000000000000213", "01000000000000213", 5_002, date(2027, 2, 28), installment=2),
        Option("301000000000000117", "01000000000000117", 10_003, date(2027, 1, 31)),
        Option("301000000000000122", "01000000000000122", 5_001, date(2027, 1, 31), installment=1),
    )
    return Debt("plan", PLAN_ID, "rssmra80a01h501u ", "ROSSI MARIO", "TARI", "TARI atti T1, T2", options)


def test_a_plan_is_one_position_with_the_single_payment_and_its_installments() -> None:
    model = domain_gpd.position_model(CREDITOR, plan())
    assert model["iupd"] == f"80012340011-{PLAN_ID}"
    assert (model["type"], model["fiscalCode"], model["fullName"]) == ("F", "RSSMRA80A01H501U", "ROSSI MARIO")
    assert model["companyName"] == "Comune di Demo A" and model["switchToExpired"] is False
    options = model["paymentOption"]
    assert [(o["iuv"], o["amount"], o["isPartialPayment"]) for o in options] == [
        ("01000000000000117", 10_003, False),
        ("01000000000000122", 5_001, True),
        ("01000000000000213", 5_002, True),
    ]
    assert [o["description"] for o in options] == [
        "Pagamento in unica soluzione - TARI atti T1, T2",
        "Rata 1 di 2 - TARI atti T1, T2",
        "Rata 2 di 2 - TARI atti T1, T2",
    ]
    assert options[1]["nav"] == "301000000000000122"
    assert validate("", model, POSITION) == []


def test_each_option_has_one_transfer_of_its_whole_amount_to_the_comune() -> None:
    option = domain_gpd.position_model(CREDITOR, plan())["paymentOption"][1]
    assert option["transfer"] == [
        {
            "idTransfer": "1",
            "amount": 5_001,
            "organizationFiscalCode": "80012340011",
            "remittanceInformation": "Rata 1 di 2 - TARI atti T1, T2",
            "category": "9/0101101IM/",
            "iban": "IT60X0542811101000000123456",
            "companyName": "Comune di Demo A",
        }
    ]


def test_due_dates_are_the_end_of_the_italian_day_in_utc() -> None:
    assert domain_gpd.due_date_time(date(2027, 1, 31)) == "2027-01-31T22:59:59Z"  # CET
    assert domain_gpd.due_date_time(date(2027, 7, 31)) == "2027-07-31T21:59:59Z"  # CEST


def test_a_position_alone_and_a_legal_person() -> None:
    option = Option("301000000000000099", "01000000000000099", 1, date(2027, 3, 31))
    reason = "CUP 2023, atto " + "X" * 200
    debt = Debt("position", uuid.uuid4(), "01234567890", "ACME SRL", "CUP", reason, (option,))
    model = domain_gpd.position_model(CREDITOR, debt)
    assert model["type"] == "G"
    only = model["paymentOption"][0]
    assert only["isPartialPayment"] is False and only["amount"] == 1
    assert only["description"] == reason[:140] and len(only["transfer"][0]["remittanceInformation"]) == 140
    assert only["transfer"][0]["category"] == "9/0101108TS/"
    assert validate("", model, POSITION) == []


def test_no_zero_amount_and_the_export_skips_what_has_no_payable_option() -> None:
    zero = Debt(
        "position",
        uuid.uuid4(),
        "01234567890",
        "ACME SRL",
        "CUP",
        "r",
        (Option("3", "0", 0, date(2027, 1, 1)),),
    )
    with pytest.raises(ValueError):
        domain_gpd.position_model(CREDITOR, zero)
    empty = Debt("position", uuid.uuid4(), "01234567890", "ACME SRL", "CUP", "r", ())
    export = domain_gpd.export(CREDITOR, [plan(), empty])
    assert export["organizationFiscalCode"] == "80012340011"
    assert [p["iupd"] for p in export["paymentPositions"]] == [f"80012340011-{PLAN_ID}"]
