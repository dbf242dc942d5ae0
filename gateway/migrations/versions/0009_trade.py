"""Trade: the handover's delivery code (its hash, wrong entries, lock) and the
delivery time on orders; new states need no migration (VARCHAR statuses).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12

Orders accepted before this revision have no delivery code: the buyer
confirms receipt (USSD or API) or an operator moves them on.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('code_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('code_locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('code_locked_until')
        batch_op.drop_column('code_failures')
        batch_op.drop_column('delivery_code_hash')
