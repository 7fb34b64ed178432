"""the post-office counter (issue 14, second part): what kind of record a desk check is, and its details

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00.000000

Expand only: two columns on `verification_request`. `kind` (a server default, so rows the previous
code writes are plain identity checks) says whether a record is an identity check, a registration at
the counter, a recovery or a dispute; `details` (nullable JSON) holds what the approval will apply
(the new phone of a recovery, the two accounts of a dispute). Older code ignores both.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verification_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="check"))
        batch_op.add_column(sa.Column("details", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verification_request", schema=None) as batch_op:
        batch_op.drop_column("details")
        batch_op.drop_column("kind")
