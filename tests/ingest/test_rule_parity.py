"""Rules that run both in Python (`domain*.py`) and as SQL for speed give the same answers.

Settling (duplicates and conflicts), the kind of an e-mail (PEC or not), the confidence of the data
a Comune's file brings, and the debtor's data-quality grade, in both of its SQL forms (from a new
debtor's rows, and from a known debtor's contacts). `test_columnar.py` does the same for judging.
"""

from __future__ import annotations

import random
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from stdnum.it import codicefiscale

from services.contracts import PositionsRegistered
from services.ingest import repository_cleaning, repository_events, repository_rules, repository_settle
from services.ingest.domain_contacts import (
    ADDRESS_GRADE_CONFIDENCE,
    email_kind,
    file_contacts,
    grade,
)
from services.ingest.domain_verdicts import Credit, RowVerdict, settle
from services.ingest.models import contacts, debtors
from services.kernel.envelope import Envelope
from services.platform import Platform
from tests.ingest.helpers import generate, ingest_file

EMAILS = [
    "a@x.legalmail.it",
    "a@legalmail.it",
    "a@pec.it",
    "a@pec.comune.roma.it",
    "a@comune.pec.it",
    "a@cert.legalmail.it",
    "a@mypec.it",
    "a@pecora.it",
    "a@legalmail",
    "a@x.pec",
    "a@gmail.com",
    "a@pec.gmail.com",
    "a@notlegalmail.it",
    "a@x.legalmailx.it",
    "a.pec@example.it",
    "pec@example.it",
]


def test_the_pec_rule_recognises_a_subdomain_of_legalmail() -> None:
    assert email_kind("a@x.legalmail.it") == "pec"
    assert email_kind("a@mypec.it") == "email"


@pytest.mark.asyncio
async def test_email_kind_in_sql_is_the_python_rule(platform: Platform) -> None:
    query = sa.text(
        f"SELECT e, {repository_rules.email_kind_sql('e')} AS kind FROM unnest(CAST(:emails AS text[])) e"
    )
    async with platform.databases["ingest"].unit_of_work(None) as uow:
        rows = (await uow.execute(query, {"emails": EMAILS})).all()
    assert {r.e: r.kind for r in rows} == {e: email_kind(e) for e in EMAILS}


def random_rows(rng: random.Random, n: int) -> list[tuple[int, tuple[str, str, int, str], int]]:
    """(row number, credit key, amount): few keys and amounts, so repeats and conflicts abound."""
    keys = [
        (f"CF{rng.randrange(4)}", rng.choice(["IMU", "TARI"]), 2022, str(rng.randrange(3))) for _ in range(n)
    ]
    return [(i + 1, key, rng.choice([100, 200, 300])) for i, key in enumerate(keys)]


def python_settled(rows: list[tuple[int, tuple[str, str, int, str], int]]) -> dict[int, str]:
    verdicts = []
    for row_number, (fiscal_code, revenue_type, year, act), amount in rows:
        credit = Credit(fiscal_code, "", revenue_type, year, act, amount)
        verdicts.append(RowVerdict(row_number, row_number, "accepted", credit=credit))
    settle(verdicts)
    return {v.row_number: v.verdict for v in verdicts if v.verdict != "accepted"}


async def sql_settled(
    platform: Platform, rows: list[tuple[int, tuple[str, str, int, str], int]]
) -> dict[int, str]:
    async with platform.databases["ingest"].unit_of_work(None) as uow:
        await uow.execute(sa.text(repository_settle.CREATE_HELD))
        for row_number, (fiscal_code, revenue_type, year, act), amount in rows:
            await uow.execute(
                sa.text("INSERT INTO ingest_held VALUES (:n, :f, :r, :y, :a, :c, '{}')"),
                {"n": row_number, "f": fiscal_code, "r": revenue_type, "y": year, "a": act, "c": amount},
            )
        held = await uow.execute(
            sa.text(repository_settle.SETTLE_HELD),
            {"duplicate_reason": "d", "conflict_reason": "c"},
        )
        return {r.row_number: r.verdict for r in held}


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", range(12))
async def test_settling_in_sql_is_the_python_rule(platform: Platform, seed: int) -> None:
    rows = random_rows(random.Random(seed), 5 + seed * 4)
    expected = python_settled(rows)
    assert set(expected.values()) <= {"duplicate", "conflict"}
    assert await sql_settled(platform, rows) == expected


