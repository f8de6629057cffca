"""One publication state on every publishable table; record URLs left to the app

Sites and associations called it `status`, projects `publication_status` (their `status` is their
progress): now all three say `publication_status`, with the same values, "changes_requested" added
for review. The stored GeoJSON properties no longer end with the record's URL: the app builds it
from its own routes (heritage_map.catalogue.queries.properties), which a trigger cannot know.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_STATES = ("draft", "submitted", "published", "withdrawn")
STATES = ("draft", "submitted", "changes_requested", "published", "withdrawn")
RENAMED = ("sites", "associations")
SLUG = "[a-z0-9]+(-[a-z0-9]+)*"

# The properties of each table's features, in the order they are written (as in 0004, less "url").
PROPERTIES = {
    "sites": ("slug", "ref", "name_ar", "name_fr", "name_en", "name_zgh", "kind", "category",
              "description_ar", "description_fr", "description_en", "period", "protection_status", "condition",
              "coord_confidence", "sources", "sample"),
    "associations": ("slug", "name_ar", "name_fr", "name_en", "themes", "website",
                     "description_ar", "description_fr", "description_en", "sources", "sample"),
    "projects": ("slug", "title_ar", "title_fr", "title_en", "description_ar", "description_fr", "description_en",
                 "status", "themes", "start_date", "end_date", "sources", "sample"),
}


def _states_check(table: str, column: str, name: str, states: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{s}'" for s in states)
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IN ({listed}))")


def _properties_trigger(table: str, members: str) -> None:
    op.execute(f"""
        CREATE OR REPLACE FUNCTION {table}_geojson_properties() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- to_json of a row: compact JSON (no spaces), members in the order of the columns
            NEW.geojson_properties := (SELECT to_json(p) FROM (SELECT {members}) AS p);
            RETURN NEW;
        END $$""")
    op.execute(f"UPDATE {table} SET id = id")  # fires the trigger on every existing row


def upgrade() -> None:
    for table in RENAMED:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_status")
        op.execute(f"ALTER TABLE {table} RENAME COLUMN status TO publication_status")
    for table in PROPERTIES:
        if table not in RENAMED:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_publication_status")
        _states_check(table, "publication_status", f"ck_{table}_publication_status", STATES)
        _properties_trigger(table, ", ".join(f"NEW.{name} AS {name}" for name in PROPERTIES[table]))
        # The app writes slugs into URLs and JSON as they are: keep them to what needs no escaping.
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_slug_format CHECK (slug ~ '^{SLUG}$')")


def downgrade() -> None:
    for table in PROPERTIES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_slug_format")
        op.execute(f"UPDATE {table} SET publication_status = 'submitted' "
                   "WHERE publication_status = 'changes_requested'")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_publication_status")
        if table in RENAMED:
            op.execute(f"ALTER TABLE {table} RENAME COLUMN publication_status TO status")
            _states_check(table, "status", f"ck_{table}_status", OLD_STATES)
        else:
            _states_check(table, "publication_status", f"ck_{table}_publication_status", OLD_STATES)
        members = [*(f"NEW.{name} AS {name}" for name in PROPERTIES[table]), f"'/{table}/' || NEW.slug AS url"]
        _properties_trigger(table, ", ".join(members))
