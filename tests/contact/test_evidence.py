"""The evidence of a payment the debtor claims («Dice di aver già pagato»), on the real database and
SeaweedFS: files attached from the card or with the outcome, checked by content and size, kept
under the tenant with their SHA-256, announced to the Ufficio tributi, downloaded with an audit,
invisible to another Comune."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.contact import repository_evidence
from services.contact.repository_evidence import Attachment
from services.contracts import AlreadyPaidClaimed, AlreadyPaidEvidenceAttached
from services.kernel.evidence import MAX_EVIDENCE_BYTES
from services.kernel.identity import Identity
from services.kernel.storage import S3Storage, read_all
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import fact, scalar, seed
from tests.contact.test_conduct_web import record, take
from tests.contact.test_outcomes import sent
from tests.contact.test_web import as_user, base

HX = {"HX-Request": "true"}
PDF = b"%PDF-1.4\n% bollettino postale di prova\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"F24 quietanzato" * 8
NOTE = "Dice di aver pagato con F24 il 3 marzo"


def files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """Multipart file parts named `evidence`; the declared type is wrong on purpose: only the content counts."""
    return [("evidence", (name, data, "application/octet-stream")) for name, data in items]


async def claimed(platform: Platform, op: Identity, note: str = NOTE) -> tuple[str, str]:
    """A debtor leased to `op` who says they paid: (debtor id, the claim's call id)."""
    d = str(uuid.uuid4())
    await seed(platform, op.tenant_id, fact(d, 42_000))
    assert f"/debtors/{d}" in await take(platform, op)
    status, text = await record(platform, op, d, outcome="gia_pagato", note=note)
    assert status == 303, text
    sql = "SELECT id FROM contact.contacts WHERE tenant_id = :t AND debtor_id = :d AND outcome = 'gia_pagato'"
    return d, str(await scalar(platform, op.tenant_id, sql, t=op.tenant_id, d=uuid.UUID(d)))


async def attach(
    platform: Platform, who: Identity, d: str, claim: str, *items: tuple[str, bytes]
) -> tuple[int, str, str]:
    async with service_client(platform, "contact", who) as client:
        response = await client.post(
            f"{base(who)}/debtors/{d}/claims/{claim}/evidence", files=files(*items), headers=HX
        )
    return response.status_code, response.text, response.headers.get("HX-Redirect", "")


async def attachments(platform: Platform, who: Identity) -> list[sa.Row]:  # type: ignore[type-arg]
    sql = "SELECT * FROM contact.claim_evidence WHERE tenant_id = :t ORDER BY file_name"
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        return list((await uow.execute(sa.text(sql), {"t": who.tenant_id})).all())


async def stored_keys(platform: Platform, who: Identity) -> list[str]:
    """The objects under the tenant's evidence folder in SeaweedFS."""
    storage = platform.storage
    assert isinstance(storage, S3Storage)
    prefix = f"tenants/{who.tenant_id}/contact/evidence/"
    listed = await asyncio.to_thread(storage.client.list_objects_v2, Bucket=storage.bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


async def audited(platform: Platform, who: Identity, action: str) -> object:
    sql = "SELECT count(*) FROM contact.access_log WHERE tenant_id = :t AND action = :a"
    return await scalar(platform, who.tenant_id, sql, t=who.tenant_id, a=action)


@pytest.mark.asyncio
async def test_receipts_attached_to_a_claim_are_kept_announced_and_shown(
    platform: Platform, tenant: Identity
) -> None:
    op = as_user(tenant, "op-evidence")
    d, claim = await claimed(platform, op)
    status, text, redirect = await attach(
        platform, op, d, claim, ("bollettino.pdf", PDF), ("../../f24 marzo.png", PNG)
    )
    assert status == 200, text
    assert redirect == f"{base(op)}/debtors/{d}?allegato=1"
    rows = await attachments(platform, op)
    assert [(r.file_name, r.media_type, r.size_bytes) for r in rows] == [
        ("bollettino.pdf", "application/pdf", len(PDF)),
        ("f24_marzo.png", "image/png", len(PNG)),  # the name made safe, the type from the content
    ]
    for row, data in zip(rows, (PDF, PNG), strict=True):
        assert (str(row.contact_id), str(row.debtor_id)) == (claim, d)
        assert (row.uploaded_by, row.uploaded_by_name) == ("op-evidence", "Utente di prova")
        assert row.object_key.startswith(f"tenants/{tenant.tenant_id}/contact/evidence/{d}/")
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        assert await read_all(platform.storage, tenant.tenant_id, row.object_key) == data
        assert (await platform.storage.head(tenant.tenant_id, row.object_key)).sha256 == row.sha256
    events = [
        AlreadyPaidEvidenceAttached.from_envelope(e)
        for e in await sent(platform, "contact", op, AlreadyPaidEvidenceAttached)
    ]
    assert sorted((e.file_name, e.media_type, e.sha256, e.object_key) for e in events) == [
        (r.file_name, r.media_type, r.sha256, r.object_key) for r in rows
    ]
    assert {(e.contact_id, e.debtor_id, e.size_bytes > 0) for e in events} == {(claim, d, True)}
    assert {e.attachment_id for e in events} == {str(r.id) for r in rows}
    assert await audited(platform, op, "attach_evidence") == 1
    async with service_client(platform, "contact", op) as client:
        card = (await client.get(f"{base(op)}/debtors/{d}?allegato=1")).text
    assert "Ricevuta allegata alla dichiarazione di pagamento" in card
    history = card[card.index('data-testid="history"') :]
    assert NOTE in history and "bollettino.pdf" in history and "f24_marzo.png" in history
    for row in rows:
        assert f'href="{base(op)}/debtors/{d}/evidence/{row.id}"' in history
    assert f'action="{base(op)}/debtors/{d}/claims/{claim}/evidence"' in history
    assert re.search(
        r'<label for="evidence-[^"]+" class="form-label">Ricevuta del pagamento dichiarato', history
    )


@pytest.mark.asyncio
async def test_the_outcome_form_takes_the_receipt_with_the_claim(
    platform: Platform, tenant: Identity
) -> None:
    op = as_user(tenant, "op-with-outcome")
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 42_000))
    await take(platform, op)
    url = f"{base(op)}/debtors/{d}/outcomes"
    async with service_client(platform, "contact", op) as client:
        wrong_outcome = await client.post(
            url, data={"outcome": "contattato"}, files=files(("ricevuta.pdf", PDF)), headers=HX
        )
        names_only = await client.post(
            url, data={"outcome": "gia_pagato", "note": NOTE, "evidence": "ricevuta.pdf"}
        )
        bad_file = await client.post(
            url, data={"outcome": "gia_pagato", "note": NOTE}, files=files(("ricevuta.pdf", b"solo testo"))
        )
        no_note = await client.post(url, data={"outcome": "gia_pagato"}, files=files(("ricevuta.pdf", PDF)))
        done = await client.post(
            url, data={"outcome": "gia_pagato", "note": NOTE}, files=files(("ricevuta.jpg", JPEG))
        )
    assert wrong_outcome.status_code == 400 and 'data-field="evidence"' in wrong_outcome.text
    assert "solo con l&#x27;esito «Dice di aver già pagato»" in wrong_outcome.text
    assert names_only.status_code == 400 and "non è stata trasmessa" in names_only.text
    assert bad_file.status_code == 400 and "PDF, un JPEG o un PNG" in bad_file.text
    assert no_note.status_code == 400 and "Scrivi nella nota" in no_note.text  # stored, then removed
    assert done.status_code == 303, done.text
    [row] = await attachments(platform, op)
    [claim] = await sent(platform, "contact", op, AlreadyPaidClaimed)
    [event] = await sent(platform, "contact", op, AlreadyPaidEvidenceAttached)
    attached = AlreadyPaidEvidenceAttached.from_envelope(event)
    assert AlreadyPaidClaimed.from_envelope(claim).contact_id == attached.contact_id == str(row.contact_id)
    assert (attached.media_type, attached.sha256) == ("image/jpeg", hashlib.sha256(JPEG).hexdigest())
    assert len(await stored_keys(platform, op)) == 1  # the refused attempts stored nothing


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("items", "message"),
    [
        ((), "Scegli il file della ricevuta"),
        ((("ricevuta.pdf", b"nota scritta a mano, non un PDF"),), "deve essere un PDF, un JPEG o un PNG"),
        ((("ricevuta.pdf", b""),), "Allega la ricevuta"),
        ((("enorme.pdf", b"%PDF-" + b"0" * MAX_EVIDENCE_BYTES),), "supera i 10 MB"),
        ((("a.pdf", PDF), ("b.txt", b"testo")), "b.txt: La ricevuta deve essere un PDF"),
        (tuple((f"r{i}.pdf", PDF + bytes([i])) for i in range(6)), "al massimo 5 file alla volta"),
    ],
    ids=["none", "wrong-content", "empty", "too-large", "one-bad-of-two", "six-at-once"],
)
async def test_bad_files_are_refused_at_the_field_and_nothing_is_kept(
    platform: Platform, tenant: Identity, items: tuple[tuple[str, bytes], ...], message: str
) -> None:
    op = as_user(tenant, "op-bad-file")
    d, claim = await claimed(platform, op)
    status, text, _ = await attach(platform, op, d, claim, *items)
    assert status == 400 and 'data-field="evidence"' in text
    assert message in text
    assert await attachments(platform, op) == []
    assert await stored_keys(platform, op) == []
    assert await sent(platform, "contact", op, AlreadyPaidEvidenceAttached) == []


