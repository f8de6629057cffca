"""The shipped seed data: exact counts, the shapes of the line sites, provenance, and re-seeding."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from heritage_map.catalogue.models import Association, ForumSession, Project, Site
from heritage_map.catalogue.queries import counts, list_records
from heritage_map.config import GEODATA_DIR
from heritage_map.transfer.seed import seed

GEODATA = GEODATA_DIR

# The seed holds no people: the accounts' tables stay empty.
SEEDED = {"sites": 33, "associations": 5, "projects": 7, "forum_sessions": 3,
          "project_sites": 11, "project_associations": 6, "trails": 3, "trail_stops": 20}
WITHOUT_SAMPLES = {"sites": 33, "associations": 3, "projects": 5, "forum_sessions": 3,
                   "project_sites": 5, "project_associations": 3, "trails": 3, "trail_stops": 20}

HERITAGE = [
    "bab-agafay", "bab-benyara", "bab-bizamaren", "bab-derb-laafou", "bab-el-kasbah", "bab-el-khemis",
    "bab-lahjer", "bab-lblalia", "bab-ouled-bounouna", "bab-sedra", "bab-tafelagt", "bab-targhount",
    "bab-zorgane", "claudio-bravo-museum", "grand-mosque", "kasbah", "palais-salam", "place-assarag",
    "place-talmoqlate", "ramparts", "souk-arabe", "souk-berbere", "tanneries", "tioute-kasbah",
]
ENVIRONMENT = [
    "arganeraie-biosphere-reserve", "jbel-toubkal", "souss-massa-national-park", "souss-river-mouth",
    "souss-river-source", "souss-river-taroudant", "tioute-palm-grove", "tizi-n-test", "toubkal-national-park",
]
ESTIMATED = ["kasbah", "place-talmoqlate", "ramparts", "souk-arabe", "souss-river-taroudant", "tanneries",
             "tioute-kasbah"]
REAL_ASSOCIATIONS = ["forum-associations-taroudant", "taroudant-awalan", "taroudant-bladna"]
SAMPLE_ASSOCIATIONS = ["example-garden-keepers", "example-youth-heritage-guides"]
REAL_PROJECTS = ["adha-restoration-2023", "clean-walls", "municipal-library", "romans-taroudant-cooperation",
                 "web-portal"]
SAMPLE_PROJECTS = ["example-rampart-garden", "example-rampart-walk"]


def slugs(session, model, *where) -> list[str]:
    return list(session.scalars(select(model.slug).where(*where).order_by(model.slug)))


def site(session, slug: str) -> Site:
    return session.scalar(select(Site).where(Site.slug == slug))


def test_the_seed_loads_the_exact_number_of_records_and_links(session):
    assert counts(session) == SEEDED


@pytest.mark.parametrize("model, real, samples", [
    (Association, REAL_ASSOCIATIONS, SAMPLE_ASSOCIATIONS),
    (Project, REAL_PROJECTS, SAMPLE_PROJECTS),
], ids=["associations", "projects"])
def test_the_seed_flags_exactly_the_invented_records_as_samples(session, model, real, samples):
    assert slugs(session, model, model.sample.is_(False)) == real
    assert slugs(session, model, model.sample.is_(True)) == samples


def test_no_site_or_forum_session_is_a_sample(session):
    assert slugs(session, Site, Site.sample.is_(True)) == []
    assert session.scalar(select(func.count()).select_from(ForumSession).where(ForumSession.sample)) == 0


def test_the_sample_filter_of_the_queries_splits_the_published_records(session):
    assert len(list_records(session, "associations", sample=True)) == 2
    assert len(list_records(session, "associations", sample=False)) == 3
    assert len(list_records(session, "projects", sample=True)) == 2
    assert len(list_records(session, "projects", sample=False)) == 5
    assert len(list_records(session, "sites", sample=False)) == 33


def test_the_sites_are_split_into_heritage_and_environment(session):
    assert slugs(session, Site, Site.kind == "heritage") == HERITAGE
    assert slugs(session, Site, Site.kind == "environment") == ENVIRONMENT
    assert (len(HERITAGE), len(ENVIRONMENT)) == (24, 9)


def test_every_seeded_site_is_published(session):
    assert slugs(session, Site, Site.publication_status != "published") == []


def test_there_are_thirteen_gates(session):
    gates = slugs(session, Site, Site.category == "gate")
    assert len(gates) == 13
    assert all(slug.startswith("bab-") for slug in gates)


def test_the_ramparts_are_a_closed_line_through_eleven_gates(session):
    line = to_shape(site(session, "ramparts").geom)
    assert line.geom_type == "LineString"
    assert line.is_closed and line.is_valid
    assert len(line.coords) == 12


def test_the_souss_near_taroudant_is_a_schematic_line_south_of_the_town(session):
    line = to_shape(site(session, "souss-river-taroudant").geom)
    assert line.geom_type == "LineString"
    assert not line.is_closed
    assert len(line.coords) == 5
    assert line.coords[0] == pytest.approx((-8.96, 30.447))
    assert line.coords[-1] == pytest.approx((-8.80, 30.456))


def test_every_other_site_is_a_point(session):
    types = dict(session.execute(select(Site.slug, func.ST_GeometryType(Site.geom))).all())
    lines = sorted(slug for slug, kind in types.items() if kind != "ST_Point")
    assert lines == ["ramparts", "souss-river-taroudant"]
    assert set(types[slug] for slug in lines) == {"ST_LineString"}


def test_exactly_the_estimated_positions_are_flagged_estimated(session):
    assert slugs(session, Site, Site.coord_confidence == "estimated") == ESTIMATED


@pytest.mark.parametrize("slug", ESTIMATED)
def test_an_estimated_position_says_so_in_its_description(session, slug):
    record = site(session, slug)
    assert record.coord_confidence == "estimated"
    assert "estimated" in record.description_en.lower()


def test_no_sourced_position_claims_to_be_estimated(session):
    """build_geodata.py refuses an ESTIMATED description whose confidence is not `estimated`."""
    others = session.scalars(select(Site).where(Site.coord_confidence != "estimated")).all()
    assert [s.slug for s in others if "ESTIMATED" in (s.description_en or "")] == []


def test_no_seeded_site_is_surveyed(session):
    assert slugs(session, Site, Site.coord_confidence == "surveyed") == []


def test_every_site_carries_at_least_one_source(session):
    for record in session.scalars(select(Site)):
        assert record.sources, record.slug
        assert all(source.strip() for source in record.sources), record.slug


def test_every_real_association_and_project_carries_a_source(session):
    for model in (Association, Project):
        for record in session.scalars(select(model).where(model.sample.is_(False))):
            assert record.sources, record.slug


def test_seeding_without_samples_removes_the_invented_records_and_keeps_the_real_ones(session):
    seed(session, GEODATA, samples=False)
    assert counts(session) == WITHOUT_SAMPLES
    assert slugs(session, Association) == REAL_ASSOCIATIONS
    assert slugs(session, Project) == REAL_PROJECTS
    ramparts = site(session, "ramparts")
    session.refresh(ramparts)
    assert [p.slug for p in ramparts.projects] == ["adha-restoration-2023", "clean-walls"]


def test_seeding_twice_changes_no_count(session):
    seed(session, GEODATA)
    assert counts(session) == SEEDED
    seed(session, GEODATA)
    assert counts(session) == SEEDED


def test_seeding_without_samples_twice_changes_no_count(session):
    seed(session, GEODATA, samples=False)
    seed(session, GEODATA, samples=False)
    assert counts(session) == WITHOUT_SAMPLES


def test_re_seeding_restores_a_record_edited_in_the_database(session):
    record = site(session, "bab-el-khemis")
    original = record.name_en
    record.name_en = "Renamed"
    session.flush()
    seed(session, GEODATA)
    session.refresh(record)
    assert record.name_en == original
    assert counts(session) == SEEDED


def test_re_seeding_keeps_each_projects_links(session):
    seed(session, GEODATA)
    project = session.scalar(select(Project).where(Project.slug == "example-rampart-walk"))
    session.refresh(project)
    assert [(link.role, link.association.slug) for link in project.links] == [
        ("lead", "example-youth-heritage-guides"), ("partner", "example-garden-keepers")]
    assert [s.slug for s in project.sites] == ["bab-bizamaren", "bab-el-khemis", "bab-ouled-bounouna",
                                               "bab-tafelagt", "ramparts"]
