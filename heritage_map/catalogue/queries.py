"""All the SQL, spatial and otherwise: functions take a session and plain values, and never commit."""

from __future__ import annotations

import json

from sqlalchemy import Select, Text, and_, any_, cast, func, select, type_coerce
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from ..errors import NotFound
from . import geojson
from .models import Association, ForumSession, Project, ProjectAssociation, ProjectSite, Site

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
    column = model.publication_status if model is Project else model.status
    return column == "published"


def properties(model, url_prefix: str, **added: ColumnElement) -> ColumnElement:
    """Return the GeoJSON properties of `model`'s records as JSON text: the stored ones, then `added`.

    The stored ones are written by a trigger whose list of columns lives in a migration (0004): a
    change to those columns (renamed, retyped, a new property) needs a migration that redefines the
    trigger function and rewrites the rows (UPDATE … SET id = id).
    """
    props = cast(model.geojson_properties, Text)
    if url_prefix != "/":
        # The stored "url" is the record's path under /. The pattern can only be that key: in JSON
        # text an unescaped quote only delimits a string, and only a key is followed by a colon.
        props = func.replace(props, '"url":"/', '"url":"' + json.dumps(url_prefix)[1:-1])
    return geojson.merge(props, added) if added else props


LAYERS = {"sites": Site, "associations": Association, "projects": Project}


def layer_filters(layer: str, *, kind: str | None = None, category: str | None = None,
                  status: str | None = None, theme: str | None = None, sample: bool | None = None) -> list:
    """Return the WHERE clauses for a layer's filters; a filter left as None adds nothing."""
    model = LAYERS[layer]
    clauses = [published(model)]
    if kind is not None:
        clauses.append(Site.kind == kind)
    if category is not None:
        clauses.append(Site.category == category)
    if status is not None:
        clauses.append(Project.status == status)
    if theme is not None:
        clauses.append(any_(model.themes) == theme)
    if sample is not None:
        clauses.append(model.sample.is_(sample))
    return clauses


def feature_collection(session: Session, layer: str, *, url_prefix: str = "/", limit: int = MAX_FEATURES,
                       **filters) -> str:
    """Return the published records of `layer` as GeoJSON FeatureCollection text, built by PostGIS."""
    model = LAYERS[layer]
    features: Select = (
        select(geojson.feature(model.slug, model.geom, properties(model, url_prefix)), model.slug)
        .where(and_(*layer_filters(layer, **filters)))
        .order_by(model.slug)
        .limit(limit)
    )
    return session.scalar(geojson.collection(features))


def record_geojson(session: Session, layer: str, slug: str, url_prefix: str = "/") -> str | None:
    """Return one record as a GeoJSON FeatureCollection, or None when it has no geometry."""
    model = LAYERS[layer]
    features = (select(geojson.feature(model.slug, model.geom, properties(model, url_prefix)), model.slug)
                .where(model.slug == slug, model.geom.is_not(None)))
    text, found = session.execute(geojson.collection(features).add_columns(func.count())).one()
    return text if found else None


def list_records(session: Session, layer: str, **filters) -> list:
    """Return the published records of `layer`, ordered by slug, for index pages."""
    model = LAYERS[layer]
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
            for link in project.links if link.association.status == "published"]


def forum_sessions(session: Session) -> list[ForumSession]:
    """Return the forum sessions by edition, with their projects."""
    return list(session.scalars(select(ForumSession).order_by(ForumSession.edition)
                                .options(selectinload(ForumSession.projects))))


def counts(session: Session) -> dict[str, int]:
    """Return how many records each table holds, for the seed report and the tests."""
    return {
        "sites": session.scalar(select(func.count()).select_from(Site)),
        "associations": session.scalar(select(func.count()).select_from(Association)),
        "projects": session.scalar(select(func.count()).select_from(Project)),
        "forum_sessions": session.scalar(select(func.count()).select_from(ForumSession)),
        "project_sites": session.scalar(select(func.count()).select_from(ProjectSite)),
        "project_associations": session.scalar(select(func.count()).select_from(ProjectAssociation)),
    }


def export_rows(session: Session, layer: str, **filters) -> list[dict]:
    """Return the published records of `layer` as dicts of plain values, geometry as WKB, for file export."""
    model = LAYERS[layer]
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
            row["sites"] = [s.slug for s in obj.sites]
            row["associations"] = [f"{link.role}:{link.association.slug}" for link in obj.links]
            row["forum_edition"] = obj.forum_session.edition if obj.forum_session else None
        rows.append(row)
    return rows
