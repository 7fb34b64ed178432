"""factors, flows, limits and the token lifecycle

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 19:26:06.864414
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flow",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("binding_digest", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow")),
    )
    with op.batch_alter_table("flow", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flow_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "rate_counter",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_ends_at", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counter")),
    )
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_counter_window_ends_at"), ["window_ends_at"], unique=False)

    op.create_table(
        "used_jti",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_used_jti")),
    )
    with op.batch_alter_table("used_jti", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_jti_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "auth_failure",
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("consecutive", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.BigInteger(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_auth_failure_citizen_id_citizen")),
        sa.PrimaryKeyConstraint("citizen_id", "kind", name=op.f("pk_auth_failure")),
    )
    op.create_table(
        "otp_challenge",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("destination", sa.String(length=254), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("consumed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_otp_challenge_citizen_id_citizen")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp_challenge")),
    )
    with op.batch_alter_table("otp_challenge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_otp_challenge_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_otp_challenge_flow_id"), ["flow_id"], unique=False)

    op.create_table(
        "pushed_request",
        sa.Column("uri_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("consumed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_pushed_request_client_id_client")),
        sa.PrimaryKeyConstraint("uri_digest", name=op.f("pk_pushed_request")),
    )
    with op.batch_alter_table("pushed_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pushed_request_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "recovery_code",
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_recovery_code_citizen_id_citizen")),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_recovery_code")),
    )
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_code_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "totp_factor",
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_at", sa.BigInteger(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_totp_factor_citizen_id_citizen")),
        sa.PrimaryKeyConstraint("citizen_id", name=op.f("pk_totp_factor")),
    )
    with op.batch_alter_table("auth_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))

    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))

    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_type", sa.String(length=8), server_default="pairwise", nullable=False))
        batch_op.add_column(sa.Column("sector_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "grant_types", sa.String(length=200), server_default="authorization_code refresh_token", nullable=False
            )
        )
        batch_op.add_column(sa.Column("min_level", sa.String(length=8), server_default="LoA1", nullable=False))
        batch_op.add_column(sa.Column("jwks", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("jwks_uri", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("backchannel_logout_uri", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("require_par", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("require_dpop", sa.Boolean(), server_default="0", nullable=False))

    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_to", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("pending_citizen_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("pending_amr", sa.String(length=100), nullable=True))
        batch_op.alter_column("client_id", existing_type=sa.VARCHAR(length=64), nullable=True)

    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaced_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("grace_used", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_column("grace_used")
        batch_op.drop_column("replaced_by")

    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.alter_column("client_id", existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.drop_column("pending_amr")
        batch_op.drop_column("pending_citizen_id")
        batch_op.drop_column("return_to")

    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("require_dpop")
        batch_op.drop_column("require_par")
        batch_op.drop_column("backchannel_logout_uri")
        batch_op.drop_column("jwks_uri")
        batch_op.drop_column("jwks")
        batch_op.drop_column("min_level")
        batch_op.drop_column("grant_types")
        batch_op.drop_column("sector_id")
        batch_op.drop_column("subject_type")

    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.drop_column("dpop_jkt")

    with op.batch_alter_table("auth_grant", schema=None) as batch_op:
        batch_op.drop_column("dpop_jkt")

    op.drop_table("totp_factor")
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_code_citizen_id"))

    op.drop_table("recovery_code")
    with op.batch_alter_table("pushed_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pushed_request_expires_at"))

    op.drop_table("pushed_request")
    with op.batch_alter_table("otp_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_otp_challenge_flow_id"))
        batch_op.drop_index(batch_op.f("ix_otp_challenge_citizen_id"))

    op.drop_table("otp_challenge")
    op.drop_table("auth_failure")
    with op.batch_alter_table("used_jti", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_jti_expires_at"))

    op.drop_table("used_jti")
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_counter_window_ends_at"))

    op.drop_table("rate_counter")
    with op.batch_alter_table("flow", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_expires_at"))

    op.drop_table("flow")
