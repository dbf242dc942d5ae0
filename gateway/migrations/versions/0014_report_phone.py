"""Delivery reports keep the recipient's number, so a report can settle a
message whose send answer never came back (status `unknown`); the new
message statuses `unknown` and `review` need no migration (VARCHAR statuses).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Reports stored before this revision have no number: they still settle
their message by the provider's id, as before.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('delivery_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('delivery_reports', schema=None) as batch_op:
        batch_op.drop_column('phone')
