"""Wants (buy requests) and the (want, listing) pairs announced by SMS.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Written to match `gateway/market/want_models.py`, then checked by `alembic
check` (the schema test). The unique (want_id, listing_id) is what makes one
SMS per pair a database fact; the index on (product_id, status, id) is what
the matching of a new listing reads, oldest want first.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('wants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('max_price', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('buyer_id', sa.Integer(), nullable=True),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=16), nullable=True),
    sa.Column('language', sa.Enum('rw', 'en', 'fr', name='language', native_enum=False,
                                  create_constraint=False, length=2), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Enum('open', 'fulfilled', 'closed', 'expired', name='wantstatus',
                                native_enum=False, create_constraint=False, length=16),
              nullable=False),
    sa.Column('idem_key', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_wants_api_key_id_api_keys')),
    sa.ForeignKeyConstraint(['buyer_id'], ['producers.id'], name=op.f('fk_wants_buyer_id_producers')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_wants_district_id_districts')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_wants_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wants')),
    sa.UniqueConstraint('idem_key', name=op.f('uq_wants_idem_key'))
    )
    with op.batch_alter_table('wants', schema=None) as batch_op:
        batch_op.create_index('ix_wants_product_id_status_id', ['product_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_wants_status_expires_at', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_wants_buyer_id_status', ['buyer_id', 'status'], unique=False)
        batch_op.create_index('ix_wants_api_key_id_id', ['api_key_id', 'id'], unique=False)

    op.create_table('want_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('want_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('notified', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_want_matches_listing_id_listings')),
    sa.ForeignKeyConstraint(['want_id'], ['wants.id'], name=op.f('fk_want_matches_want_id_wants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_want_matches')),
    sa.UniqueConstraint('want_id', 'listing_id', name=op.f('uq_want_matches_want_id_listing_id'))
    )
    with op.batch_alter_table('want_matches', schema=None) as batch_op:
        batch_op.create_index('ix_want_matches_listing_id', ['listing_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('want_matches', schema=None) as batch_op:
        batch_op.drop_index('ix_want_matches_listing_id')
    op.drop_table('want_matches')
    with op.batch_alter_table('wants', schema=None) as batch_op:
        batch_op.drop_index('ix_wants_api_key_id_id')
        batch_op.drop_index('ix_wants_buyer_id_status')
        batch_op.drop_index('ix_wants_status_expires_at')
        batch_op.drop_index('ix_wants_product_id_status_id')
    op.drop_table('wants')
