"""Tables of the ingest service (schema `ingest`)."""

import sqlalchemy as sa

from services.kernel.db import inbox_table, outbox_table

metadata = sa.MetaData(schema="ingest")

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
