"""One live Xero connection per organisation: partial unique index on xero_connections.tenant_id

Revision ID: 4f1d2a7c9e10
Revises: 9c74bcb6e285
Create Date: 2026-06-15 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4f1d2a7c9e10'
down_revision = '9c74bcb6e285'
branch_labels = None
depends_on = None

LIVE = sa.text("status != 'disconnected'")


def upgrade():
    with op.batch_alter_table('xero_connections', schema=None) as batch_op:
        batch_op.create_index('uq_xero_connections_live_tenant', ['tenant_id'], unique=True,
                              postgresql_where=LIVE, sqlite_where=LIVE)


def downgrade():
    with op.batch_alter_table('xero_connections', schema=None) as batch_op:
        batch_op.drop_index('uq_xero_connections_live_tenant', postgresql_where=LIVE, sqlite_where=LIVE)
