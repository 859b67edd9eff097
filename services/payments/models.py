"""Tables of the payments service (schema `payments`)."""

import sqlalchemy as sa

from services.kernel.db import inbox_table, outbox_table

metadata = sa.MetaData(schema="payments")

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
