"""Market information: price alerts, operators' broadcasts and their recipients.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Written to match `gateway/market/alert_models.py` and
`gateway/sms/broadcast_models.py`, then checked by `alembic check` (the
schema test). The unique (producer_id, product_id) makes one alert per
subscriber and product a database fact.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('price_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('basis_price', sa.Integer(), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_price_alerts_producer_id_producers')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_price_alerts_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_alerts')),
    sa.UniqueConstraint('producer_id', 'product_id', name='uq_price_alerts_producer_product')
    )
    with op.batch_alter_table('price_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_alerts_product_id'), ['product_id'], unique=False)

    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=200), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    op.create_table('broadcast_recipients',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'],
                            name=op.f('fk_broadcast_recipients_broadcast_id_broadcasts')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                            name=op.f('fk_broadcast_recipients_message_id_messages')),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_broadcast_recipients'))
    )
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_recipients_broadcast_id'), ['broadcast_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_recipients_broadcast_id'))
    op.drop_table('broadcast_recipients')
    op.drop_table('broadcasts')
    with op.batch_alter_table('price_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_alerts_product_id'))
    op.drop_table('price_alerts')
