"""Point counts per map cell, kept by the database, so a low-zoom tile reads counts instead of every point

Below zoom 13 a vector tile shows points (and shapes under 4 px) as counts per cell of a 16 × 16 grid
(ogc.tiles). Counting them at each request reads every record of the tile: 676 ms for a z8 tile over
110,000 points. `tile_clusters` holds, for each layer, zoom 0–12 and cell, the count of its published
points and the sums of their longitudes and latitudes (a cluster is drawn at their mean), split by the
values of the columns the layer's views pick records by (`facets`: kind and category for sites), so a
view's tile sums the cells of its facets. Statement-level triggers with transition tables add each
statement's changes in one INSERT … ON CONFLICT, in the same transaction as the change: the counts are
never older than the records, and a bulk import of 10,000 rows costs one statement, not 10,000.

The cells are WebMercatorQuad tiles four zooms deeper (a z8 tile's cells are the z12 tiles in it), found
by the same functions in the live query of a filtered tile, so the stored and the counted agree exactly.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Each layer's table (its key, catalogue.layers) and the columns its views match on (layers.View.match);
# tests/ogc/test_tile_clusters.py checks both against the registry.
FACETS = {"sites": ("kind", "category"), "associations": (), "projects": ()}
LEVELS = 13  # zooms 0-12, those below ogc.tiles.CLUSTER_BELOW
CELL_ZOOMS = 4  # a tile's cells are the tiles 4 zooms deeper: 16 × 16

# Plain SQL expressions, neither STRICT nor naming a value twice where a caller may pass an expression: the
# planner then writes them into the query (inlines them) instead of calling a function per row (24 µs each).
# SQL-standard bodies (RETURN): their names are bound when they are created, not looked up in the caller's
# search_path, so an index on heritage_point_below still builds where pg_restore empties the search_path.
FUNCTIONS = f"""
-- The column and row of the WebMercatorQuad tile of zoom z holding a longitude or latitude (degrees).
-- The value is scaled to 0-1 first, then by 2^z: exact, so a cell's tile is the cell's index >> {CELL_ZOOMS}.
CREATE OR REPLACE FUNCTION heritage_tile_col(lon float8, z int) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN least(greatest(floor((lon + 180) / 360 * 2 ^ z), 0), 2 ^ z - 1)::int;
CREATE OR REPLACE FUNCTION heritage_mercator(lat float8) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN asinh(tan(radians(lat))) / pi();
CREATE OR REPLACE FUNCTION heritage_tile_row(lat float8, z int) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN least(greatest(floor((1 - heritage_mercator(lat)) / 2 * 2 ^ z), 0), 2 ^ z - 1)::int;
-- The zoom below which a geometry is drawn as a point of a count: under 1/64 of a tile (4 px) both ways.
-- A point: always (99). From the geometry's bounding box.
CREATE OR REPLACE FUNCTION heritage_point_below(g geometry) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ST_XMax(g) = ST_XMin(g) AND ST_YMax(g) = ST_YMin(g) THEN 99
                      ELSE greatest(ceil(-ln(64 * greatest((ST_XMax(g) - ST_XMin(g)) / 360,
                                                           (heritage_mercator(ST_YMax(g))
                                                            - heritage_mercator(ST_YMin(g))) / 2)) / ln(2)), 0)::int
                 END;
-- Where a geometry is counted: a point where it is, another shape at its centroid.
CREATE OR REPLACE FUNCTION heritage_anchor(g geometry) RETURNS geometry
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ST_GeometryType(g) = 'ST_Point' THEN g ELSE ST_Centroid(g) END;
"""

APPLY = f"""
CREATE OR REPLACE FUNCTION tile_clusters_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    facets text := 'jsonb_build_object(' || coalesce(
        (SELECT string_agg(format('%L, r.%I', a, a), ', ') FROM unnest(TG_ARGV[1:]) AS a), '') || ')';
    changes text[] := '{{}}';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM tile_clusters WHERE layer = TG_ARGV[0];
        RETURN NULL;
    END IF;
    -- The rows a statement took away count -1, those it made +1; an UPDATE is both.
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        changes := changes || format('SELECT -1 AS d, r.geom, %s AS facets FROM old_rows r '
                                     'WHERE r.publication_status = ''published'' AND r.geom IS NOT NULL', facets);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        changes := changes || format('SELECT 1 AS d, r.geom, %s AS facets FROM new_rows r '
                                     'WHERE r.publication_status = ''published'' AND r.geom IS NOT NULL', facets);
    END IF;
    -- In the order of the key, so two statements that touch the same cells lock them in the same order.
    EXECUTE format($q$
        INSERT INTO tile_clusters AS t (layer, z, cx, cy, facets, n, sum_lon, sum_lat)
        SELECT $1, z, heritage_tile_col(lon, z + {CELL_ZOOMS}), heritage_tile_row(lat, z + {CELL_ZOOMS}), facets,
               sum(d), sum(d * lon), sum(d * lat)
        FROM (SELECT d, facets, ST_X(a) AS lon, ST_Y(a) AS lat, heritage_point_below(geom) AS below
              FROM (SELECT d, facets, geom, heritage_anchor(geom) AS a FROM (%s) AS c) AS c) AS c
        CROSS JOIN generate_series(0, {LEVELS - 1}) AS z
        WHERE below > z
        GROUP BY 2, 3, 4, 5
        HAVING sum(d) <> 0 OR sum(d * lon) <> 0 OR sum(d * lat) <> 0
        ORDER BY 2, 3, 4, 5
        ON CONFLICT (layer, z, cx, cy, facets) DO UPDATE
        SET n = t.n + excluded.n, sum_lon = t.sum_lon + excluded.sum_lon, sum_lat = t.sum_lat + excluded.sum_lat
    $q$, array_to_string(changes, ' UNION ALL ')) USING TG_ARGV[0];
    DELETE FROM tile_clusters WHERE layer = TG_ARGV[0] AND n = 0;
    RETURN NULL;
