"""known devices and attempt budgets (issue 12: counters an attacker cannot turn on the owner)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000

Expand only: two new tables, nothing existing changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_device",
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("cookie_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "cookie_digest", name=op.f("pk_known_device")),
    )
    with op.batch_alter_table("known_device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_known_device_last_used_at"), ["last_used_at"], unique=False)
    op.create_table(
        "attempt_budget",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("consecutive", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.BigInteger(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_attempt_budget")),
    )
    with op.batch_alter_table("attempt_budget", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_budget_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attempt_budget", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_budget_expires_at"))
    op.drop_table("attempt_budget")
    with op.batch_alter_table("known_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_device_last_used_at"))
    op.drop_table("known_device")
