"""An index in the Clients list's order (practice, lower-cased name, id): a page of 25 reads 25 index entries
instead of sorting every client of the practice.

Revision ID: d2f8a6c4e1b9
Revises: b7c3d9e1f2a4
Create Date: 2026-12-01 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2f8a6c4e1b9'
down_revision = 'b7c3d9e1f2a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_clients_practice_lower_name', 'clients', ['practice_id', sa.text('lower(name)'), 'id'])


def downgrade():
    op.drop_index('ix_clients_practice_lower_name', table_name='clients')
