"""Tables of the contact service (schema `contact`)."""

import sqlalchemy as sa

from services.kernel.db import inbox_table, outbox_table

metadata = sa.MetaData(schema="contact")

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