END $fn$
"""


def triggers(table: str) -> list[str]:
    """Return the statements that keep `table`'s counts: one trigger per kind of statement, and TRUNCATE."""
    args = ", ".join(f"'{a}'" for a in (table, *FACETS[table]))
    return [f"CREATE TRIGGER {table}_tile_clusters_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION tile_clusters_apply({args})",
            f"CREATE TRIGGER {table}_tile_clusters_update AFTER UPDATE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION tile_clusters_apply({args})",
            f"CREATE TRIGGER {table}_tile_clusters_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION tile_clusters_apply({args})",
            f"CREATE TRIGGER {table}_tile_clusters_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION tile_clusters_apply({args})"]


def upgrade() -> None:
    op.execute(FUNCTIONS)
    op.execute("""
        CREATE TABLE tile_clusters (
            layer text NOT NULL, z smallint NOT NULL, cx integer NOT NULL, cy integer NOT NULL,
            facets jsonb NOT NULL, n integer NOT NULL, sum_lon float8 NOT NULL, sum_lat float8 NOT NULL,
            PRIMARY KEY (layer, z, cx, cy, facets))""")
    op.execute("CREATE INDEX ix_tile_clusters_empty ON tile_clusters (layer) WHERE n = 0")
    op.execute(APPLY)
    for table in FACETS:
        for statement in triggers(table):
            op.execute(statement)
        # The shapes a low-zoom tile draws one by one (point_below <= z), found without reading the points
        # around them: ANDed with the spatial index (a z8 tile over 110,000 points: 11 → 0.05 ms).
        op.execute(f"CREATE INDEX ix_{table}_point_below ON {table} (heritage_point_below(geom))")
        op.execute(f"ANALYZE {table}")  # the planner reads the new index's statistics to choose it
    for table in FACETS:  # what is there already, counted as the trigger counts
        op.execute(f"INSERT INTO tile_clusters (layer, z, cx, cy, facets, n, sum_lon, sum_lat) {counts(table)}")


def counts(table: str) -> str:
    """Return the SELECT of a table's counts from scratch: its rows of tile_clusters, as the trigger keeps them."""
    facets = "jsonb_build_object(" + ", ".join(f"'{a}', r.{a}" for a in FACETS[table]) + ")"
    return f"""
        SELECT '{table}', z, heritage_tile_col(lon, z + {CELL_ZOOMS}), heritage_tile_row(lat, z + {CELL_ZOOMS}),
               facets, count(*), sum(lon), sum(lat)
        FROM (SELECT {facets} AS facets, ST_X(heritage_anchor(geom)) AS lon, ST_Y(heritage_anchor(geom)) AS lat,
                     heritage_point_below(geom) AS below
              FROM {table} r WHERE publication_status = 'published' AND geom IS NOT NULL) AS c
        CROSS JOIN generate_series(0, {LEVELS - 1}) AS z
        WHERE below > z
        GROUP BY 2, 3, 4, 5"""


def downgrade() -> None:
    for table in FACETS:
        for kind in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_tile_clusters_{kind} ON {table}")
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_point_below")
    op.execute("DROP FUNCTION IF EXISTS tile_clusters_apply()")
    op.execute("DROP TABLE IF EXISTS tile_clusters")
    for name in ("heritage_point_below(geometry)", "heritage_anchor(geometry)", "heritage_tile_col(float8, int)",
                 "heritage_tile_row(float8, int)", "heritage_mercator(float8)"):
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