@pytest.mark.asyncio
async def test_a_file_twice_or_past_ten_per_claim_is_refused_and_not_kept(
    platform: Platform, tenant: Identity
) -> None:
    op = as_user(tenant, "op-limits")
    d, claim = await claimed(platform, op)
    assert (await attach(platform, op, d, claim, ("ricevuta.pdf", PDF)))[0] == 200
    status, text, _ = await attach(platform, op, d, claim, ("copia.pdf", PDF))
    assert status == 409 and "copia.pdf: questo file è già allegato" in text
    batch = [(f"r{i}.pdf", PDF + bytes([i])) for i in range(5)]
    assert (await attach(platform, op, d, claim, *batch))[0] == 200
    status, text, _ = await attach(
        platform, op, d, claim, *((f"s{i}.pdf", PDF + b"s" + bytes([i])) for i in range(5))
    )
    assert status == 400 and "al massimo 10 ricevute a una dichiarazione (ne restano 4)" in text
    assert len(await attachments(platform, op)) == 6
    assert len(await stored_keys(platform, op)) == 6  # the refused copies were removed from storage


@pytest.mark.asyncio
async def test_only_a_claim_of_that_debtor_takes_files(platform: Platform, tenant: Identity) -> None:
    op = as_user(tenant, "op-claims")
    d, claim = await claimed(platform, op)
    other, other_claim = await claimed(platform, op)
    not_a_claim = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(not_a_claim, 10_000))
    await take(platform, op)
    assert (await record(platform, op, not_a_claim, outcome="rifiuto"))[0] == 303
    sql = "SELECT id FROM contact.contacts WHERE tenant_id = :t AND debtor_id = :d"
    refusal = str(await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id, d=uuid.UUID(not_a_claim)))
    for debtor_id, contact_id in (
        (d, other_claim),
        (other, claim),
        (not_a_claim, refusal),
        (d, str(uuid.uuid4())),
    ):
        status, text, _ = await attach(platform, op, debtor_id, contact_id, ("ricevuta.pdf", PDF))
        assert status == 404 and "Dichiarazione di pagamento non trovata" in text, (debtor_id, contact_id)
    status, _, _ = await attach(platform, op, d, "non-un-id", ("ricevuta.pdf", PDF))
    assert status == 404
    assert await attachments(platform, op) == []
    assert await stored_keys(platform, op) == []


