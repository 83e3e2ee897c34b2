"""Socket's invoice statuses renamed (raised, held, posting, posted, failed: "approved" is Xero's word only);
clients' own invoice day and payment terms; Billing Settings' "create missing contacts in Xero when posting"

Existing invoices that were "approved" (or "draft") in Socket become "raised"; invoices.status defaults to
"raised". clients.invoice_day (1-28) and clients.payment_terms_days (0-120) are NULL: the practice's
Billing Settings. billing_settings.create_missing_contacts is true for every practice.

Downgrade: raised, held and posting invoices go back to "approved" (posted and failed keep their names).

Revision ID: c11049ceb195
Revises: 5e2f9a1c7b33
Create Date: 2026-12-01 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c11049ceb195'
down_revision = '5e2f9a1c7b33'
branch_labels = None
depends_on = None

invoices = sa.table('invoices', sa.column('status', sa.String))


def upgrade():
    op.execute(invoices.update().where(invoices.c.status.in_(['approved', 'draft'])).values(status='raised'))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), existing_nullable=False,
                              server_default='raised')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_day', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('payment_terms_days', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_clients_invoice_day'), 'invoice_day BETWEEN 1 AND 28')
        batch_op.create_check_constraint(batch_op.f('ck_clients_payment_terms_days'),
                                         'payment_terms_days BETWEEN 0 AND 120')

    with op.batch_alter_table('billing_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('create_missing_contacts', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('billing_settings', schema=None) as batch_op:
        batch_op.drop_column('create_missing_contacts')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_clients_payment_terms_days'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_clients_invoice_day'), type_='check')
        batch_op.drop_column('payment_terms_days')
        batch_op.drop_column('invoice_day')

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), existing_nullable=False,
                              server_default=None)
    op.execute(invoices.update().where(invoices.c.status.in_(['raised', 'held', 'posting']))
               .values(status='approved'))
