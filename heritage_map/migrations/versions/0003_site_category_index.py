"""Index sites by category, the most used property filter (a count of ?category=gate scanned the table)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_sites_category ON sites (category) INCLUDE (status, kind)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_sites_category")
