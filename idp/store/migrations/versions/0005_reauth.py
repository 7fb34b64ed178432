"""recent authentication: when a browser session last typed the password again

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00.000000

Expand only: one nullable column, so processes still on the previous code keep working.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reauthenticated_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.drop_column("reauthenticated_at")
