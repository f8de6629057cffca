"""Events in the history: every insert, update and delete of an event is a revision, as for sites and projects

The trigger and its function are those of migration 0010; tracking a table is one line.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT track_revisions('events')")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_revisions ON events")
