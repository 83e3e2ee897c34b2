"""Posting invoices to Xero: each invoice's posting (invoice_xero_postings), the posting runs
(invoice_posting_runs), and per practice the invoice read-back point and posting lease (xero_invoice_states)

Revision ID: c41d7e9b2f63
Revises: c11049ceb195
Create Date: 2026-12-01 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import webapp.models.base


# revision identifiers, used by Alembic.
revision = 'c41d7e9b2f63'
down_revision = 'c11049ceb195'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invoice_xero_postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('refusals', sa.Integer(), nullable=False),
    sa.Column('sent_reference', sa.String(length=255), nullable=True),
    sa.Column('sent', sa.JSON(), nullable=True),
    sa.Column('outcome_unknown', sa.Boolean(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('held_reason', sa.Text(), nullable=True),
    sa.Column('xero_invoice_id', sa.String(length=36), nullable=True),
    sa.Column('xero_number', sa.String(length=255), nullable=True),
    sa.Column('xero_status', sa.String(length=16), nullable=True),
    sa.Column('total', webapp.models.base.Money(precision=12, scale=2), nullable=True),
    sa.Column('amount_due', webapp.models.base.Money(precision=12, scale=2), nullable=True),
    sa.Column('amount_paid', webapp.models.base.Money(precision=12, scale=2), nullable=True),
    sa.Column('xero_updated_at', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('edited_in_xero', sa.Boolean(), nullable=False),
    sa.Column('xero_edits', sa.JSON(), nullable=False),
    sa.Column('posted_at', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('found_after_unknown', sa.Boolean(), nullable=False),
    sa.Column('created_at', webapp.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', webapp.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_xero_postings_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_invoice_xero_postings_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_xero_postings')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_invoice_xero_postings_invoice_id'))
    )
    with op.batch_alter_table('invoice_xero_postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_xero_postings_practice_id'), ['practice_id'], unique=False)
        batch_op.create_index('ix_invoice_xero_postings_practice_xero_invoice', ['practice_id', 'xero_invoice_id'],
                              unique=False)

    op.create_table('invoice_posting_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('period', sa.Date(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('retry_failed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rq_job_id', sa.String(length=64), nullable=True),
    sa.Column('progress', sa.String(length=200), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('xero_calls', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('queued_at', webapp.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_posting_runs_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_invoice_posting_runs_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_posting_runs'))
    )
    with op.batch_alter_table('invoice_posting_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_posting_runs_practice_id'), ['practice_id'], unique=False)

    op.create_table('xero_invoice_states',
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=True),
    sa.Column('status_read_from', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_read_at', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.String(length=36), nullable=True),
    sa.Column('lease_until', webapp.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_xero_invoice_states_practice_id_practices')),
    sa.PrimaryKeyConstraint('practice_id', name=op.f('pk_xero_invoice_states'))
    )


def downgrade():
    op.drop_table('xero_invoice_states')
    with op.batch_alter_table('invoice_posting_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_posting_runs_practice_id'))
    op.drop_table('invoice_posting_runs')
    with op.batch_alter_table('invoice_xero_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_xero_postings_practice_xero_invoice')
        batch_op.drop_index(batch_op.f('ix_invoice_xero_postings_practice_id'))
    op.drop_table('invoice_xero_postings')
