"""engagements.updated_at and services.updated_at: when each last changed, so the Billing Plan checks only
the approved months an engagement changed after for charges they missed (catch-up), not every month since
the practice's first

Existing rows are stamped with the time of the upgrade. That is conservative: every existing engagement
counts as changed after every month approved so far, so the next plan checks them all against those months
as before; once the next month is approved (its plan caught up whatever they missed) they no longer do, for
the clients active then.

Revision ID: e4c1a9d7b2f8
Revises: 7a9d3e5b1c24
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import webapp.models.base


# revision identifiers, used by Alembic.
revision = 'e4c1a9d7b2f8'
down_revision = '7a9d3e5b1c24'
branch_labels = None
depends_on = None

TABLES = ('engagements', 'services')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('updated_at', webapp.models.base.UTCDateTime(timezone=True),
                                          nullable=True))
        op.execute(sa.table(table, sa.column('updated_at')).update().values(updated_at=sa.func.current_timestamp()))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('updated_at', existing_type=webapp.models.base.UTCDateTime(timezone=True),
                                  nullable=False)


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('updated_at')
