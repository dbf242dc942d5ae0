"""The gateway's own account of USSD sessions on their `ussd_sessions` row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Written by hand: the columns the hop-stream drain fills
(`gateway.ussd.sessionlog`), and `status` nullable, since a session the
gateway saw has no provider status until the provider's notification
arrives (locally and in the simulator, never). Batch mode for SQLite.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('ussd_sessions', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), nullable=True)
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_hop_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('hop_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_hop', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=True))
        batch_op.create_index(batch_op.f('ix_ussd_sessions_started_at'), ['started_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema: rows only the gateway saw have no status and go."""
    op.execute("DELETE FROM ussd_sessions WHERE status IS NULL")
    with op.batch_alter_table('ussd_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ussd_sessions_started_at'))
        batch_op.drop_column('language')
        batch_op.drop_column('last_hop')
        batch_op.drop_column('hop_count')
        batch_op.drop_column('last_hop_at')
        batch_op.drop_column('started_at')
        batch_op.alter_column('status', existing_type=sa.String(length=16), nullable=False)
