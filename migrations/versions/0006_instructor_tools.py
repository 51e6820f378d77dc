"""Instructor tools: students' extensions, and the verdicts a regrade replaced

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extra_attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_extensions_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_extensions_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_extensions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extensions')),
    sa.UniqueConstraint('assignment_id', 'item_id', 'user_id', name=op.f('uq_extensions_assignment_id'))
    )
    with op.batch_alter_table('extensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extensions_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_extensions_user_id'), ['user_id'], unique=False)

    op.create_table('past_verdicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.JSON(), nullable=True),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('correct', sa.Boolean(), nullable=True),
    sa.Column('codes', sa.JSON(), nullable=True),
    sa.Column('graded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('catalog_version', sa.String(length=32), nullable=True),
    sa.Column('grader_version', sa.String(length=32), nullable=True),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_past_verdicts_submission_id_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_past_verdicts'))
    )
    with op.batch_alter_table('past_verdicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_past_verdicts_submission_id'), ['submission_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('past_verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_past_verdicts_submission_id'))
    op.drop_table('past_verdicts')
    with op.batch_alter_table('extensions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_extensions_user_id'))
        batch_op.drop_index(batch_op.f('ix_extensions_assignment_id'))
    op.drop_table('extensions')
