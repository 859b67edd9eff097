"""The aggio contract keeps its versions: a contract amended during the mandate (new rates from a
month on, an «atto aggiuntivo») is a new row of `aggio_contracts` from its start date, and each
month is invoiced with the version in force then. A version is (tenant, start date); its rates in
`aggio_bands` carry the start date of their version. The one contract each Comune had becomes its
first version.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None
S = "reporting"
KEY = ["tenant_id", "start_date"]

# Migrations run as the tables' owner, which FORCE ROW LEVEL SECURITY holds to the tenant policy:
# for the copy across Comuni the two tables are briefly not forced.
FILL_START = (
    f"ALTER TABLE {S}.aggio_bands NO FORCE ROW LEVEL SECURITY",
    f"ALTER TABLE {S}.aggio_contracts NO FORCE ROW LEVEL SECURITY",
    f"UPDATE {S}.aggio_bands b SET start_date = c.start_date FROM {S}.aggio_contracts c "
    "WHERE c.tenant_id = b.tenant_id",
    f"DELETE FROM {S}.aggio_bands WHERE start_date IS NULL",
    f"ALTER TABLE {S}.aggio_contracts FORCE ROW LEVEL SECURITY",
    f"ALTER TABLE {S}.aggio_bands FORCE ROW LEVEL SECURITY",
)

KEEP_LATEST = (
    FILL_START[0],
    FILL_START[1],
    f"DELETE FROM {S}.aggio_contracts c USING {S}.aggio_contracts later "
    "WHERE later.tenant_id = c.tenant_id AND later.start_date > c.start_date",
    f"DELETE FROM {S}.aggio_bands b WHERE NOT EXISTS (SELECT FROM {S}.aggio_contracts c "
    "WHERE c.tenant_id = b.tenant_id AND c.start_date = b.start_date)",
    FILL_START[4],
    FILL_START[5],
)


def upgrade() -> None:
    op.add_column("aggio_bands", sa.Column("start_date", sa.Date), schema=S)
    for statement in FILL_START:
        op.execute(statement)
    op.alter_column("aggio_bands", "start_date", nullable=False, schema=S)
    op.drop_constraint("aggio_bands_pkey", "aggio_bands", schema=S)
    op.create_primary_key(
        "aggio_bands_pkey", "aggio_bands", ["tenant_id", "start_date", "revenue_type", "from_cents"], schema=S
    )
    op.drop_constraint("aggio_contracts_pkey", "aggio_contracts", schema=S)
    op.create_primary_key("aggio_contracts_pkey", "aggio_contracts", KEY, schema=S)
    op.create_foreign_key(
        "aggio_bands_version",
        "aggio_bands",
        "aggio_contracts",
        KEY,
        KEY,
        source_schema=S,
        referent_schema=S,
        ondelete="CASCADE",
    )


def downgrade() -> None:
    """Back to one contract per Comune: its latest version."""
    op.drop_constraint("aggio_bands_version", "aggio_bands", schema=S)
    for statement in KEEP_LATEST:
        op.execute(statement)
    op.drop_constraint("aggio_contracts_pkey", "aggio_contracts", schema=S)
    op.create_primary_key("aggio_contracts_pkey", "aggio_contracts", ["tenant_id"], schema=S)
    op.drop_constraint("aggio_bands_pkey", "aggio_bands", schema=S)
    op.create_primary_key(
        "aggio_bands_pkey", "aggio_bands", ["tenant_id", "revenue_type", "from_cents"], schema=S
    )
    op.drop_column("aggio_bands", "start_date", schema=S)
