"""Drop the foreign keys checked once per row on the bulk path of a batch.

A foreign key costs one lookup per inserted row (a trigger each): for a million-row batch, the four
below took about a fifth of the ingest time. Rows of these tables are written by the ingest
transaction that registers a batch, from rows it has just joined with their batch and debtor in the
same statement, or (contacts only) by a tracing import or an operator for a debtor of the tenant read
or joined in the same transaction; nothing deletes batches or debtors. `tests/ingest/test_repository.py`
checks after a batch that every row still has its parent.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
S = "ingest"
KEYS = (
    ("batch_rows", "batch_rows_batch_id_fkey", "batch_id", "batches"),
    ("positions", "positions_batch_id_fkey", "batch_id", "batches"),
    ("positions", "positions_debtor_id_fkey", "debtor_id", "debtors"),
    ("contacts", "contacts_debtor_id_fkey", "debtor_id", "debtors"),
)


def upgrade() -> None:
    for table, name, _, _ in KEYS:
        op.drop_constraint(name, table, schema=S, type_="foreignkey")


def downgrade() -> None:
    for table, name, column, parent in KEYS:
        op.create_foreign_key(name, table, parent, [column], ["id"], source_schema=S, referent_schema=S)
