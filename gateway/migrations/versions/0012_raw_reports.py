"""The provider's form as received, beside the fields parsed from it.

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-10

Written by hand: one nullable text column on each table a provider's report
lands in (delivery reports, incoming SMS, the end-of-session notification's
row). Reports are now stored whatever their optional fields look like; a
field that could not be read is None in its column and kept here. Rows from
before have no raw form (NULL). Batch mode for SQLite.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ('delivery_reports', 'inbound_sms', 'ussd_sessions')


def upgrade() -> None:
    """Upgrade schema."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('raw', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('raw')
