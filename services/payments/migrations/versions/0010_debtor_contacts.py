"""Debtors' postal addresses join their e-mail and PEC addresses (notices for the post print them):
`debtor_emails` becomes `debtor_contacts`, rows and row-level security kept.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.rename_table("debtor_emails", "debtor_contacts", schema=S)
    op.execute(f"ALTER INDEX {S}.debtor_emails_debtor RENAME TO debtor_contacts_debtor")


def downgrade() -> None:
    op.execute(f"DELETE FROM {S}.debtor_contacts WHERE kind = 'address'")
    op.execute(f"ALTER INDEX {S}.debtor_contacts_debtor RENAME TO debtor_emails_debtor")
    op.rename_table("debtor_contacts", "debtor_emails", schema=S)
