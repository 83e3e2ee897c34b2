"""billing_plan_rows.section_order and an index in the Billing Plan page's default order (invoiced clients first,
then by name), so a page reads its 50 index entries instead of sorting the month's rows. Stored plans are
emptied: they are rebuilt on the next view.

Revision ID: a8e2f4c6b0d3
Revises: f3a7c5e9d1b2
Create Date: 2026-12-01 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8e2f4c6b0d3'
down_revision = 'f3a7c5e9d1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM billing_plan_states")
    op.execute("DELETE FROM billing_plan_rows")
    with op.batch_alter_table('billing_plan_rows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('section_order', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index('ix_billing_plan_rows_page',
                              ['practice_id', 'period', 'section_order', 'client_name', 'client_id'])


def downgrade():
    op.execute("DELETE FROM billing_plan_states")
    op.execute("DELETE FROM billing_plan_rows")
    with op.batch_alter_table('billing_plan_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_plan_rows_page')
        batch_op.drop_column('section_order')
