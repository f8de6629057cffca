"""The shared queries: one record's GeoJSON and the one published filter."""

import json

from sqlalchemy import select

from factories import make_site
from heritage_map.catalogue import queries
from heritage_map.catalogue.models import Association, Site


def test_a_record_with_a_geometry_is_a_collection_of_that_one_feature(session):
    make_site(session, slug="test-gate")
    collection = json.loads(queries.record_geojson(session, "sites", "test-gate"))
    assert [f["id"] for f in collection["features"]] == ["test-gate"]
    assert collection["features"][0]["geometry"] == {"type": "Point", "coordinates": [-8.877, 30.47]}


def test_a_record_without_a_geometry_or_unknown_has_no_geojson(session):
    unplaced = session.scalar(select(Association.slug).where(Association.geom.is_(None)).limit(1))
    assert unplaced is not None, "the seed data should hold an association without a known seat"
    assert queries.record_geojson(session, "associations", unplaced) is None
    assert queries.record_geojson(session, "sites", "no-such-site") is None


def test_only_published_records_pass_the_published_filter(session):
    make_site(session, slug="draft-gate", publication_status="draft")
    published = set(session.scalars(select(Site.slug).where(queries.published(Site))))
    assert "draft-gate" not in published and "bab-el-khemis" in published


def test_an_export_reads_each_layer_in_a_fixed_number_of_queries(session, engine):
    """Not one query a record: the stored GeoJSON properties (deferred) are left out of export rows."""
    from sqlalchemy import event

    statements = []

    def count(*_args):
        statements.append(1)
    event.listen(engine, "before_cursor_execute", count)
    try:
        rows = {layer: queries.export_rows(session, layer) for layer in ("sites", "associations", "projects")}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(rows["sites"]) >= 33 and all("geojson_properties" not in row for row in rows["sites"])
    assert len(statements) <= 8  # sites 1, associations 1, projects 1 + 3 selectinloads (+ savepoints)
