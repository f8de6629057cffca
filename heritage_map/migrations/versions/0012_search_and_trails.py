"""Search that understands Arabic, and walking trails

accent_fold (0006, what CQL2's ACCENTI calls) now also folds Arabic: the forms of alef (أ إ آ ٱ) to ا,
taa marbuta ة to ه, alef maqsura ى to ي, the hamza seats ؤ ئ to و ي; a lone hamza ء, tatweel (U+0640)
and the tashkeel (U+064B–U+0652, the superscript alef U+0670) are dropped. search_fold is accent_fold
lowercased: what the search compares on both sides. Every searchable table keeps its names and
descriptions folded in `search_text`, written by a trigger (unaccent is STABLE, so a generated column
or an expression index could not call it), under a GIN trigram index (pg_trgm) that serves both the
substring test (LIKE) and the fuzzy one (<%, word similarity) of catalogue/search.py.

Trails: a route line (SRID 4326) with names and descriptions per language, `route_estimated` when the
line is ours rather than surveyed, and ordered stops that are sites. Their length is not stored:
PostGIS measures it on the spheroid when asked (ST_Length(geom::geography)).

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FOLD_FROM = "أإآٱىئؤة" + "ءـ" + "".join(chr(c) for c in range(0x064B, 0x0653)) + "\u0670"
FOLD_TO = "ااااييوه"  # translate() drops the characters of FOLD_FROM past the length of FOLD_TO
STATES = ("draft", "submitted", "changes_requested", "published", "withdrawn")
SLUG = "[a-z0-9]+(-[a-z0-9]+)*"

# The columns whose text is searched, per table: names (or titles) first, then descriptions; the
# first NAMED of them are the record's names, also kept folded apart (search_name) for ranking.
NAMED = {"sites": 4, "associations": 3, "projects": 3, "trails": 3}
SEARCHED = {
    "sites": ("name_en", "name_fr", "name_ar", "name_zgh", "ref", "description_en", "description_fr",
              "description_ar"),
    "associations": ("name_en", "name_fr", "name_ar", "description_en", "description_fr", "description_ar"),
    "projects": ("title_en", "title_fr", "title_ar", "description_en", "description_fr", "description_ar"),
    "trails": ("name_en", "name_fr", "name_ar", "description_en", "description_fr", "description_ar"),
}


def _fold_functions() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION accent_fold(value text) RETURNS text
        LANGUAGE sql STABLE STRICT PARALLEL SAFE
        AS $$ SELECT translate(unaccent(value), '{FOLD_FROM}', '{FOLD_TO}') $$
    """)
    op.execute("""
        CREATE OR REPLACE FUNCTION search_fold(value text) RETURNS text
        LANGUAGE sql STABLE STRICT PARALLEL SAFE
        AS $$ SELECT lower(accent_fold(value)) $$
    """)


def _trails() -> None:
    op.create_table(
        "trails",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(80), nullable=False),
        *(sa.Column(f"{field}_{lang}", sa.Text) for field in ("name", "description") for lang in ("ar", "fr", "en")),
        sa.Column("route_estimated", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("sources", sa.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("publication_status", sa.String(20), nullable=False, server_default="published"),
        sa.Column("sample", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("geom", Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("slug", name="uq_trails_slug"),
        sa.CheckConstraint(f"slug ~ '^{SLUG}$'", name="ck_trails_slug_format"),
        sa.CheckConstraint("publication_status IN (" + ", ".join(f"'{s}'" for s in STATES) + ")",
                           name="ck_trails_publication_status"),
        sa.CheckConstraint("ST_IsValid(geom) AND ST_NPoints(geom) >= 2", name="ck_trails_geom_shape"),
    )
    op.create_index("ix_trails_geom", "trails", ["geom"], postgresql_using="gist")
    op.create_table(
        "trail_stops",
        sa.Column("trail_id", sa.Integer, sa.ForeignKey("trails.id", ondelete="CASCADE",
                                                        name="fk_trail_stops_trail_id_trails"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="RESTRICT",
                                                       name="fk_trail_stops_site_id_sites"), nullable=False),
        sa.Column("note_en", sa.Text),
        sa.Column("note_fr", sa.Text),
        sa.Column("note_ar", sa.Text),
        sa.CheckConstraint("position >= 1", name="ck_trail_stops_position_positive"),
    )
    op.create_index("ix_trail_stops_site_id", "trail_stops", ["site_id"])


def _search_text(table: str, columns: tuple[str, ...]) -> None:
    op.execute(f"ALTER TABLE {table} ADD COLUMN search_text text, ADD COLUMN search_name text")
    joined = ", ".join(f"NEW.{c}" for c in columns)
    names = ", ".join(f"NEW.{c}" for c in columns[:NAMED[table]])
    # Folding once here spares the ranking an unaccent call per candidate row (benchmarks/search.py).
    op.execute(f"""
        CREATE OR REPLACE FUNCTION {table}_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_text := search_fold(concat_ws(' ', {joined}));
            NEW.search_name := search_fold(concat_ws(' ', {names}));
            RETURN NEW;
        END $$""")
    op.execute(f"CREATE TRIGGER {table}_search_text BEFORE INSERT OR UPDATE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION {table}_search_text()")
    op.execute(f"UPDATE {table} SET id = id")  # fires the trigger on every existing row
    op.execute(f"ALTER TABLE {table} ALTER COLUMN search_text SET NOT NULL, ALTER COLUMN search_name SET NOT NULL")
    op.execute(f"CREATE INDEX ix_{table}_search_text ON {table} USING gin (search_text gin_trgm_ops)")


def upgrade() -> None:
    _fold_functions()
    _trails()
    for table, columns in SEARCHED.items():
        _search_text(table, columns)


def downgrade() -> None:
    for table in SEARCHED:
        if table == "trails":
            continue
        op.execute(f"DROP TRIGGER IF EXISTS {table}_search_text ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_search_text()")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_text, DROP COLUMN IF EXISTS search_name")
    op.drop_table("trail_stops")
    op.drop_table("trails")
    op.execute("DROP FUNCTION IF EXISTS trails_search_text()")
    op.execute("DROP FUNCTION IF EXISTS search_fold(text)")
    op.execute("""
        CREATE OR REPLACE FUNCTION accent_fold(value text) RETURNS text
        LANGUAGE sql STABLE STRICT PARALLEL SAFE
        AS $$ SELECT unaccent(value) $$
    """)
