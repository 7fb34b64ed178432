"""identity claims portals can trust (issue 14): the registry check, the clerk's reading, one open check

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00.000000

Expand only: two nullable columns and one partial unique index, so processes still on the
previous code keep working. The index holds "one open check per citizen"; a deployment where a
citizen already has two open checks must decide one first (the upgrade names the table it stops on).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OPEN = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registry_checked_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("verification_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_identity", sa.Text(), nullable=True))
    op.create_index(
        "uq_verification_request_open",
        "verification_request",
        ["citizen_pk"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("uq_verification_request_open", table_name="verification_request")
    with op.batch_alter_table("verification_request", schema=None) as batch_op:
        batch_op.drop_column("recorded_identity")
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_column("registry_checked_at")
