"""billing_plan_rows.extras: what a client adds to the month's plan-wide notes (late charges, months awaiting
approval, fees from before Socket), apart from the payload the page shows, so summing a month reads the small
column instead of every row's payload. Stored plans are emptied: they are rebuilt on the next view.

Revision ID: f3a7c5e9d1b2
Revises: d2f8a6c4e1b9
Create Date: 2026-12-01 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a7c5e9d1b2'
down_revision = 'd2f8a6c4e1b9'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM billing_plan_states")
    op.execute("DELETE FROM billing_plan_rows")
    with op.batch_alter_table('billing_plan_rows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extras', sa.JSON(), nullable=True))


def downgrade():
    op.execute("DELETE FROM billing_plan_states")
    op.execute("DELETE FROM billing_plan_rows")
    with op.batch_alter_table('billing_plan_rows', schema=None) as batch_op:
        batch_op.drop_column('extras')
