"""Account merges: an account the LMS made, joined into the one its user had, with what moved

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account_merges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('from_name', sa.String(length=64), nullable=False),
    sa.Column('into_user_id', sa.Integer(), nullable=False),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('course_ids', sa.JSON(), nullable=False),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_account_merges_from_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['into_user_id'], ['users.id'], name=op.f('fk_account_merges_into_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_merges')),
    sa.UniqueConstraint('from_user_id', name=op.f('uq_account_merges_from_user_id'))
    )
    with op.batch_alter_table('account_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_merges_into_user_id'), ['into_user_id'], unique=False)


def downgrade() -> None:
    # the records of joined accounts go with the table; the rows that moved stay where they are
    with op.batch_alter_table('account_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_merges_into_user_id'))

    op.drop_table('account_merges')
