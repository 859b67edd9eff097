"""Tables of the Ufficio tributi's portal (migration 0014), kept by triggers on positions, debtors and
plans in the transaction of whatever changed them (`reporting.portal_refresh`).

A group is the whole campaign (revenue type "" and year 0), a revenue type (year 0), a year (type
"") or a revenue type in a year. `portal_debtors` holds, per debtor and group of their positions not
cancelled, what they have at each stage: the debtor's own stages as flags, the positions' stages as
positions, amount assigned and amount collected. `portal_figures` holds, per group, the debtors,
positions and euro figure of every stage (the sums of `portal_debtors`)."""

import sqlalchemy as sa

from services.reporting.domain_portal import DEBTOR_STAGES, POSITION_STAGES, STAGES
from services.reporting.models import metadata


def _group() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("revenue_type", sa.Text, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
    ]


def _number(name: str, kind: type[sa.Integer] = sa.Integer) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, kind, nullable=False)


portal_debtors = sa.Table(
    "portal_debtors",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("debtor_id", sa.Uuid, primary_key=True),
    *_group(),
    sa.Column("fiscal_code", sa.Text, nullable=False),
    sa.Column("debtor_name", sa.Text, nullable=False),
    *(sa.Column(stage, sa.Boolean, nullable=False) for stage in DEBTOR_STAGES),
    _number("promises_cents", sa.BigInteger),
    *(
        column
        for stage in POSITION_STAGES
        for column in (
            _number(f"{stage}_positions"),
            _number(f"{stage}_amount_cents", sa.BigInteger),
            _number(f"{stage}_collected_cents", sa.BigInteger),
        )
    ),
    sa.Index("portal_debtors_by_name", "tenant_id", "revenue_type", "year", "debtor_name", "debtor_id"),
)

portal_figures = sa.Table(
    "portal_figures",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    *_group(),
    _number("promises_cents", sa.BigInteger),
    *(
        column
        for stage in STAGES
        for column in (
            _number(f"{stage}_debtors"),
            _number(f"{stage}_positions"),
            _number(f"{stage}_cents", sa.BigInteger),
        )
    ),
)
