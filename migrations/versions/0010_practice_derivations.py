"""Derivations in practice sets: a derivation belongs to an assignment or to one student's
practice set, and says why practice chose it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('derivations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('practice_set_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.alter_column('assignment_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_derivations_practice_set_id'), ['practice_set_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_derivations_practice_set_id_practice_sets'), 'practice_sets', ['practice_set_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint('one_parent', '(assignment_id IS NULL) <> (practice_set_id IS NULL)')


def downgrade() -> None:
    # practice derivations have no assignment to stay with: they go, their parts with them
    op.execute('DELETE FROM items WHERE derivation_id IN (SELECT id FROM derivations WHERE practice_set_id IS NOT NULL)')
    op.execute('DELETE FROM derivations WHERE practice_set_id IS NOT NULL')
    with op.batch_alter_table('derivations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_derivations_one_parent'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_derivations_practice_set_id_practice_sets'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_derivations_practice_set_id'))
        batch_op.alter_column('assignment_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('reason')
        batch_op.drop_column('practice_set_id')
