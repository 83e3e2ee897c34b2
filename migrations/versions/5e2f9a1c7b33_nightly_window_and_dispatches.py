"""The nightly sync: each practice's window (practices.nightly_sync_at, 02:00 local unless chosen) and the nights
its sync was queued for (nightly_dispatches, one per practice and night)

Revision ID: 5e2f9a1c7b33
Revises: 3b1e7c2d9a40
Create Date: 2026-12-01 01:00:00

"""
import datetime

from alembic import op
import sqlalchemy as sa

import webapp.models.base


# revision identifiers, used by Alembic.
revision = '5e2f9a1c7b33'
down_revision = '3b1e7c2d9a40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nightly_sync_at', sa.Time(), nullable=True))
    practices = sa.table('practices', sa.column('nightly_sync_at', sa.Time))
    op.execute(practices.update().values(nightly_sync_at=datetime.time(2, 0)))
    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.alter_column('nightly_sync_at', existing_type=sa.Time(), nullable=False)
    op.create_table(
        'nightly_dispatches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('night', sa.Date(), nullable=False),
        sa.Column('sync_run_id', sa.Integer(), nullable=True),
        sa.Column('dispatched_at', webapp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['practice_id'], ['practices.id']),
        sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('practice_id', 'night', name='uq_nightly_dispatches_practice_night'),
    )


def downgrade():
    op.drop_table('nightly_dispatches')
    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.drop_column('nightly_sync_at')
