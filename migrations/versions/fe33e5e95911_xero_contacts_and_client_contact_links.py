"""Xero contacts: the local mirror (xero_contacts), its pull state per practice (xero_contact_pulls), and what
was decided for each client (client_contact_links)

Revision ID: fe33e5e95911
Revises: 8f6fd6e57545
Create Date: 2026-11-30 22:31:33.096078

"""
from alembic import op
import sqlalchemy as sa

import webapp.models.base


# revision identifiers, used by Alembic.
revision = 'fe33e5e95911'
down_revision = '8f6fd6e57545'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('xero_contact_pulls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('last_started_at', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_xero_contact_pulls_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xero_contact_pulls')),
    sa.UniqueConstraint('practice_id', name=op.f('uq_xero_contact_pulls_practice_id'))
    )
    op.create_table('xero_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('contact_number', sa.String(length=50), nullable=True),
    sa.Column('account_number', sa.String(length=50), nullable=True),
    sa.Column('company_number', sa.String(length=50), nullable=True),
    sa.Column('tax_number', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('merged_to_contact_id', sa.String(length=36), nullable=True),
    sa.Column('is_customer', sa.Boolean(), nullable=False),
    sa.Column('is_supplier', sa.Boolean(), nullable=False),
    sa.Column('phone', sa.String(length=100), nullable=True),
    sa.Column('address_line', sa.Text(), nullable=True),
    sa.Column('city', sa.String(length=255), nullable=True),
    sa.Column('postcode', sa.String(length=50), nullable=True),
    sa.Column('updated_date_utc', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', webapp.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_xero_contacts_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xero_contacts')),
    sa.UniqueConstraint('practice_id', 'contact_id', name='uq_xero_contacts_practice_contact')
    )
    op.create_table('client_contact_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('candidate_ids', sa.JSON(), nullable=False),
    sa.Column('is_manual', sa.Boolean(), nullable=False),
    sa.Column('decided_at', webapp.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_contact_links_client_id_clients')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_client_contact_links_decided_by_id_users')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_client_contact_links_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_contact_links')),
    sa.UniqueConstraint('client_id', name=op.f('uq_client_contact_links_client_id'))
    )
    with op.batch_alter_table('client_contact_links', schema=None) as batch_op:
        batch_op.create_index('ix_client_contact_links_practice_outcome', ['practice_id', 'outcome'], unique=False)



def downgrade():
    with op.batch_alter_table('client_contact_links', schema=None) as batch_op:
        batch_op.drop_index('ix_client_contact_links_practice_outcome')

    op.drop_table('client_contact_links')
    op.drop_table('xero_contacts')
    op.drop_table('xero_contact_pulls')
