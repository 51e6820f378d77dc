"""Practice sets keep a seed: every version of their items is drawn from it, so that a
student may ask for another version and each earlier one can be drawn again

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09 09:00:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED_BITS = 63  # grader.service.variants.SEED_BITS, as it was when this migration was written


def upgrade() -> None:
    # added in place, never by batch mode's copy of the table: on SQLite, dropping the old
    # practice_sets (foreign keys on) would delete every practice item by its ON DELETE CASCADE
    op.add_column('practice_sets', sa.Column('seed', sa.BigInteger(), nullable=False, server_default='0'))
    # sets made before: a seed of their own for the versions to come (their first instances
    # were drawn otherwise and stay as stored)
    practice_sets = sa.table('practice_sets', sa.column('id', sa.Integer()), sa.column('seed', sa.BigInteger()))
    connection = op.get_bind()
    for (set_id,) in connection.execute(sa.select(practice_sets.c.id)).all():
        connection.execute(
            practice_sets.update().where(practice_sets.c.id == set_id).values(seed=secrets.randbits(SEED_BITS))
        )


def downgrade() -> None:
    with op.batch_alter_table('practice_sets', schema=None) as batch_op:
        batch_op.drop_column('seed')
