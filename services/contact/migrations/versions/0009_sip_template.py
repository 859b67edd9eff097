"""A Comune's SIP URI template for the operators' softphones (click to call).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column(
        "conduct_rules", sa.Column("sip_template", sa.Text, nullable=False, server_default=""), schema=S
    )


def downgrade() -> None:
    op.drop_column("conduct_rules", "sip_template", schema=S)
