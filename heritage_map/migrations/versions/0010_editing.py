"""Editing and review: owners of proposed sites, version counters, reviews and a history of every change

- `sites.proposed_by_association_id`: the association that proposed a site (seed sites have none, and
  only moderators and admins edit those); `projects.forum_recommendation`: the forum recommendation a
  project answers, as its session words it.
- `version` on sites, projects and associations: optimistic locking (SQLAlchemy's version_id_col), so
  that the second of two concurrent saves is refused instead of overwriting the first.
- `reviews`: each step of the review (submitted, changes requested with the moderator's comment,
  published, unpublished), by whom and when.
- `revisions`: one row per insert, update or delete of a tracked table, written by a trigger in the
  same transaction: who (the transaction-local setting `heritage_map.user_id`, which the app sets with
  SET LOCAL before it writes; NULL for the command line and imports), when, which fields changed with
  their old and new values (geometries as GeoJSON, as PostGIS writes them in JSON) and the whole row after the change (for restores).
  Tracking a table is one line: `SELECT track_revisions('events')`.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TRACKED = ("sites", "projects", "associations")
# Never compared nor shown as changes: derived by triggers, or moved on every update.
# Columns the database writes itself (stored GeoJSON properties, folded search text of migration 0012).
UNTRACKED = "'geojson_properties', 'search_text', 'search_name', 'updated_at', 'created_at', 'version'"


def upgrade() -> None:
    op.add_column("sites", sa.Column("proposed_by_association_id", sa.Integer,
                                     sa.ForeignKey("associations.id", ondelete="SET NULL",
                                                   name="fk_sites_proposed_by_association_id_associations")))
    op.create_index("ix_sites_proposed_by_association_id", "sites", ["proposed_by_association_id"])
    op.add_column("projects", sa.Column("forum_recommendation", sa.Text))
    for table in TRACKED:
        op.add_column(table, sa.Column("version", sa.Integer, nullable=False, server_default="1"))

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("table_name", sa.String(63), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL",
                                                       name="fk_reviews_user_id_users")),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("action IN ('submitted', 'changes_requested', 'published', 'unpublished')",
                           name="ck_reviews_action"),
    )
    op.create_index("ix_reviews_table_name", "reviews", ["table_name", "record_id", "id"])

    op.create_table(
        "revisions",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("table_name", sa.String(63), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL",
                                                       name="fk_revisions_user_id_users")),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("operation", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("changes", sa.dialects.postgresql.JSONB, nullable=False),
        sa.Column("row", sa.dialects.postgresql.JSONB),
        sa.CheckConstraint("operation IN ('insert', 'update', 'delete')", name="ck_revisions_operation"),
    )
    op.create_index("ix_revisions_table_name", "revisions", ["table_name", "record_id", "id"])

    # to_jsonb(row) writes a geometry as GeoJSON (PostGIS's cast to json), which is what a person reads in
    # a change and what jsonb_populate_record reads back as a geometry for a restore.
    op.execute(f"""
        CREATE OR REPLACE FUNCTION record_revision() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN '{{}}'::jsonb ELSE to_jsonb(OLD) END;
            new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN '{{}}'::jsonb ELSE to_jsonb(NEW) END;
            changed jsonb;
        BEGIN
            SELECT coalesce(jsonb_object_agg(key, jsonb_build_object('old', old_row -> key, 'new', new_row -> key)),
                            '{{}}'::jsonb)
              INTO changed
              FROM jsonb_object_keys(old_row || new_row) AS key
             WHERE key NOT IN ({UNTRACKED}) AND (old_row -> key) IS DISTINCT FROM (new_row -> key);
            IF TG_OP = 'UPDATE' AND changed = '{{}}'::jsonb THEN
                RETURN NULL;  -- nothing a person would call a change (a trigger refreshing a derived column)
            END IF;
            INSERT INTO revisions (table_name, record_id, user_id, operation, version, changes, "row")
            VALUES (TG_TABLE_NAME, coalesce(new_row ->> 'id', old_row ->> 'id')::int,
                    nullif(current_setting('heritage_map.user_id', true), '')::int, lower(TG_OP),
                    (new_row ->> 'version')::int, changed,
                    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE new_row - 'geojson_properties' - 'search_text' - 'search_name' END);
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE OR REPLACE FUNCTION track_revisions(tracked regclass) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s '
                           'FOR EACH ROW EXECUTE FUNCTION record_revision()',
                           tracked::text || '_revisions', tracked);
        END $$""")
    for table in TRACKED:
        op.execute(f"SELECT track_revisions('{table}')")


def downgrade() -> None:
    for table in TRACKED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_revisions ON {table}")
    op.execute("DROP FUNCTION IF EXISTS track_revisions(regclass)")
    op.execute("DROP FUNCTION IF EXISTS record_revision()")
    op.drop_table("revisions")
    op.drop_table("reviews")
    for table in TRACKED:
        op.drop_column(table, "version")
    op.drop_column("projects", "forum_recommendation")
    op.drop_index("ix_sites_proposed_by_association_id", "sites")
    op.drop_column("sites", "proposed_by_association_id")
