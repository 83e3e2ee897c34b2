"""xero_invoice_states.status_read_from now holds where the next invoice status read asks from, its clock
allowance already taken off (webapp.sync.invoice_status.next_read_from), instead of the last read's start that the
read took a minute off: existing values are moved a minute earlier so the next read asks from the same moment.

Revision ID: b7d1e3f5a9c2
Revises: a8e2f4c6b0d3
Create Date: 2026-12-02 05:00:00

"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa

import webapp.models.base


# revision identifiers, used by Alembic.
revision = 'b7d1e3f5a9c2'
down_revision = 'a8e2f4c6b0d3'
branch_labels = None
depends_on = None

OVERLAP = timedelta(minutes=1)  # what invoice_status.CLOCK_OVERLAP was when reads took it off
STATES = sa.table('xero_invoice_states', sa.column('practice_id', sa.Integer),
                  sa.column('status_read_from', webapp.models.base.UTCDateTime(timezone=True)))


def _shift(by: timedelta) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(STATES.c.practice_id, STATES.c.status_read_from)
                              .where(STATES.c.status_read_from.is_not(None))).all()
    for practice_id, read_from in rows:
        connection.execute(STATES.update().where(STATES.c.practice_id == practice_id)
                           .values(status_read_from=read_from + by))


def upgrade():
    _shift(-OVERLAP)


def downgrade():
    _shift(OVERLAP)
