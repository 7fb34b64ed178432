"""staff passkeys (issue 17): a staff member's WebAuthn credentials for the console

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-13 10:00:00.000000

Add only: one new table, which code of the previous release never reads. Its challenges, like
the citizens', live in the existing `flow` table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_passkey",
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.Text(), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"], name=op.f("fk_staff_passkey_staff_id_staff_user")),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_staff_passkey")),
    )
    with op.batch_alter_table("staff_passkey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_passkey_staff_id"), ["staff_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_passkey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_passkey_staff_id"))
    op.drop_table("staff_passkey")