def random_contacts(rng: random.Random) -> list[tuple[str, str, bool, int]]:
    kinds = ["phone", "address", "email", "pec"]
    confidences = [0, 30, ADDRESS_GRADE_CONFIDENCE - 1, ADDRESS_GRADE_CONFIDENCE, 60, 100]
    return [
        (rng.choice(kinds), f"v{i}", rng.random() < 0.7, rng.choice(confidences))
        for i in range(rng.randrange(0, 5))
    ]


@pytest.mark.asyncio
async def test_the_grade_in_sql_is_the_python_rule(platform: Platform, tenant: Any) -> None:
    rng = random.Random(7)
    cases = {uuid.uuid4(): random_contacts(rng) for _ in range(80)}
    db = platform.databases["ingest"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        for n, (debtor_id, data) in enumerate(cases.items()):
            await uow.execute(
                sa.insert(debtors).values(
                    id=debtor_id, tenant_id=tenant.tenant_id, fiscal_code=f"CF{n:05d}", name="X", grade="none"
                )
            )
            for kind, value, active, confidence in data:
                await uow.execute(
                    sa.insert(contacts).values(
                        tenant_id=tenant.tenant_id,
                        debtor_id=debtor_id,
                        kind=kind,
                        value=value,
                        source="test",
                        found_on=date(2026, 1, 1),
                        entered_by="test",
                        confidence=confidence,
                        active=active,
                    )
                )
        graded = await repository_cleaning.regrade_some(uow, tenant.tenant_id, list(cases))
        await uow.commit()
    expected = {d: grade((k, a, c) for k, _, a, c in data) for d, data in cases.items()}
    assert set(expected.values()) == {"phone", "address", "none"}
    assert graded == expected


async def accepted_rows(platform: Platform, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> list[Any]:
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        rows = await uow.execute(
            sa.text(
                "SELECT fiscal_code, phone, email, address, warnings FROM ingest.batch_rows "
                "WHERE tenant_id = :t AND batch_id = :b AND verdict = 'accepted'"
            ),
            {"t": tenant_id, "b": batch_id},
        )
        return list(rows.all())


async def made_by_sql(
    platform: Platform, tenant_id: uuid.UUID
) -> tuple[dict[str, dict[tuple[str, str], int]], dict[str, str]]:
    """Each debtor's contacts (with their confidence) and grade, as the SQL recorded them."""
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        made = await uow.execute(
            sa.text(
                "SELECT d.fiscal_code, d.grade, c.kind, c.value, c.confidence FROM ingest.debtors d "
                "LEFT JOIN ingest.contacts c ON c.tenant_id = d.tenant_id AND c.debtor_id = d.id "
                "WHERE d.tenant_id = :t"
            ),
            {"t": tenant_id},
        )
        data: dict[str, dict[tuple[str, str], int]] = {}
        grades: dict[str, str] = {}
        for r in made:
            grades[r.fiscal_code] = r.grade
            mine = data.setdefault(r.fiscal_code, {})
            if r.kind is not None:
                mine[(r.kind, r.value)] = r.confidence
        return data, grades


def add_batch(data: dict[str, dict[tuple[str, str], int]], rows: list[Any]) -> None:
    """The Python rules on a batch's rows: each datum once per debtor with its best confidence in
    the batch; a datum the debtor already had keeps what it had."""
    found: dict[str, dict[tuple[str, str], int]] = {}
    for r in rows:
        mine = found.setdefault(r.fiscal_code, {})
        for kind, value, confidence in file_contacts(r.phone, r.email, r.address, r.warnings):
            mine[(kind, value)] = max(confidence, mine.get((kind, value), -1))
    for fiscal_code, new in found.items():
        data.setdefault(fiscal_code, {})
        for key, confidence in new.items():
            data[fiscal_code].setdefault(key, confidence)


def edge_file(folder: Path, earlier: Path) -> Path:
    """Rows for new debtors with only an incomplete address, only a PEC, nothing usable, and rows
    that bring new data to debtors of an earlier file."""
    header = "codice_fiscale,nominativo,indirizzo,cap,comune,cellulare,pec,entrata,anno_imposta,numero_atto,residuo"
    known = [line.split(",")[0] for line in earlier.read_text(encoding="utf-8-sig").splitlines()[1:4]]

    def cf(n: int) -> str:
        base = f"RSSMRA80A01H{500 + n:03d}"
        return base + codicefiscale.calc_check_digit(base)

    lines = [
        header,
        f"{cf(1)},ROSSI UNO,VIA ROMA 1,,COMUNE DI PROVA,,,IMU,2024,A1,100.00",
        f"{cf(1)},ROSSI UNO,VIA ROMA 1,,COMUNE DI PROVA,,,TARI,2024,A2,100.00",
        f"{cf(2)},ROSSI DUE,,,,,rossi@cert.legalmail.it,IMU,2024,A3,100.00",
        f"{cf(3)},ROSSI TRE,,,,,,IMU,2024,A4,100.00",
        f"{cf(4)},ROSSI QUATTRO,VIA ROMA 4,00100,ROMA,,rossi4@pec.it,IMU,2024,A5,100.00",
        *(
            f"{c},NOTO,VIA NUOVA {n},00100,ROMA,3331234{n:03d},n{n}@x.legalmail.it,CUP,2024,N{n},50.00"
            for n, c in enumerate(known)
        ),
    ]
    path = folder / "edge.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.asyncio
async def test_a_batchs_contacts_and_grades_in_sql_are_the_python_rules(
    platform: Platform, tenant: Any, tmp_path: Path
) -> None:
    """New debtors are graded from their rows, known ones from their contacts: both as in Python."""
    expected: dict[str, dict[tuple[str, str], int]] = {}
    # The second file brings again some debtors of the first; the third, debtors of the first and
    # the cases generated files lack: an incomplete address alone, a PEC alone, nothing at all.
    generated = [generate(tmp_path, "utf8", 400, seed, "--no-verdicts")[0] for seed in (11, 12)]
    for path in [*generated, edge_file(tmp_path, generated[0])]:
        batch_id = await ingest_file(platform, tenant.tenant_id, path)
        add_batch(expected, await accepted_rows(platform, tenant.tenant_id, batch_id))
        data, grades = await made_by_sql(platform, tenant.tenant_id)
        assert data == expected
        assert grades == {cf: grade((k, True, c) for (k, _), c in d.items()) for cf, d in expected.items()}
    kinds = {kind for d in expected.values() for kind, _ in d}
    assert kinds == {"phone", "email", "pec", "address"}
    assert set(grades.values()) == {"phone", "address", "none"}


@pytest.mark.asyncio
async def test_events_written_by_sql_are_checked_against_their_contract(
    platform: Platform, tenant: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In production too: at most 500 facts per event, and fields of the contract's types."""
    path, _ = generate(tmp_path, "utf8", 50, 3, "--no-verdicts")
    batch_id = await ingest_file(platform, tenant.tenant_id, path)
    first = Envelope(
        PositionsRegistered.TYPE, PositionsRegistered.VERSION, tenant.tenant_id, {"batch_id": "x"}
    )
    db = platform.databases["ingest"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        with pytest.raises(ValueError, match="1 to 500 facts"):
            await repository_events.publish_batch_events(
                uow, tenant.tenant_id, batch_id, "positions", 501, first
            )
    drifted = dict(repository_events.POSITION_FACT_SQL, amount_cents="p.amount_cents::text")
    monkeypatch.setitem(
        repository_events._BATCH_FACTS,
        "positions",
        repository_events._BATCH_FACTS["positions"].replace(
            repository_events._facts_query(repository_events.POSITION_FACT_SQL, "")[:-6],
            repository_events._facts_query(drifted, "")[:-6],
        ),
    )
    async with db.unit_of_work(tenant.tenant_id) as uow:
        with pytest.raises(RuntimeError, match="amount_cents must be int"):
            await repository_events.publish_batch_events(
                uow, tenant.tenant_id, batch_id, "positions", 500, first
            )


@pytest.mark.parametrize(
    ("complete", "incomplete", "predicate"),
    [(60, 30, "NOT 'address' = ANY(w)"), (30, 60, "'address' = ANY(w)"), (60, 60, "true"), (30, 30, "false")],
)
def test_whether_an_address_grades_comes_from_the_confidences(
    monkeypatch: pytest.MonkeyPatch, complete: int, incomplete: int, predicate: str
) -> None:
    monkeypatch.setattr(repository_rules, "FILE_CONFIDENCE", complete)
    monkeypatch.setattr(repository_rules, "INCOMPLETE_ADDRESS_CONFIDENCE", incomplete)
    assert repository_rules.address_grades_sql("w") == predicate