@pytest.mark.asyncio
async def test_a_download_is_audited_and_another_comune_sees_nothing(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    op = as_user(tenant, "op-download")
    d, claim = await claimed(platform, op)
    assert (await attach(platform, op, d, claim, ("quietanza.pdf", PDF)))[0] == 200
    [row] = await attachments(platform, op)
    url = f"{base(op)}/debtors/{d}/evidence/{row.id}"
    async with service_client(platform, "contact", op) as client:
        download = await client.get(url)
        other_debtor = await client.get(f"{base(op)}/debtors/{uuid.uuid4()}/evidence/{row.id}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith('attachment; filename="quietanza.pdf"')
    assert other_debtor.status_code == 404
    assert await audited(platform, op, "download_evidence") == 1
    stranger = as_user(other_tenant, "op-stranger")
    async with service_client(platform, "contact", stranger) as client:
        foreign = await client.get(f"{base(stranger)}/debtors/{d}/evidence/{row.id}")
    assert foreign.status_code == 404
    assert (await attach(platform, stranger, d, claim, ("intrusa.pdf", PDF + b"x")))[0] == 404
    assert await audited(platform, stranger, "download_evidence") == 0
    a, b = tenant.tenant_id, other_tenant.tenant_id
    db = platform.databases["contact"]
    async with db.unit_of_work(b) as uow:
        assert await repository_evidence.attachments_of(uow, b, uuid.UUID(d)) == []
        assert await repository_evidence.attachments_of(uow, a, uuid.UUID(d)) == []  # RLS scopes to B
        assert await repository_evidence.attachment(uow, a, uuid.UUID(d), row.id) is None
        assert await repository_evidence.lock_claim(uow, a, uuid.UUID(d), uuid.UUID(claim)) is None
    intruder = Attachment(
        uuid.uuid4(), uuid.UUID(claim), uuid.UUID(d), "x.pdf", "application/pdf", 1, "0" * 64,
        f"tenants/{a}/x", "op-stranger", None, row.uploaded_at,
    )  # fmt: skip
    async with db.unit_of_work(b) as uow:
        with pytest.raises(DBAPIError, match="row-level security"):
            await repository_evidence.insert_attachment(uow, a, intruder)
    assert len(await attachments(platform, op)) == 1
