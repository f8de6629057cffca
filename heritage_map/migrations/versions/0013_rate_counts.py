"""Request counts per address and fixed time window, shared by every process of the app (rate limits)

UNLOGGED: a count is worth nothing after a crash (the window it counts is over by then) and not
worth a WAL record per request; a crash empties the table, which only forgives the addresses
counted. IF NOT EXISTS, as layer_versions: tests and `db reset` rebuild the schema over an old one.

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE UNLOGGED TABLE IF NOT EXISTS rate_counts (
            bucket text NOT NULL,
            address text NOT NULL,
            window_start timestamptz NOT NULL,
            hits integer NOT NULL,
            PRIMARY KEY (bucket, address, window_start))""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS rate_counts")
