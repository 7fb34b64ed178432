"""a per-client profile (issue 19): standard, or fapi2 for the FAPI 2.0 Security Profile

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 10:00:00.000000

Expand only: one column with a server default, so every existing client is `standard` and
processes still on the previous code keep working (they never read it). 0009 is another change
of the same release; the chain is put in order when both are merged.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile", sa.String(length=16), server_default="standard", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("profile")
