"""practices.crm_import_scope: which active Xero contacts become Socket clients when Xero is the primary CRM
("customers", the default, or "all")

Existing practices get "customers".

Revision ID: 87d7a3305e30
Revises: fe33e5e95911
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '87d7a3305e30'
down_revision = 'fe33e5e95911'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('crm_import_scope', sa.String(length=16), nullable=True))
    practices = sa.table('practices', sa.column('crm_import_scope', sa.String))
    op.execute(practices.update().values(crm_import_scope='customers'))
    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.alter_column('crm_import_scope', existing_type=sa.String(length=16), nullable=False)


def downgrade():
    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.drop_column('crm_import_scope')
