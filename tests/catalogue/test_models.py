"""The data model: relationships between records, and the constraints PostGIS enforces on bad values."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from geoalchemy2.shape import from_shape
from shapely import GeometryCollection, LineString, Point, Polygon
from sqlalchemy import Text, cast, delete, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DataError, IntegrityError

from factories import make_site
from heritage_map.catalogue.models import Association, ForumSession, Project, ProjectAssociation, ProjectSite, Site

BOWTIE = Polygon([(-8.88, 30.47), (-8.87, 30.48), (-8.87, 30.47), (-8.88, 30.48), (-8.88, 30.47)])


def one(session, model, slug):
    return session.scalar(select(model).where(model.slug == slug))


def link_count(session, table, **where) -> int:
    stmt = select(func.count()).select_from(table)
    for column, value in where.items():
        stmt = stmt.where(getattr(table, column) == value)
    return session.scalar(stmt)


def test_a_project_lists_its_sites_by_slug(session):
    project = one(session, Project, "adha-restoration-2023")
    assert [s.slug for s in project.sites] == ["bab-el-khemis", "bab-ouled-bounouna", "bab-zorgane", "ramparts"]


def test_a_project_lists_its_associations_with_their_roles(session):
    project = one(session, Project, "example-rampart-walk")
    assert [(link.role, link.association.slug) for link in project.links] == [
        ("lead", "example-youth-heritage-guides"), ("partner", "example-garden-keepers")]
    clean_walls = one(session, Project, "clean-walls")
    assert [(link.role, link.association.slug) for link in clean_walls.links] == [("lead", "taroudant-bladna")]


def test_a_site_lists_the_projects_working_on_it(session):
    ramparts = one(session, Site, "ramparts")
    assert [p.slug for p in ramparts.projects] == [
        "adha-restoration-2023", "clean-walls", "example-rampart-garden", "example-rampart-walk"]
    assert one(session, Site, "jbel-toubkal").projects == []


def test_an_association_lists_its_project_links(session):
    forum = one(session, Association, "forum-associations-taroudant")
    assert sorted((link.project.slug, link.role) for link in forum.links) == [
        ("romans-taroudant-cooperation", "partner"), ("web-portal", "partner")]
    assert one(session, Association, "taroudant-awalan").links == []


def test_a_forum_session_lists_the_projects_born_of_it(session):
    sessions = {f.edition: f for f in session.scalars(select(ForumSession))}
    assert [p.slug for p in sessions[2].projects] == ["web-portal"]
    assert sessions[1].projects == [] and sessions[5].projects == []
    assert one(session, Project, "web-portal").forum_session.edition == 2


@pytest.mark.parametrize("override", [
    {"category": "castle"},
    {"kind": "cultural"},
    {"coord_confidence": "certain"},
    {"publication_status": "live"},
    {"protection_status": "unesco"},
    {"condition": "ruined"},
    {"protection_buffer_m": -5},
], ids=lambda o: next(iter(o)))
def test_a_site_with_a_value_outside_its_constraints_is_rejected(session, override):
    with pytest.raises(IntegrityError, match="violates check constraint"), session.begin_nested():
        make_site(session, **override)


def test_a_self_intersecting_polygon_is_rejected(session):
    assert not BOWTIE.is_valid
    with pytest.raises(IntegrityError, match="ck_sites_geom_shape"), session.begin_nested():
        make_site(session, geom=from_shape(BOWTIE, srid=4326))


def test_a_geometry_collection_is_rejected(session):
    collection = GeometryCollection([Point(-8.877, 30.47), LineString([(-8.88, 30.47), (-8.87, 30.48)])])
    with pytest.raises(IntegrityError, match="ck_sites_geom_shape"), session.begin_nested():
        make_site(session, geom=from_shape(collection, srid=4326))


def test_a_project_with_a_self_intersecting_footprint_is_rejected(session):
    with pytest.raises(IntegrityError, match="ck_projects_geom_shape"), session.begin_nested():
        session.add(Project(slug="bad-footprint", title_en="Bad", geom=from_shape(BOWTIE, srid=4326)))
        session.flush()


@pytest.mark.parametrize("values", [{"status": "cancelled"}, {"publication_status": "live"}],
                         ids=lambda v: next(iter(v)))
def test_a_project_with_an_unknown_status_is_rejected(session, values):
    with pytest.raises(IntegrityError, match="violates check constraint"), session.begin_nested():
        session.add(Project(slug="bad-status", title_en="Bad", **values))
        session.flush()


def test_a_project_ending_before_it_starts_is_rejected(session):
    with pytest.raises(IntegrityError, match="ck_projects_dates_ordered"), session.begin_nested():
        session.add(Project(slug="backwards", title_en="Backwards", start_date=dt.date(2024, 5, 1),
                            end_date=dt.date(2024, 4, 30)))
        session.flush()


def test_a_project_ending_the_day_it_starts_is_accepted(session):
    session.add(Project(slug="one-day", title_en="One day", start_date=dt.date(2024, 5, 1),
                        end_date=dt.date(2024, 5, 1)))
    session.flush()
    assert one(session, Project, "one-day").end_date == dt.date(2024, 5, 1)


def test_an_association_with_an_unknown_status_is_rejected(session):
    with pytest.raises(IntegrityError, match="ck_associations_publication_status"), session.begin_nested():
        session.add(Association(slug="bad-assoc", name_en="Bad", publication_status="live"))
        session.flush()


def test_an_association_seat_that_is_not_a_point_is_rejected(session):
    """The typed geometry(Point) column refuses it; PostGIS reports a DataError, not a CHECK failure."""
    with pytest.raises(DataError, match="does not match column type"), session.begin_nested():
        session.add(Association(slug="line-assoc", name_en="Line",
                                geom=from_shape(LineString([(-8.88, 30.47), (-8.87, 30.48)]), srid=4326)))
        session.flush()


def test_a_link_with_an_unknown_role_is_rejected(session):
    project, association = one(session, Project, "municipal-library"), one(session, Association, "taroudant-awalan")
    with pytest.raises(IntegrityError, match="ck_project_associations_role"), session.begin_nested():
        session.add(ProjectAssociation(project_id=project.id, association_id=association.id, role="sponsor"))
        session.flush()


def test_a_duplicate_site_slug_is_rejected(session):
    with pytest.raises(IntegrityError, match="uq_sites_slug"), session.begin_nested():
        make_site(session, slug="ramparts")


def test_deleting_a_linked_site_is_refused(session):
    site = one(session, Site, "bab-el-khemis")
    with pytest.raises(IntegrityError, match="project_sites"), session.begin_nested():
        session.delete(site)
        session.flush()
    with pytest.raises(IntegrityError, match="project_sites"), session.begin_nested():
        session.execute(delete(Site).where(Site.slug == "bab-el-khemis"))
    assert one(session, Site, "bab-el-khemis") is not None
    assert link_count(session, ProjectSite, site_id=site.id) == 2


def test_deleting_an_unlinked_site_is_allowed(session):
    session.delete(one(session, Site, "jbel-toubkal"))
    session.flush()
    assert one(session, Site, "jbel-toubkal") is None


def test_deleting_an_association_leading_a_project_is_refused(session):
    with pytest.raises(IntegrityError, match="project_associations"), session.begin_nested():
        session.execute(delete(Association).where(Association.slug == "taroudant-bladna"))
    assert len(one(session, Project, "clean-walls").links) == 1


def test_deleting_a_project_removes_its_links_but_not_its_sites_or_associations(session):
    project = one(session, Project, "example-rampart-walk")
    project_id = project.id
    assert link_count(session, ProjectSite, project_id=project_id) == 5
    assert link_count(session, ProjectAssociation, project_id=project_id) == 2
    session.delete(project)
    session.flush()
    assert link_count(session, ProjectSite, project_id=project_id) == 0
    assert link_count(session, ProjectAssociation, project_id=project_id) == 0
    assert session.scalar(select(func.count()).select_from(Site)) == 33
    assert session.scalar(select(func.count()).select_from(Association)) == 5
    assert one(session, Association, "example-youth-heritage-guides").links == []


def test_deleting_a_project_in_sql_cascades_to_its_links(session):
    """The database itself cascades, as remove_samples relies on with bulk deletes."""
    project_id = one(session, Project, "adha-restoration-2023").id
    session.execute(delete(Project).where(Project.id == project_id))
    assert link_count(session, ProjectSite, project_id=project_id) == 0
    assert session.scalar(select(func.count()).select_from(ProjectSite)) == 11 - 4
    assert one(session, Site, "bab-zorgane") is not None


@pytest.mark.parametrize("table", ["sites", "associations", "projects"])
def test_every_geometry_column_has_a_gist_index(session, table):
    definitions = session.scalars(text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table}).all()
    assert [d for d in definitions if "USING gist (geom)" in d], definitions


@pytest.mark.parametrize("model", [Site, Association, Project], ids=lambda m: m.__tablename__)
def test_stored_geometries_are_in_srid_4326(session, model):
    srids = session.scalars(select(func.ST_SRID(model.geom)).where(model.geom.is_not(None)).distinct()).all()
    assert srids == [4326]
    column_srid = session.scalar(text("SELECT Find_SRID('public', :t, 'geom')"), {"t": model.__tablename__})
    assert column_srid == 4326


def test_a_geometry_in_another_srid_is_rejected(session):
    with pytest.raises(DataError, match="does not match column SRID"), session.begin_nested():
        make_site(session, geom=from_shape(Point(100000, 400000), srid=26192))



def test_the_migrations_build_exactly_the_schema_the_models_describe(connection):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from heritage_map.catalogue.models import Base

    def ours(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and reflected and compare_to is None)  # PostGIS's own tables

    context = MigrationContext.configure(connection, opts={"include_object": ours})
    assert compare_metadata(context, Base.metadata) == []


def stored_properties(session, model, slug) -> dict:
    return session.scalar(select(model.geojson_properties).where(model.slug == slug))


def test_a_new_site_gets_its_geojson_properties_from_the_database(session):
    make_site(session, slug="fresh-site", name_ar="باب جديد", sources=["https://example.org/a"])
    props = stored_properties(session, Site, "fresh-site")
    assert props["slug"] == "fresh-site" and props["name_ar"] == "باب جديد"
    assert props["sources"] == ["https://example.org/a"] and props["sample"] is False
    assert "url" not in props  # the app adds the url of the record's page, from its routes, as it serves it


def test_the_stored_properties_follow_an_update_through_the_orm_and_through_sql(session):
    site = make_site(session, slug="edited-site", name_en="Before")
    site.name_en, site.condition = "After", "poor"
    session.flush()
    assert stored_properties(session, Site, "edited-site")["name_en"] == "After"
    assert stored_properties(session, Site, "edited-site")["condition"] == "poor"
    session.execute(text("UPDATE sites SET category = 'kasbah' WHERE slug = 'edited-site'"))
    assert stored_properties(session, Site, "edited-site")["category"] == "kasbah"


def test_stored_properties_cannot_be_written_apart_from_the_record(session):
    make_site(session, slug="forged-site", name_en="True name")
    session.execute(text("""UPDATE sites SET geojson_properties = '{"name_en": "Forged"}' WHERE slug = 'forged-site'"""))
    assert stored_properties(session, Site, "forged-site")["name_en"] == "True name"


# What the stored properties of each table hold, in order (features add the url of the record's page).
STORED_PROPERTIES = {
    Site: ["slug", "ref", "name_ar", "name_fr", "name_en", "name_zgh", "kind", "category", "description_ar",
           "description_fr", "description_en", "period", "protection_status", "condition", "coord_confidence",
           "sources", "sample"],
    Association: ["slug", "name_ar", "name_fr", "name_en", "themes", "website", "description_ar", "description_fr",
                  "description_en", "sources", "sample"],
    Project: ["slug", "title_ar", "title_fr", "title_en", "description_ar", "description_fr", "description_en",
              "status", "themes", "start_date", "end_date", "sources", "sample"],
}


@pytest.mark.parametrize("model", [Site, Association, Project])
def test_every_seeded_record_stores_the_properties_it_would_build_now(session, model):
    """The trigger's output is the expected columns, in order, for every row of every table."""
    names = STORED_PROPERTIES[model]
    built = func.json_build_object(*[x for name in names for x in (name, getattr(model, name))])
    mismatched = session.scalar(select(func.count()).select_from(model)
                                .where(cast(model.geojson_properties, JSONB) != cast(built, JSONB)))
    assert session.scalar(select(func.count()).select_from(model)) > 0 and mismatched == 0
    stored = session.scalars(select(cast(model.geojson_properties, Text))).all()
    assert all(list(json.loads(text_)) == names and ": " not in text_[:12] for text_ in stored)  # compact, in order
