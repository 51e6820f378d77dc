"""Re-draws keep the newest submission before them: the attempts a re-draw gives back are those
up to it that count, as their verdicts come (an answer still being graded at the re-draw included)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-16 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # added in place, never by batch mode's copy of the table (see 0012)
    op.add_column('redraws', sa.Column('last_submission_id', sa.Integer(), nullable=False, server_default='0'))
    # re-draws made before: the student's submissions to the item stored by then (the same
    # attempts they gave back, unless one then being graded turned out unreadable since)
    redraws = sa.table('redraws', sa.column('item_id', sa.Integer()), sa.column('user_id', sa.Integer()),
                       sa.column('created_at', sa.DateTime(timezone=True)),
                       sa.column('last_submission_id', sa.Integer()))
    submissions = sa.table('submissions', sa.column('id', sa.Integer()), sa.column('item_id', sa.Integer()),
                           sa.column('user_id', sa.Integer()), sa.column('submitted_at', sa.DateTime(timezone=True)))
    before = (
        sa.select(sa.func.coalesce(sa.func.max(submissions.c.id), 0))
        .where(submissions.c.item_id == redraws.c.item_id, submissions.c.user_id == redraws.c.user_id,
               submissions.c.submitted_at <= redraws.c.created_at)
        .scalar_subquery()
    )
    op.get_bind().execute(redraws.update().values(last_submission_id=before))


def downgrade() -> None:
    # the attempts given back are then those each re-draw counted when it was made
    with op.batch_alter_table('redraws', schema=None) as batch_op:
        batch_op.drop_column('last_submission_id')
