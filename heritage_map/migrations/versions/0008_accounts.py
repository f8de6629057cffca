"""Accounts and memberships of associations

People sign in with an e-mail address (stored lowercased, one account per address) and an Argon2
password hash; an account's role is site-wide (admin, moderator, member), a membership's role is
within one association (editor, lead) and counts once approved.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True)),
        *_timestamps(),
        sa.CheckConstraint("role IN ('admin', 'moderator', 'member')", name="ck_users_role"),
        sa.CheckConstraint("email = lower(email)", name="ck_users_email_lowercase"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE",
                                                       name="fk_memberships_user_id_users"), primary_key=True),
        sa.Column("association_id", sa.Integer,
                  sa.ForeignKey("associations.id", ondelete="CASCADE",
                                name="fk_memberships_association_id_associations"), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("role IN ('editor', 'lead')", name="ck_memberships_role"),
        sa.CheckConstraint("state IN ('requested', 'approved')", name="ck_memberships_state"),
    )
    op.create_index("ix_memberships_association_id", "memberships", ["association_id"])


def downgrade() -> None:
    op.drop_table("memberships")
    op.drop_table("users")
