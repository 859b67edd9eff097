"""Tables of the aggio engine: contracts, tiers, monthly rendiconti.

Revision ID: 0006
Revises: 0005
"""

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
