"""The time of an operator's last failed log-in, so a run of failures ends.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-20

`operators.failed_logins` counted wrong passwords "in a row" for ever: a
stranger slowed down by the per-address log-in limit could still add one
failure now and then until the account locked. With `last_failed_at` a run
of failures ends after a quiet LOCK_OUT (15 min), and the per-address limit
(fewer than MAX_FAILED_LOGINS per quiet period) keeps one address from ever
completing a run alone.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.drop_column('last_failed_at')
