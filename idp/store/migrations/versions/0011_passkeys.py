"""passkeys (issue 17): a citizen's WebAuthn credentials

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 10:00:00.000000

Add only: one new table, which code of the previous release never reads. The ceremonies'
challenges live in the existing `flow` table (single use by its atomic `completed_at`, five
minutes, bound to the interaction or session that asked), so they need no table of their own.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passkey",
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.Text(), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_passkey_citizen_id_citizen")),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_passkey")),
    )
    with op.batch_alter_table("passkey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_passkey_citizen_id"), ["citizen_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("passkey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passkey_citizen_id"))
    op.drop_table("passkey")
