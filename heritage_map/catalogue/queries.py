"""All the SQL, spatial and otherwise: functions take a session and plain values, and never commit."""

from __future__ import annotations

from sqlalchemy import Select, Text, and_, any_, cast, func, select, type_coerce
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from ..errors import NotFound
from . import geojson, layers
from .models import Association, Base, ForumSession, Project, ProjectAssociation, ProjectSite, Site

MAX_FEATURES = 10_000


def once(value: ColumnElement) -> ColumnElement:
    """Return an expression of bound values (a query's geometry) as a scalar subquery, computed once a query.

    psycopg prepares a statement run often; PostgreSQL's generic plan for it would call such a
    function once a row (ST_MakeEnvelope for every candidate), where a subquery is an InitPlan.
    """
    # Selected untyped: GeoAlchemy2 would wrap a geometry column of a SELECT in ST_AsEWKB.
    return type_coerce(select(type_coerce(value, NullType())).scalar_subquery(), value.type)


def published(model):
    """Return the clause that keeps only published records of `model`."""
    return model.publication_status == "published"


def properties(model, record_url: str | None, **added: ColumnElement) -> ColumnElement:
    """Return the GeoJSON properties of `model`'s records as JSON text: the stored ones, "url", then `added`.

    `record_url` is the URL of a record's page with "{slug}" standing for the slug, as the app's
    routes build it (None: no "url"). The stored properties are written by a trigger whose list of
    columns lives in a migration (0005): a change to those columns (renamed, retyped, a new
    property) needs a migration that redefines the trigger function and rewrites the rows.
    """
    props = cast(model.geojson_properties, Text)
    members = []
    if record_url is not None:
        prefix, _, suffix = record_url.partition("{slug}")
        # Slugs need no JSON escaping: a CHECK constraint keeps them to [a-z0-9-].
        members.append(geojson.string_member("url", prefix, model.slug, suffix))
    return geojson.merge(props, added, *members) if added or members else props


def layer_filters(layer: str, **values) -> list:
    """Return the WHERE clauses for a layer's filters (see layers.Filter) and `sample`; None adds nothing."""
    spec = layers.get(layer)
    clauses = [published(spec.model)]
    for name, value in values.items():
        if value is None:
            continue
        if name == "sample":
            clauses.append(spec.model.sample.is_(value))
            continue
        f = spec.filter(name)
        column = getattr(spec.model, f.column)
        clauses.append(any_(column) == value if f.array else column == value)
    return clauses


def feature_collection(session: Session, layer: str, *, record_url: str | None = None, limit: int = MAX_FEATURES,
                       **filters) -> str:
    """Return the published records of `layer` as GeoJSON FeatureCollection text, built by PostGIS."""
    model = layers.get(layer).model
    features: Select = (
        select(geojson.feature(model.slug, model.geom, properties(model, record_url)), model.slug)
        .where(and_(*layer_filters(layer, **filters)))
        .order_by(model.slug)
        .limit(limit)
    )
    return session.scalar(geojson.collection(features))


def record_geojson(session: Session, layer: str, slug: str, record_url: str | None = None) -> str | None:
    """Return one record as a GeoJSON FeatureCollection, or None when it has no geometry."""
    model = layers.get(layer).model
    features = (select(geojson.feature(model.slug, model.geom, properties(model, record_url)), model.slug)
                .where(model.slug == slug, model.geom.is_not(None)))
    text, found = session.execute(geojson.collection(features).add_columns(func.count())).one()
    return text if found else None


def list_records(session: Session, layer: str, **filters) -> list:
    """Return the published records of `layer`, ordered by slug, for index pages."""
    model = layers.get(layer).model
    return list(session.scalars(select(model).where(and_(*layer_filters(layer, **filters))).order_by(model.slug)))


def get_site(session: Session, slug: str) -> Site:
    """Return the published site `slug` with its projects, or raise NotFound."""
    site = session.scalar(select(Site).where(Site.slug == slug, published(Site)).options(
        selectinload(Site.projects).selectinload(Project.links).selectinload(ProjectAssociation.association)))
    if site is None:
        raise NotFound(f"no published site called {slug!r}")
    return site


def get_association(session: Session, slug: str) -> Association:
    """Return the published association `slug` with its project links, or raise NotFound."""
    association = session.scalar(select(Association).where(Association.slug == slug, published(Association))
                                 .options(selectinload(Association.links).selectinload(ProjectAssociation.project)))
    if association is None:
        raise NotFound(f"no published association called {slug!r}")
    return association


def get_project(session: Session, slug: str) -> Project:
    """Return the published project `slug` with its sites, associations and forum session, or raise NotFound."""
    project = session.scalar(select(Project).where(Project.slug == slug, published(Project)).options(
        selectinload(Project.sites), selectinload(Project.links).selectinload(ProjectAssociation.association),
        selectinload(Project.forum_session)))
    if project is None:
        raise NotFound(f"no published project called {slug!r}")
    return project


def site_associations(site: Site) -> list[tuple[Association, str, Project]]:
    """Return (association, role, project) for every association caring for `site` through a project."""
    return [(link.association, link.role, project) for project in site.projects
            if project.publication_status == "published"
            for link in project.links if link.association.publication_status == "published"]


def forum_sessions(session: Session) -> list[ForumSession]:
    """Return the forum sessions by edition, with their projects."""
    return list(session.scalars(select(ForumSession).order_by(ForumSession.edition)
                                .options(selectinload(ForumSession.projects))))


def counts(session: Session) -> dict[str, int]:
    """Return how many records each of the catalogue's tables holds, for the seed report and the tests."""
    # The catalogue's own tables only: accounts, reviews and the history share Base but are no seed's records.
    return {table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables if table.name in CATALOGUE_TABLES}


CATALOGUE_TABLES = frozenset(model.__tablename__ for model in (Site, Association, ForumSession, Project, ProjectSite,
                                                               ProjectAssociation))


def export_rows(session: Session, layer: str, **filters) -> list[dict]:
    """Return the published records of `layer` as dicts of plain values, geometry as WKB, for file export."""
    model = layers.get(layer).model
    options = []
    if model is Project:
        options = [selectinload(Project.sites), selectinload(Project.links).selectinload(ProjectAssociation.association),
                   selectinload(Project.forum_session)]
    stmt = (select(model, func.ST_AsBinary(model.geom)).where(and_(*layer_filters(layer, **filters)))
            .order_by(model.slug).options(*options))
    rows = []
    for obj, wkb in session.execute(stmt):
        # Not the deferred columns (the stored GeoJSON properties): each would cost a query per record.
        row = {c.key: getattr(obj, c.key) for c in model.__mapper__.column_attrs
               if c.key != "geom" and not c.deferred}
        row["wkb"] = bytes(wkb) if wkb is not None else None
        if model is Project:
            # Only the published ones: a draft site or association linked to a published project stays unseen.
            row["sites"] = [s.slug for s in obj.sites if s.publication_status == "published"]
            row["associations"] = [f"{link.role}:{link.association.slug}" for link in obj.links
                                   if link.association.publication_status == "published"]
            row["forum_edition"] = obj.forum_session.edition if obj.forum_session else None
        rows.append(row)
    return rows
