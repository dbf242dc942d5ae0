"""Per-product bounds on a listing's price, as percentages of the reference.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Written by hand: two integer columns with server defaults (20 % and 500 %),
so every existing product gets the defaults. Batch mode for SQLite.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('price_floor_percent', sa.Integer(), nullable=False, server_default='20'))
        batch_op.add_column(sa.Column('price_ceiling_percent', sa.Integer(), nullable=False,
                                      server_default='500'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('price_ceiling_percent')
        batch_op.drop_column('price_floor_percent')
