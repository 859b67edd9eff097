"""A batch's contacts recorded in bulk, and the grades of debtors computed in SQL."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from services.ingest.domain_contacts import (
    ADDRESS_GRADE_CONFIDENCE,
    FILE_CONFIDENCE,
    GRADE_ADDRESS,
    GRADE_NONE,
    GRADE_PHONE,
    WRITTEN_KINDS,
)
from services.ingest.repository_rules import address_confidence_sql, email_kind_sql
from services.ingest.repository_settle import KNOWN_DEBTOR, NEW_DEBTOR, UUID7
from services.kernel.db import UnitOfWork
from services.kernel.logs import Clock

log = logging.getLogger(__name__)

# Contacts found in the Comune's own file (`domain_contacts.file_contacts`).
# The same datum on several rows of a debtor is recorded once, with its best confidence; only known
# debtors (see NEW_DEBTOR) may have it already.
_BATCH_CONTACTS = f"""
    INSERT INTO ingest.contacts
        (id, tenant_id, debtor_id, kind, value, source, found_on, entered_by, confidence, batch_id)
    SELECT {UUID7}, :tenant_id, debtor_id, kind, value, 'comune', CAST(:found_on AS date), :entered_by,
           confidence, :batch_id
    FROM (
        SELECT DISTINCT ON (d.id, x.kind, x.value) d.id AS debtor_id, x.kind, x.value, x.confidence
        FROM ingest.batch_rows r
        JOIN ingest.debtors d ON d.tenant_id = r.tenant_id AND d.fiscal_code = r.fiscal_code
        CROSS JOIN LATERAL (VALUES
            ('phone', r.phone, {FILE_CONFIDENCE}),
            ({email_kind_sql("r.email")}, r.email, {FILE_CONFIDENCE}),
            ('address', NULLIF(r.address, ''), {address_confidence_sql("r.warnings")})
        ) AS x(kind, value, confidence)
        WHERE r.tenant_id = :tenant_id AND r.batch_id = :batch_id AND r.verdict = 'accepted'
          AND x.value IS NOT NULL AND {{debtors}}
        ORDER BY d.id, x.kind, x.value, x.confidence DESC
    ) data
    ORDER BY debtor_id, kind, value
"""
_NEW_DEBTOR_CONTACTS = _BATCH_CONTACTS.format(debtors=NEW_DEBTOR)
_ALL_DEBTOR_CONTACTS = _BATCH_CONTACTS.format(debtors="true")  # every debtor of the batch is new
_KNOWN_DEBTOR_CONTACTS = (
    _BATCH_CONTACTS.format(debtors=KNOWN_DEBTOR) + " ON CONFLICT ON CONSTRAINT contacts_datum DO NOTHING"
)
# `domain_contacts.grade` of a debtor `d` from its contacts.
_GRADE = f"""
    CASE WHEN EXISTS (SELECT 1 FROM ingest.contacts c WHERE c.tenant_id = d.tenant_id AND c.debtor_id = d.id
                      AND c.active AND c.kind = 'phone') THEN '{GRADE_PHONE}'
         WHEN EXISTS (SELECT 1 FROM ingest.contacts c WHERE c.tenant_id = d.tenant_id AND c.debtor_id = d.id
                      AND c.active AND c.kind IN ({", ".join(f"'{k}'" for k in WRITTEN_KINDS)}) AND c.confidence >= {ADDRESS_GRADE_CONFIDENCE})
              THEN '{GRADE_ADDRESS}'
         ELSE '{GRADE_NONE}' END
"""
# Grading a known debtor takes two statements: its row is locked first (in id order, the same for
# every writer), then graded by a statement whose snapshot is taken after that lock was granted. A
# single UPDATE that waited for another transaction's lock on the row (a tracing import, an operator,
# another batch, each adding contacts and then grading) would grade it from the contacts of its own
# earlier snapshot, without those the other one had just committed.
_KNOWN_BATCH_DEBTORS = f"""
    d.tenant_id = :tenant_id AND {KNOWN_DEBTOR} AND d.fiscal_code IN (
        SELECT fiscal_code FROM ingest.batch_rows
        WHERE tenant_id = :tenant_id AND batch_id = :batch_id AND verdict = 'accepted')
"""
_LOCK_BATCH_DEBTORS = (
    f"SELECT d.id FROM ingest.debtors d WHERE {_KNOWN_BATCH_DEBTORS} ORDER BY d.id FOR NO KEY UPDATE"
)
_GRADE_BATCH = f"UPDATE ingest.debtors d SET grade = {_GRADE}, graded_at = now() WHERE {_KNOWN_BATCH_DEBTORS}"
_SOME_DEBTORS = "d.tenant_id = :tenant_id AND d.id = ANY(CAST(:debtor_ids AS uuid[]))"
_LOCK_SOME_DEBTORS = (
    f"SELECT d.id FROM ingest.debtors d WHERE {_SOME_DEBTORS} ORDER BY d.id FOR NO KEY UPDATE"
)
_GRADE_SOME = f"""
    UPDATE ingest.debtors d SET grade = {_GRADE}, graded_at = now() WHERE {_SOME_DEBTORS}
    RETURNING d.id, d.grade
"""


async def clean_batch(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    batch_id: uuid.UUID,
    found_on: Any,
    entered_by: str,
    known_debtors: int,
) -> None:
    """Record the contacts of the batch's debtors with their provenance, then grade those debtors."""
    params = {"tenant_id": tenant_id, "batch_id": batch_id}
    clock = Clock()
    values = {**params, "found_on": found_on, "entered_by": entered_by}
    await uow.execute(sa.text(_NEW_DEBTOR_CONTACTS if known_debtors else _ALL_DEBTOR_CONTACTS), values)
    if known_debtors:
        await uow.execute(sa.text(_KNOWN_DEBTOR_CONTACTS), values)
    clock.lap("contacts")
    # New debtors were graded when inserted; only those created by earlier transactions
    # (created_at before this transaction's start) may need it.
    if known_debtors:
        await uow.execute(sa.text(_LOCK_BATCH_DEBTORS), params)
        await uow.execute(sa.text(_GRADE_BATCH), params)
    clock.lap("regrade")
    log.info("batch cleaned", extra={"fields": clock.laps})


async def regrade_some(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Grade these debtors again from their active contacts; their new grades."""
    params = {"tenant_id": tenant_id, "debtor_ids": list(debtor_ids)}
    await uow.execute(sa.text(_LOCK_SOME_DEBTORS), params)
    graded = await uow.execute(sa.text(_GRADE_SOME), params)
    return {r.id: str(r.grade) for r in graded}
