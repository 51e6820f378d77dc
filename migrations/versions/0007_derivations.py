"""Derivations: parts of one assignment on one shared instance, and follow-through's record

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('derivations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('preset', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('share', sa.Double(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=True),
    sa.Column('K', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_derivations_assignment_id_assignments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_derivations'))
    )
    with op.batch_alter_table('derivations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_derivations_assignment_id'), ['assignment_id'], unique=False)

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('derivation_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_items_derivation_id'), ['derivation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_items_derivation_id_derivations'), 'derivations', ['derivation_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earlier', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('earlier')

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_items_derivation_id_derivations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_items_derivation_id'))
        batch_op.drop_column('derivation_id')

    with op.batch_alter_table('derivations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_derivations_assignment_id'))

    op.drop_table('derivations')
