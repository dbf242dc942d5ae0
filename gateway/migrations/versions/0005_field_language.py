"""Names of real length, and the catalogue's French with its accents.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

`producers.name` grows from 30 to 60 characters: Rwandan names such as
"Nyiraneza Marie Goretti Uwimana" did not fit.

The shipped catalogue's French names lost their accents ("Cafe cerise",
"Feuille de the", which reads as English). Seeding never overwrites a
product, so a deployed database keeps the old names: this revision renames a
product only where its French name is still exactly the one shipped before,
so an operator's own edit is kept. Running it again changes nothing. The
grades' French names ("Classe A") had no accent to restore.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Product code -> (French name shipped until now, the name shipped from here).
# A copy, not an import of gateway/data/catalogue.yaml: a revision must keep
# meaning what it meant when it was written.
FRENCH_NAMES = {
    "coffee_cherry": ("Cafe cerise", "Café cerise"),
    "parchment_coffee": ("Cafe parche", "Café parche"),
    "green_tea_leaf": ("Feuille de the", "Feuille de thé"),
    "cooking_banana": ("Banane a cuire", "Banane à cuire"),
    "maize": ("Mais", "Mais en grain"),  # "maïs": ï is outside GSM-7
}
OLD_NAME_LENGTH, NAME_LENGTH = 30, 60

_products = sa.table("products", sa.column("code", sa.String), sa.column("name_fr", sa.String))


def _rename(frm: int, to: int) -> None:
    for code, names in FRENCH_NAMES.items():
        op.execute(
            _products.update()
            .where(_products.c.code == code, _products.c.name_fr == names[frm])
            .values(name_fr=names[to])
        )


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('producers', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=OLD_NAME_LENGTH),
                              type_=sa.String(length=NAME_LENGTH), existing_nullable=False)
    _rename(0, 1)


def downgrade() -> None:
    """Downgrade schema (a longer name is cut to the old length)."""
    _rename(1, 0)
    producers = sa.table("producers", sa.column("name", sa.String))
    op.execute(producers.update()
               .where(sa.func.length(producers.c.name) > OLD_NAME_LENGTH)
               .values(name=sa.func.substr(producers.c.name, 1, OLD_NAME_LENGTH)))
    with op.batch_alter_table('producers', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=NAME_LENGTH),
                              type_=sa.String(length=OLD_NAME_LENGTH), existing_nullable=False)
