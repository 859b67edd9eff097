"""Reconciliation of pagoPA receipts (CSV) and reporting flows (FdR, XML) against the Comune's notices."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, scalar, seed
from tests.payments.test_notices import api, issue, with_creditor
from tests.support import make_identity, position_fact

COMUNE_CF = "80012340016"
RECEIPTS = "/api/v1/payments/reconciliation/receipts"
FDR = "/api/v1/payments/reconciliation/fdr"


def flow_xml(
    lines: list[tuple[str, str, int, int]],
    flow_id: str | None = None,
    receiver: str = COMUNE_CF,
    total: int | None = None,
    count: int | None = None,
) -> bytes:
    """An FdR with lines (IUV, receipt ref, cents, outcome); totals right unless given."""
    flow_id = flow_id or f"2026-11-28ABI03069-{uuid.uuid4().hex[:10]}"
    body = "".join(
        f"<datiSingoliPagamenti><identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento>"
        f"<identificativoUnivocoRiscossione>{ref}</identificativoUnivocoRiscossione>"
        f"<indiceDatiSingoloPagamento>1</indiceDatiSingoloPagamento>"
        f"<singoloImportoPagato>{Decimal(cents) / 100:.2f}</singoloImportoPagato>"
        f"<codiceEsitoSingoloPagamento>{outcome}</codiceEsitoSingoloPagamento>"
        f"<dataEsitoSingoloPagamento>2026-11-27</dataEsitoSingoloPagamento></datiSingoliPagamenti>"
        for iuv, ref, cents, outcome in lines
    )
    total_cents = sum(line[2] for line in lines) if total is None else total
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/">'
        f"<versioneOggetto>1.0</versioneOggetto><identificativoFlusso>{flow_id}</identificativoFlusso>"
        "<dataOraFlusso>2026-11-28T10:00:00</dataOraFlusso>"
        "<identificativoUnivocoRegolamento>TRN0001</identificativoUnivocoRegolamento>"
        "<dataRegolamento>2026-11-28</dataRegolamento>"
        "<istitutoMittente><identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco>"
        "<codiceIdentificativoUnivoco>BPPIITRRXXX</codiceIdentificativoUnivoco></identificativoUnivocoMittente>"
        "<denominazioneMittente>Poste Italiane</denominazioneMittente></istitutoMittente>"
        "<istitutoRicevente><identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco>"
        f"<codiceIdentificativoUnivoco>{receiver}</codiceIdentificativoUnivoco></identificativoUnivocoRicevente>"
        "</istitutoRicevente>"
        f"<numeroTotalePagamenti>{len(lines) if count is None else count}</numeroTotalePagamenti>"
        f"<importoTotalePagamenti>{Decimal(total_cents) / 100:.2f}</importoTotalePagamenti>"
        f"{body}</FlussoRiversamento>"
    ).encode()


async def upload(platform: Platform, who: Identity, url: str, data: bytes) -> tuple[int, dict[str, Any]]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.post(url, content=data)
    return response.status_code, response.json()


async def count(platform: Platform, who: Identity, table: str) -> int:
    sql = f"SELECT count(*) FROM payments.{table} WHERE tenant_id = :t"
    return int(await scalar(platform, who.tenant_id, sql, t=who.tenant_id))  # type: ignore[call-overload]


async def paid(platform: Platform, who: Identity, position_id: str) -> int:
    sql = "SELECT paid_cents FROM payments.positions WHERE tenant_id = :t AND id = :p"
    value = await scalar(platform, who.tenant_id, sql, t=who.tenant_id, p=uuid.UUID(position_id))
    return int(value)  # type: ignore[call-overload]


async def noticed(platform: Platform, who: Identity, *cents: int) -> tuple[list[str], list[str]]:
    await with_creditor(platform, who)
    facts = [fact(c) for c in cents]
    await seed(platform, who.tenant_id, *facts)
    status, answer = await issue(platform, who, [f.position_id for f in facts])
    assert status == 201, answer
    return [f.position_id for f in facts], [o["iuv"] for o in answer["options"]]


def receipts_csv(*rows: tuple[str, str, str]) -> bytes:
    """Rows of (IUV, amount, receipt ref)."""
    lines = ["iuv;importo;data_pagamento;psp;id_ricevuta"]
    lines += [f"{iuv};{amount};2026-11-27T10:15:00+01:00;Poste;{ref}" for iuv, amount, ref in rows]
    return "\n".join(lines).encode()


@pytest.mark.asyncio
async def test_a_flow_reconciles_against_its_notices_and_importing_it_again_changes_nothing(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 12_345, 20_000)
    xml = flow_xml([(iuvs[0], "R1", 12_345, 0), (iuvs[1], "R2", 20_000, 9)])
    status, answer = await upload(platform, tenant, FDR, xml)
    assert status == 200, answer
    assert (answer["matched"], answer["unmatched"], answer["duplicates"]) == (2, 0, 0)
    assert [await paid(platform, tenant, p) for p in positions] == [12_345, 20_000]
    states = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT string_agg(DISTINCT state, ',') FROM payments.payments WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert states == "REPORTED"
    async with service_client(platform, "payments", tenant) as http:
        page = await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{positions[0]}")
    assert page.status_code == 200
    assert "Rendicontato" in page.text and "Pagato" in page.text and "Flusso di rendicontazione" in page.text
    again = await upload(platform, tenant, FDR, xml)
    assert again[0] == 200 and again[1]["already_imported_flow"] is True and again[1]["matched"] == 0
    assert [await paid(platform, tenant, p) for p in positions] == [12_345, 20_000]
    assert await count(platform, tenant, "payments") == 2


@pytest.mark.asyncio
async def test_receipts_then_their_flow_go_from_paid_to_reported_and_a_duplicate_is_not_counted_twice(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 5_000)
    status, answer = await upload(platform, tenant, RECEIPTS, receipts_csv((iuvs[0], "50,00", "RCPT-1")))
    assert status == 200 and answer["matched"] == 1, answer
    state = "SELECT state FROM payments.receipts WHERE tenant_id = :t AND receipt_ref = :r"
    assert await scalar(platform, tenant.tenant_id, state, t=tenant.tenant_id, r="RCPT-1") == "PAID"
    same = await upload(platform, tenant, RECEIPTS, receipts_csv((iuvs[0], "50,00", "RCPT-1")))
    assert same[1]["already_imported"] == 1 and same[1]["matched"] == 0
    twice = await upload(platform, tenant, RECEIPTS, receipts_csv((iuvs[0], "50,00", "RCPT-2")))
    assert twice[1]["duplicates"] == 1
    assert await paid(platform, tenant, positions[0]) == 5_000
    status, flow = await upload(platform, tenant, FDR, flow_xml([(iuvs[0], "RCPT-1", 5_000, 0)]))
    assert status == 200 and flow["matched"] == 1, flow
    assert await scalar(platform, tenant.tenant_id, state, t=tenant.tenant_id, r="RCPT-1") == "REPORTED"
    async with service_client(platform, "payments", api(tenant)) as http:
        queue = (await http.get("/api/v1/payments/reconciliation/review")).json()["items"]
        assert [(i["kind"], i["receipt_ref"]) for i in queue] == [("duplicate", "RCPT-2")]
        refused = await http.post(f"/api/v1/payments/reconciliation/review/{queue[0]['id']}/resolve", json={})
        assert refused.status_code == 400 and "nota" in refused.json()["error"]
        done = await http.post(
            f"/api/v1/payments/reconciliation/review/{queue[0]['id']}/resolve",
            json={"note": "Rimborsato dal PSP"},
        )
        assert done.status_code == 200 and done.json()["status"] == "resolved"
        assert (await http.get("/api/v1/payments/reconciliation/review")).json()["items"] == []
    audited = "SELECT count(*) FROM payments.access_log WHERE tenant_id = :t AND action = 'resolve_review'"
    assert await scalar(platform, tenant.tenant_id, audited, t=tenant.tenant_id) == 1
    # The page keeps what was resolved, with the note, who and when.
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/reconciliation")).text
    resolved = page.split('data-testid="resolved"', 1)[1].split("</table>", 1)[0]
    assert iuvs[0] in resolved and "Rimborsato dal PSP" in resolved and "€ 50,00" in resolved
    assert f"<td>{api(tenant).display_name}</td>" in resolved and "api-key-7" not in resolved


@pytest.mark.asyncio
async def test_partial_over_and_unknown_payments_wait_for_review_without_touching_balances(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 10_000, 10_000)
    csv = receipts_csv(
        (iuvs[0], "40,00", "P-1"), (iuvs[1], "150,00", "O-1"), ("01999999999999999", "10,00", "U-1")
    )
    status, answer = await upload(platform, tenant, RECEIPTS, csv)
    assert status == 200, answer
    assert (answer["partial"], answer["over"], answer["unmatched"], answer["matched"]) == (1, 1, 1, 0)
    assert [await paid(platform, tenant, p) for p in positions] == [0, 0]
    assert await count(platform, tenant, "review_items") == 3
    async with service_client(platform, "payments", tenant) as http:
        page = await http.get(f"/t/{tenant.tenant_slug}/payments/reconciliation")
    assert page.status_code == 200 and f"/payments/positions/{positions[0]}" in page.text
    assert "IUV sconosciuto" in page.text


@pytest.mark.asyncio
async def test_a_revocation_in_a_flow_reverses_the_payment(platform: Platform, tenant: Identity) -> None:
    positions, iuvs = await noticed(platform, tenant, 7_700)
    await upload(platform, tenant, RECEIPTS, receipts_csv((iuvs[0], "77,00", "RV-1")))
    assert await paid(platform, tenant, positions[0]) == 7_700
    status, answer = await upload(platform, tenant, FDR, flow_xml([(iuvs[0], "RV-1", 7_700, 3)]))
    assert status == 200 and answer["revoked"] == 1, answer
    assert await paid(platform, tenant, positions[0]) == 0
    option = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND iuv = :i"
    assert await scalar(platform, tenant.tenant_id, option, t=tenant.tenant_id, i=iuvs[0]) == "payable"
    revoked = "SELECT count(*) FROM payments.outbox WHERE tenant_id = :t AND routing_key LIKE 'payments.payment_revoked%'"
    assert await scalar(platform, tenant.tenant_id, revoked, t=tenant.tenant_id) == 1


@pytest.mark.asyncio
async def test_a_revocation_after_a_refund_takes_back_only_what_was_not_refunded(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 7_700)
    await upload(platform, tenant, RECEIPTS, receipts_csv((iuvs[0], "77,00", "RR-1")))
    payment = "SELECT id FROM payments.payments WHERE tenant_id = :t AND position_id = :p"
    payment_id = await scalar(
        platform, tenant.tenant_id, payment, t=tenant.tenant_id, p=uuid.UUID(positions[0])
    )
    admin = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("comune_admin",))
    async with service_client(platform, "payments", admin) as http:
        refunded = await http.post(
            f"/t/{tenant.tenant_slug}/payments/payments/{payment_id}/rimborsi",
            data={
                "amount": "20,00",
                "refunded_on": date.today().strftime("%d/%m/%Y"),
                "reason": "Versato due volte",
                "conferma": "1",
            },
        )
    assert refunded.status_code == 303, refunded.text
    assert await paid(platform, tenant, positions[0]) == 5_700
    status, answer = await upload(platform, tenant, FDR, flow_xml([(iuvs[0], "RR-1", 7_700, 3)]))
    assert status == 200 and answer["revoked"] == 1, answer
    assert await paid(platform, tenant, positions[0]) == 0  # not -2,000


@pytest.mark.asyncio
async def test_paying_a_plans_single_option_makes_its_installments_unpayable(
    platform: Platform, tenant: Identity
) -> None:
    await with_creditor(platform, tenant)
    debtor = str(uuid.uuid4())
    a = position_fact(120_000, debtor_id=debtor, credit=("IMU", 2023, "P"))
    await seed(platform, tenant.tenant_id, a)
    async with service_client(platform, "payments", api(tenant)) as http:
        plan = (
            await http.post(
                "/api/v1/payments/plans", json={"position_ids": [a.position_id], "installments": 5}
            )
        ).json()
        options = (await http.post("/api/v1/payments/notices", json={"plan_id": plan["plan_id"]})).json()[
            "options"
        ]
    assert [o["installment"] for o in options] == [None, 1, 2, 3, 4, 5]
    single, first = options[0], options[1]
    assert single["amount_cents"] == 120_000
    status, answer = await upload(platform, tenant, RECEIPTS, receipts_csv((single["iuv"], "1200,00", "S-1")))
    assert status == 200 and answer["matched"] == 1, answer
    statuses = "SELECT string_agg(status, ',' ORDER BY installment NULLS FIRST) FROM payments.payment_options WHERE tenant_id = :t"
    assert await scalar(platform, tenant.tenant_id, statuses, t=tenant.tenant_id) == "paid" + ",unpayable" * 5
    late = await upload(
        platform,
        tenant,
        RECEIPTS,
        receipts_csv((first["iuv"], f"{Decimal(first['amount_cents']) / 100:.2f}".replace(".", ","), "I-1")),
    )
    assert late[1]["duplicates"] == 1 and late[1]["matched"] == 0
    assert await paid(platform, tenant, a.position_id) == 120_000


@pytest.mark.asyncio
async def test_paying_an_installment_makes_the_single_option_unpayable(
    platform: Platform, tenant: Identity
) -> None:
    await with_creditor(platform, tenant)
    a = position_fact(120_000, debtor_id=str(uuid.uuid4()), credit=("IMU", 2023, "P"))
    await seed(platform, tenant.tenant_id, a)
    async with service_client(platform, "payments", api(tenant)) as http:
        plan = (
            await http.post(
                "/api/v1/payments/plans", json={"position_ids": [a.position_id], "installments": 5}
            )
        ).json()
        options = (await http.post("/api/v1/payments/notices", json={"plan_id": plan["plan_id"]})).json()[
            "options"
        ]
    first = options[1]
    amount = f"{Decimal(first['amount_cents']) / 100:.2f}".replace(".", ",")
    assert (await upload(platform, tenant, RECEIPTS, receipts_csv((first["iuv"], amount, "I-1"))))[1][
        "matched"
    ] == 1
    statuses = "SELECT string_agg(status, ',' ORDER BY installment NULLS FIRST) FROM payments.payment_options WHERE tenant_id = :t"
    assert (
        await scalar(platform, tenant.tenant_id, statuses, t=tenant.tenant_id)
        == "unpayable,paid" + ",payable" * 4
    )
    installment = "SELECT paid_cents FROM payments.plan_installments WHERE tenant_id = :t AND number = 1"
    assert await scalar(platform, tenant.tenant_id, installment, t=tenant.tenant_id) == first["amount_cents"]


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><FlussoRiversamento>&lol3;</FlussoRiversamento>'
)
EXTERNAL = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><FlussoRiversamento>&e;</FlussoRiversamento>'


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (BOMB, "entità XML"),
        (EXTERNAL, "entità XML"),
        (b"iuv;importo\n1;2", "Il file non è un flusso XML: non comincia con «<» (è forse un CSV"),
        (b"%PDF-1.7\n%\xe2\xe3", "non comincia con «<»"),
        (
            flow_xml([("01000000000000001", "R", 1_000, 0)])[:-40],
            "non è XML valido: errore di sintassi alla riga",
        ),
        (b'<?xml version="1.0"?><!-- c --><?pi x?>\n<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "entità XML"),
        (flow_xml([("01000000000000001", "R", 1_000, 0)]).decode().encode("utf-16"), "UTF-8"),
        (
            flow_xml([("01000000000000001", "R", 500, 0), ("01000000000000002", "S", 500, 0)]).replace(
                b"</datiSingoliPagamenti><datiSingoliPagamenti>",
                b"</datiSingoliPagamenti><versioneOggetto>1.0</versioneOggetto><datiSingoliPagamenti>",
            ),
            "tra i pagamenti",
        ),
        (
            flow_xml([("01000000000000001", "R", 1_000, 0)], total=2_000),
            "Il totale dichiarato (€ 20,00) non è la somma dei pagamenti (€ 10,00)",
        ),
        (flow_xml([("01000000000000001", "R", 1_000, 0)], count=2), "dichiara 2 pagamenti"),
        (flow_xml([("01000000000000001", "R", 1_000, 0)], receiver="00000000000"), "non a questo Comune"),
        (
            flow_xml([("01000000000000001", "R", 1_000, 0)]).replace(
                b"<singoloImportoPagato>10.00", b"<singoloImportoPagato>10,00"
            ),
            "singoloImportoPagato",
        ),
        (flow_xml([("01000000000000001", "R", 1_000, 7)]), "codiceEsitoSingoloPagamento"),
        (
            flow_xml([("01000000000000001", "R", 1_000, 0)]).replace(
                b"<dataRegolamento>2026-11-28</dataRegolamento>", b""
            ),
            "manca «dataRegolamento»",
        ),
    ],
)
async def test_a_bad_flow_is_refused_whole_in_italian(
    platform: Platform, tenant: Identity, data: bytes, expected: str
) -> None:
    await noticed(platform, tenant, 1_000)
    status, answer = await upload(platform, tenant, FDR, data)
    assert status == 400 and expected in answer["error"], answer
    assert (await count(platform, tenant, "flows"), await count(platform, tenant, "receipts")) == (0, 0)


@pytest.mark.asyncio
async def test_a_receipts_file_with_one_bad_row_is_refused_whole(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 5_000, 6_000)
    csv = receipts_csv((iuvs[0], "50,00", "OK-1"), (iuvs[1], "sessanta", "BAD-1"))
    status, answer = await upload(platform, tenant, RECEIPTS, csv)
    assert status == 400 and "Riga 3" in answer["error"] and "importo" in answer["error"], answer
    assert await count(platform, tenant, "receipts") == 0
    assert await paid(platform, tenant, positions[0]) == 0


@pytest.mark.asyncio
async def test_a_flow_line_without_receipt_is_matched_when_its_receipt_arrives(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 3_300, 4_400)
    xml = flow_xml([(iuvs[0], "L-1", 3_300, 0), (iuvs[1], "L-2", 4_400, 0)])
    assert (await upload(platform, tenant, FDR, xml))[1]["matched"] == 2
    states = "SELECT string_agg(state, ',' ORDER BY line) FROM payments.flow_lines WHERE tenant_id = :t"
    assert await scalar(platform, tenant.tenant_id, states, t=tenant.tenant_id) == "no_receipt,no_receipt"
    status, answer = await upload(platform, tenant, RECEIPTS, receipts_csv((iuvs[0], "33,00", "L-1")))
    assert status == 200 and answer["already_imported"] == 1 and answer["matched"] == 0, answer
    assert await scalar(platform, tenant.tenant_id, states, t=tenant.tenant_id) == "matched,no_receipt"
    receipt = "SELECT psp || ' ' || source || ' ' || to_char(paid_at AT TIME ZONE 'Europe/Rome', 'HH24:MI') FROM payments.receipts WHERE tenant_id = :t AND receipt_ref = 'L-1'"
    assert await scalar(platform, tenant.tenant_id, receipt, t=tenant.tenant_id) == "Poste receipt 10:15"
    assert [await paid(platform, tenant, p) for p in positions] == [3_300, 4_400]  # not paid twice


@pytest.mark.asyncio
async def test_the_notice_issued_before_a_plan_paid_in_full_settles_the_plan(
    platform: Platform, tenant: Identity
) -> None:
    """The debtor pays the whole debt with the notice they had before the plan (still payable): no
    installment is owed any more and the plan's notices stop being payable; a part of it pays the
    installments in due order."""
    await with_creditor(platform, tenant)
    whole = position_fact(120_000, debtor_id=str(uuid.uuid4()), credit=("IMU", 2023, "W"))
    part = position_fact(120_000, debtor_id=str(uuid.uuid4()), credit=("IMU", 2023, "Q"))
    await seed(platform, tenant.tenant_id, whole, part)
    before = {}
    async with service_client(platform, "payments", api(tenant)) as http:
        for p in (whole, part):
            before[p.position_id] = (await issue(platform, tenant, [p.position_id]))[1]["options"][0]["iuv"]
            plan = (
                await http.post(
                    "/api/v1/payments/plans", json={"position_ids": [p.position_id], "installments": 5}
                )
            ).json()
            await http.post("/api/v1/payments/notices", json={"plan_id": plan["plan_id"]})
    rows = receipts_csv(
        (before[whole.position_id], "1200,00", "B-1"), (before[part.position_id], "500,00", "B-2")
    )
    status, answer = await upload(platform, tenant, RECEIPTS, rows)
    assert status == 200 and (answer["matched"], answer["partial"]) == (1, 1), answer
    # The partial one waits for review: booked on the position, it pays the first installments.
    async with service_client(platform, "payments", api(tenant)) as http:
        [item] = (await http.get("/api/v1/payments/reconciliation/review")).json()["items"]
        booked = await http.post(
            f"/api/v1/payments/reconciliation/review/{item['id']}/book", json={"note": "Pagato in parte"}
        )
        assert booked.status_code == 200, booked.text
    installments = (
        "SELECT string_agg(CASE WHEN i.paid_cents >= i.principal_cents + i.interest_cents THEN 'pagata'"
        " WHEN i.paid_cents > 0 THEN 'in parte' ELSE 'da pagare' END, ',' ORDER BY i.number)"
        " FROM payments.plan_installments i JOIN payments.plan_positions pp"
        " ON pp.tenant_id = i.tenant_id AND pp.plan_id = i.plan_id WHERE i.tenant_id = :t AND pp.position_id = :p"
    )
    options = (
        "SELECT string_agg(status, ',' ORDER BY installment NULLS FIRST) FROM payments.payment_options o"
        " JOIN payments.plan_positions pp ON pp.tenant_id = o.tenant_id AND pp.plan_id = o.plan_id"
        " WHERE o.tenant_id = :t AND pp.position_id = :p"
    )
    w, q = uuid.UUID(whole.position_id), uuid.UUID(part.position_id)
    assert await scalar(platform, tenant.tenant_id, installments, t=tenant.tenant_id, p=w) == ",".join(
        ["pagata"] * 5
    )
    assert await scalar(platform, tenant.tenant_id, options, t=tenant.tenant_id, p=w) == ",".join(
        ["unpayable"] * 6
    )
    partly = await scalar(platform, tenant.tenant_id, installments, t=tenant.tenant_id, p=q)
    assert partly == "pagata,pagata,in parte,da pagare,da pagare", partly
    # The part pays the first installments' interest first: that is no payment of the debt.
    interest = "SELECT sum(interest_cents) FROM payments.payments WHERE tenant_id = :t AND position_id = :p"
    part_interest = await scalar(platform, tenant.tenant_id, interest, t=tenant.tenant_id, p=q)
    assert part_interest > 0
    assert (
        await paid(platform, tenant, whole.position_id),
        await paid(platform, tenant, part.position_id),
    ) == (
        120_000,
        50_000 - part_interest,
    )
