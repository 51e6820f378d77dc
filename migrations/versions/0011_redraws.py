"""Re-draws: each instructor's re-draw of a student's instance, and the attempts it gave back

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('redraws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('draw_number', sa.Integer(), nullable=False),
    sa.Column('attempts_used', sa.Integer(), nullable=False),
    sa.Column('attempts_given_back', sa.Integer(), nullable=False),
    sa.Column('gave_back', sa.Boolean(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_redraws_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_redraws_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_redraws_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redraws'))
    )
    with op.batch_alter_table('redraws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redraws_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redraws_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    # the attempts given back go with the table: a student's limit is the item's (and any
    # extension's) again, as before the re-draws could give attempts back
    with op.batch_alter_table('redraws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redraws_user_id'))
        batch_op.drop_index(batch_op.f('ix_redraws_item_id'))

    op.drop_table('redraws')
