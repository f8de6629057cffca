"""GiST indexes on geom::geography, so metric questions (ST_DWithin on geography) use an index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("sites", "associations", "projects")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"CREATE INDEX ix_{table}_geog ON {table} USING gist ((geom::geography))")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX ix_{table}_geog")
