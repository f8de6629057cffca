"""All the SQL, spatial and otherwise: functions take a session and plain values, and never commit."""

from __future__ import annotations

from sqlalchemy import Select, Text, and_, any_, case, cast, func, not_, or_, select, type_coerce
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from ..errors import NotFound
from . import geojson, layers
from .models import (CATALOGUE_TABLES, Association, ForumSession, Project, ProjectAssociation, ProjectSite,
                     Site)

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
        clauses.append(_filter_clause(spec, spec.filter(name), value))
    return clauses


def _filter_clause(spec: layers.Layer, f: layers.Filter, value: str) -> ColumnElement:
    """Return the clause of one filter (see layers.Filter.match) for `value`."""
    model = spec.model
    if f.match == "cared_by":
        return cared_by(model, value)
    column = getattr(model, f.column)
    if f.match == "holds":
        return any_(column) == value
    if f.match == "mentions":  # a word of the folded text: "saadian" is not found in "presaadianism"
        return func.search_fold(column).op("~")(func.concat(r"\m", func.search_fold(value), r"\M"))
    return column == value


def cared_by(model, association: str) -> ColumnElement:
    """Return the clause of `model`'s records linked to the published association `association` (its slug)."""
    if model is Association:
        return Association.slug == association
    projects = (select(ProjectAssociation.project_id).join(Association)
                .where(Association.slug == association, published(Association)))
    if model is Project:
        return Project.id.in_(projects)
    return model.id.in_(select(ProjectSite.site_id).join(Project, Project.id == ProjectSite.project_id)
                        .where(published(Project), ProjectSite.project_id.in_(projects)))


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


def capped_count(session: Session, layer: str, cap: int, match: dict[str, str] | None = None,
                 excluded: tuple[dict[str, str], ...] = ()) -> int:
    """Return how many published records of `layer` with a geometry match `match` but no `excluded`, at most cap + 1.

    The scan stops at the (cap + 1)th match: on a large layer it reads a few thousand rows, not the table.
    """
    model = layers.get(layer).model
    clauses = [*layer_filters(layer, **(match or {})), model.geom.is_not(None)]
    for other in excluded:
        clauses.append(not_(and_(*layer_filters(layer, **other)[1:])))
    found = select(model.id).where(and_(*clauses)).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(found))


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


# Conditions that put a site at risk (vocab.CONDITIONS); a site with recorded threats is at risk too.
AT_RISK_CONDITIONS = ("poor", "very_bad")


def at_risk():
    """Return the clause of the sites at risk: in poor or very bad condition, or with threats recorded."""
    return or_(Site.condition.in_(AT_RISK_CONDITIONS), func.coalesce(func.btrim(Site.threats), "") != "")


def sites_at_risk(session: Session) -> list[Site]:
    """Return the published sites at risk, worst condition first, with the projects caring for them."""
    worst = case(*((Site.condition == c, i) for i, c in enumerate(AT_RISK_CONDITIONS[::-1])), else_=len(AT_RISK_CONDITIONS))
    return list(session.scalars(select(Site).where(published(Site), at_risk()).order_by(worst, Site.slug).options(
        selectinload(Site.projects).selectinload(Project.links).selectinload(ProjectAssociation.association))))


def at_risk_geojson(session: Session, record_url: str | None = None) -> str:
    """Return the published sites at risk as GeoJSON FeatureCollection text, built by PostGIS."""
    features = (select(geojson.feature(Site.slug, Site.geom, properties(Site, record_url)), Site.slug)
                .where(published(Site), at_risk()).order_by(Site.slug))
    return session.scalar(geojson.collection(features))


def published_associations(session: Session) -> list[Association]:
    """Return the published associations by slug: the association filter's choices."""
    return list(session.scalars(select(Association).where(published(Association)).order_by(Association.slug)))


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
    """Return how many records each catalogue table holds, for the seed report and the tests."""
    return {table.name: session.scalar(select(func.count()).select_from(table)) for table in CATALOGUE_TABLES}


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
