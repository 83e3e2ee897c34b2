"""Automatic monthly billing: billing_settings.approve_automatically (off for every practice) and
billing_runs.automatic (false for every month approved so far)

Revision ID: 7a9d3e5b1c24
Revises: c41d7e9b2f63
Create Date: 2026-12-01 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a9d3e5b1c24'
down_revision = 'c41d7e9b2f63'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('billing_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approve_automatically', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('billing_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('automatic', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('billing_runs', schema=None) as batch_op:
        batch_op.drop_column('automatic')
    with op.batch_alter_table('billing_settings', schema=None) as batch_op:
        batch_op.drop_column('approve_automatically')
