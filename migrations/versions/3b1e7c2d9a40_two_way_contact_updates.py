"""Two-way contact updates: what each side of a linked pair held when last synced, and the issues shown on clients

client_contact_links gains synced_contact_id, synced_values (JSON) and synced_at (all NULL: the first sync of
each pair takes its baseline); contact_sync_issues records conflicts and refused changes until dismissed.

Revision ID: 3b1e7c2d9a40
Revises: 87d7a3305e30
Create Date: 2026-12-01 01:00:00

"""
from alembic import op
import sqlalchemy as sa

from webapp.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '3b1e7c2d9a40'
down_revision = '87d7a3305e30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('client_contact_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('synced_contact_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('synced_values', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('synced_at', UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'contact_sync_issues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.String(length=36), nullable=False),
        sa.Column('field', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('socket_value', sa.Text(), nullable=True),
        sa.Column('xero_value', sa.Text(), nullable=True),
        sa.Column('kept', sa.String(length=8), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('dismissed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
        sa.ForeignKeyConstraint(['dismissed_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['practice_id'], ['practices.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('contact_sync_issues', schema=None) as batch_op:
        batch_op.create_index('ix_contact_sync_issues_client_open', ['client_id', 'dismissed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_sync_issues_practice_id'), ['practice_id'], unique=False)


def downgrade():
    with op.batch_alter_table('contact_sync_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_sync_issues_practice_id'))
        batch_op.drop_index('ix_contact_sync_issues_client_open')
    op.drop_table('contact_sync_issues')
    with op.batch_alter_table('client_contact_links', schema=None) as batch_op:
        batch_op.drop_column('synced_at')
        batch_op.drop_column('synced_values')
        batch_op.drop_column('synced_contact_id')
