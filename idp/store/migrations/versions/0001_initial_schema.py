"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 18:46:16.242095
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citizen",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.String(length=10), nullable=False),
        sa.Column("sex", sa.String(length=6), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("phone_verified", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_citizen_citizen_id")),
        sa.UniqueConstraint("phone", name=op.f("uq_citizen_phone")),
    )
    op.create_table(
        "client",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=True),
        sa.Column("auth_method", sa.String(length=32), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("id_token_alg", sa.String(length=8), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client")),
    )
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_token")),
    )
    with op.batch_alter_table("revoked_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revoked_token_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "auth_grant",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("auth_time", sa.BigInteger(), nullable=False),
        sa.Column("acr", sa.String(length=8), nullable=False),
        sa.Column("amr", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_auth_grant_citizen_id_citizen")),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_auth_grant_client_id_client")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_grant")),
    )
    with op.batch_alter_table("auth_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_grant_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_grant_client_id"), ["client_id"], unique=False)

    op.create_table(
        "browser_session",
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("auth_time", sa.BigInteger(), nullable=False),
        sa.Column("amr", sa.String(length=100), nullable=False),
        sa.Column("acr", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_browser_session_citizen_id_citizen")),
        sa.PrimaryKeyConstraint("id_digest", name=op.f("pk_browser_session")),
        sa.UniqueConstraint("sid", name=op.f("uq_browser_session_sid")),
    )
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_browser_session_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_consent_citizen_id_citizen")),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_consent_client_id_client")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
        sa.UniqueConstraint("citizen_id", "client_id", name="uq_consent_citizen_client"),
    )
    op.create_table(
        "interaction",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("binding_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("session_digest", sa.String(length=64), nullable=True),
        sa.Column("logged_in_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_interaction_client_id_client")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction")),
    )
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interaction_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "authorization_code",
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("consumed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["auth_grant.id"], name=op.f("fk_authorization_code_grant_id_auth_grant")
        ),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_authorization_code")),
    )
    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorization_code_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "refresh_token",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("consumed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["auth_grant.id"], name=op.f("fk_refresh_token_grant_id_auth_grant")),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_refresh_token")),
    )
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_token_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_token_grant_id"))

    op.drop_table("refresh_token")
    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorization_code_expires_at"))

    op.drop_table("authorization_code")
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interaction_expires_at"))

    op.drop_table("interaction")
    op.drop_table("consent")
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_browser_session_citizen_id"))

    op.drop_table("browser_session")
    with op.batch_alter_table("auth_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_grant_client_id"))
        batch_op.drop_index(batch_op.f("ix_auth_grant_citizen_id"))

    op.drop_table("auth_grant")
    with op.batch_alter_table("revoked_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_token_expires_at"))

    op.drop_table("revoked_token")
    op.drop_table("client")
    op.drop_table("citizen")
