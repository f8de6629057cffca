"""One-time account links and failed sign-ins

A password reset, an invitation or a sign-up's confirmation is a link with a random secret; only
its SHA-256 is stored, with an expiry and the time it was used (once). Failed sign-ins are rows
counted per address typed and per client IP address, so that every worker agrees on a lock-out.
The accounts' timestamps become NOT NULL, as their models say.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0008 left the accounts' timestamps nullable, which their models (Timestamped) are not.
    for table in ("users", "memberships"):
        for column in ("created_at", "updated_at"):
            op.alter_column(table, column, existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE",
                                                       name="fk_account_tokens_user_id_users"), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("purpose IN ('reset', 'invite', 'confirm')", name="ck_account_tokens_purpose"),
        sa.UniqueConstraint("token_hash", name="uq_account_tokens_token_hash"),
    )
    op.create_index("ix_account_tokens_user_id", "account_tokens", ["user_id"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_sign_in_failures_email_failed_at", "sign_in_failures", ["email", "failed_at"])
    op.create_index("ix_sign_in_failures_address_failed_at", "sign_in_failures", ["address", "failed_at"])


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_table("account_tokens")
