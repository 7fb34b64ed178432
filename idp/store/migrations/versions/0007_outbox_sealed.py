"""outbox: sealed text, a deadline per message, and the code a newer one replaces (issue 13)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00.000000

Expand only: three nullable columns and an index. `text` and `code` stay (a row queued by the
previous release may still hold them while both run); the code stops writing them, and a later
migration drops them once no row does.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("give_up_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("replaces", sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_replaces"), ["replaces"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_replaces"))
        batch_op.drop_column("replaces")
        batch_op.drop_column("give_up_at")
        batch_op.drop_column("sealed")
