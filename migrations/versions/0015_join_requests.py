"""Join requests: a join refused for questions both accounts answered, for an instructor to decide

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('join_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lms_user_id', sa.Integer(), nullable=False),
    sa.Column('target_user_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('conflicts', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('choices', sa.JSON(), nullable=True),
    sa.Column('merge_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['lms_user_id'], ['users.id'], name=op.f('fk_join_requests_lms_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merge_id'], ['account_merges.id'], name=op.f('fk_join_requests_merge_id_account_merges'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_join_requests_resolved_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_user_id'], ['users.id'], name=op.f('fk_join_requests_target_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_requests'))
    )
    with op.batch_alter_table('join_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_requests_lms_user_id'), ['lms_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_requests_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_requests_target_user_id'), ['target_user_id'], unique=False)


def downgrade() -> None:
    # the requests go with the table; the joins they led to stay, each with its record
    with op.batch_alter_table('join_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_requests_target_user_id'))
        batch_op.drop_index(batch_op.f('ix_join_requests_state'))
        batch_op.drop_index(batch_op.f('ix_join_requests_lms_user_id'))

    op.drop_table('join_requests')
