"""Tables of the reporting service (schema `reporting`)."""

import sqlalchemy as sa

from services.kernel.db import inbox_table, outbox_table

metadata = sa.MetaData(schema="reporting")

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
