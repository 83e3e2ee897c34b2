"""billing run scope: clients active at each approval

Adds billing_run_clients: for each approved month, the clients that were active when it was approved.
Catch-up bills a missed charge from an approved month only for a client in that month's scope, so a
client is never billed for a month it was archived in. Existing runs get no scope rows on purpose:
assuming "everyone active now" would bill archived months, so their months are never caught up.

Revision ID: 4f62bdfdcc3c
Revises: 4f1d2a7c9e10
Create Date: 2026-11-25 00:18:59.353937

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4f62bdfdcc3c'
down_revision = '4f1d2a7c9e10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billing_run_clients',
    sa.Column('billing_run_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['billing_run_id'], ['billing_runs.id'], name=op.f('fk_billing_run_clients_billing_run_id_billing_runs')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_billing_run_clients_client_id_clients')),
    sa.PrimaryKeyConstraint('billing_run_id', 'client_id', name=op.f('pk_billing_run_clients'))
    )
    with op.batch_alter_table('billing_run_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_run_clients_client_id'), ['client_id'], unique=False)



def downgrade():
    with op.batch_alter_table('billing_run_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_run_clients_client_id'))

    op.drop_table('billing_run_clients')
