"""A version per layer, bumped by the database whenever a statement changes that layer's table

Vector tiles are cached (in each process, and by clients through their ETag) under their layer's
version, so that a cached tile is never served once a record of its layer has changed: an import,
an edit, a publication, a deletion. Statement-level triggers bump it, so a bulk import of 10,000
rows costs one UPDATE of layer_versions, not 10,000. A bump takes the greater of the version plus
one and the clock in microseconds: a version is then never handed out twice, not after a
transaction that bumped it rolled back, nor after `db reset` built the table anew, and a cache that
outlives either cannot mistake new records for old. A statement that changes no row bumps it too
(one needless miss, never a stale tile).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("sites", "associations", "projects")  # a layer's key is its table's name (catalogue.layers)
NOW_US = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"


def upgrade() -> None:
    op.execute("CREATE TABLE IF NOT EXISTS layer_versions (layer text PRIMARY KEY, version bigint NOT NULL)")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO layer_versions AS v (layer, version) VALUES (TG_ARGV[0], {NOW_US})
            ON CONFLICT (layer) DO UPDATE SET version = greatest(v.version + 1, {NOW_US});
            RETURN NULL;
        END $$""")
    for table in TABLES:
        op.execute(f"INSERT INTO layer_versions (layer, version) VALUES ('{table}', {NOW_US}) "
                   f"ON CONFLICT (layer) DO UPDATE SET version = greatest(layer_versions.version + 1, {NOW_US})")
        op.execute(f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION bump_layer_version('{table}')")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_layer_version()")
    op.execute("DROP TABLE IF EXISTS layer_versions")
