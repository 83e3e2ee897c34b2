"""The stored Billing Plan: billing_plan_rows (each client's row of a month's plan), billing_plan_states (a month's
summary, present only while every row is fresh) and billing_plan_versions (where changes and rebuilds of one
practice's stored plan take turns). Empty at first: the first view of each month builds it. No foreign keys:
see webapp/models/billing_plan.py.

Revision ID: b7c3d9e1f2a4
Revises: e4c1a9d7b2f8
Create Date: 2026-12-01 04:30:00

"""
from alembic import op
import sqlalchemy as sa

from webapp.models.base import Money, UTCDateTime

# revision identifiers, used by Alembic.
revision = 'b7c3d9e1f2a4'
down_revision = 'e4c1a9d7b2f8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'billing_plan_rows',
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.Date(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('client_name', sa.String(length=200), nullable=False),
        sa.Column('client_code', sa.String(length=32), nullable=False),
        sa.Column('section', sa.String(length=8), nullable=False),
        sa.Column('change', sa.String(length=16), nullable=True),
        sa.Column('amount', Money(), nullable=False),
        sa.Column('last_amount', Money(), nullable=False),
        sa.Column('vat', Money(), nullable=True),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('catch_up_count', sa.Integer(), nullable=False),
        sa.Column('invoice_day_date', sa.Date(), nullable=True),
        sa.Column('own_terms', sa.Boolean(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=True),
        sa.Column('digest', sa.String(length=64), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('built_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('practice_id', 'period', 'client_id'),
    )
    op.create_index('ix_billing_plan_rows_client', 'billing_plan_rows', ['client_id'])
    op.create_index('ix_billing_plan_rows_by_name', 'billing_plan_rows',
                    ['practice_id', 'period', 'client_name', 'client_id'])
    op.create_table(
        'billing_plan_states',
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.Date(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('built_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('practice_id', 'period'),
    )
    op.create_table(
        'billing_plan_versions',
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('practice_id'),
    )


def downgrade():
    op.drop_table('billing_plan_versions')
    op.drop_table('billing_plan_states')
    op.drop_index('ix_billing_plan_rows_by_name', table_name='billing_plan_rows')
    op.drop_index('ix_billing_plan_rows_client', table_name='billing_plan_rows')
    op.drop_table('billing_plan_rows')
