"""Database tables as typed SQLAlchemy 2 models; every geometry is stored in SRID 4326 with a GiST index."""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (ARRAY, JSON, Boolean, CheckConstraint, Date, DateTime, FetchedValue, ForeignKey, Index,
                        Integer, MetaData, String, Text, func, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from . import vocab
from .geometry import SHAPES

SRID = 4326
SLUG_PATTERN = "[a-z0-9]+(-[a-z0-9]+)*"
SHAPE_TYPES = tuple(f"ST_{shape}" for shape in SHAPES)  # as ST_GeometryType names them


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """Return a CHECK constraint that keeps `column` inside a controlled vocabulary."""
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def shape_check(column: str = "geom") -> CheckConstraint:
    """Return a CHECK constraint allowing only valid (Multi)Point/LineString/Polygon geometries."""
    listed = ", ".join(f"'{t}'" for t in SHAPE_TYPES)
    return CheckConstraint(f"ST_GeometryType({column}) IN ({listed}) AND ST_IsValid({column})", name=f"{column}_shape")


def slug_check() -> CheckConstraint:
    """Return a CHECK constraint keeping slugs to lowercase ASCII words joined by single hyphens (URL path parts)."""
    return CheckConstraint(f"slug ~ '^{SLUG_PATTERN}$'", name="slug_format")


def geometry(nullable: bool, geometry_type: str = "GEOMETRY") -> Mapped[WKBElement]:
    """Return a geometry column in the storage SRID (its GiST index is declared on the table)."""
    return mapped_column(Geometry(geometry_type, srid=SRID, spatial_index=False), nullable=nullable)


def geojson_properties() -> Mapped[dict]:
    """Return the column that a trigger fills with the record's GeoJSON properties (see queries.properties)."""
    # Written by the database on every insert and update, never by the ORM; deferred, so that
    # loading records for a page does not decode JSON nobody reads.
    return mapped_column(JSON, nullable=False, server_default=FetchedValue(), server_onupdate=FetchedValue(),
                         deferred=True)


def folded_text() -> Mapped[str]:
    """Return the column that a trigger fills with the record's names and descriptions, folded for search."""
    # Written by the database (migration 0012: search_fold of the texts), never by the ORM; deferred.
    return mapped_column(Text, nullable=False, server_default=FetchedValue(), server_onupdate=FetchedValue(),
                         deferred=True)


def point_below_index(table: str) -> Index:
    """Return the index of the zoom below which a record is drawn as a count (migration 0015: heritage_point_below)."""
    return Index(f"ix_{table}_point_below", text("heritage_point_below(geom)"))


def search_index(table: str) -> Index:
    """Return the GIN trigram index on a table's search_text (substring and fuzzy matches)."""
    return Index(f"ix_{table}_search_text", "search_text", postgresql_using="gin",
                 postgresql_ops={"search_text": "gin_trgm_ops"})


class Versioned:
    """A version counter that SQLAlchemy checks and bumps on every UPDATE (optimistic locking).

    An UPDATE whose row has moved on since it was read matches no row and raises StaleDataError: the
    second of two concurrent saves is refused, never silently applied over the first.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default=text("1"))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.version}


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                    onupdate=func.now())


class Site(Versioned, Timestamped, Base):
    """A heritage or environmental place, with its provenance."""

    __tablename__ = "sites"
    __table_args__ = (
        one_of("kind", vocab.KINDS), one_of("category", tuple(vocab.CATEGORIES)),
        one_of("protection_status", vocab.PROTECTIONS), one_of("condition", vocab.CONDITIONS),
        one_of("coord_confidence", vocab.CONFIDENCES), one_of("publication_status", vocab.PUBLICATION_STATES),
        shape_check(), slug_check(),
        CheckConstraint("protection_buffer_m IS NULL OR protection_buffer_m >= 0", name="buffer_positive"),
        Index("ix_sites_geom", "geom", postgresql_using="gist"),
        Index("ix_sites_geog", text("(geom::geography)"), postgresql_using="gist"),
        point_below_index("sites"),
        Index("ix_sites_updated_at_id", "updated_at", "id"),
        Index("ix_sites_category", "category", "id", postgresql_include=["publication_status", "kind", "condition"]),
        search_index("sites"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    ref: Mapped[str | None] = mapped_column(String(40))
    name_ar: Mapped[str | None] = mapped_column(Text)
    name_fr: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    name_zgh: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    description_ar: Mapped[str | None] = mapped_column(Text)
    description_fr: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    period: Mapped[str | None] = mapped_column(Text)
    protection_status: Mapped[str] = mapped_column(String(20), default="unknown")
    protection_ref: Mapped[str | None] = mapped_column(Text)
    protection_date: Mapped[dt.date | None] = mapped_column(Date)
    protection_buffer_m: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(20), default="unknown")
    condition_date: Mapped[dt.date | None] = mapped_column(Date)
    threats: Mapped[str | None] = mapped_column(Text)
    visiting_info: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    coord_confidence: Mapped[str] = mapped_column(String(20))
    publication_status: Mapped[str] = mapped_column(String(20), default="published")
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement] = geometry(nullable=False)
    geojson_properties: Mapped[dict] = geojson_properties()
    search_text: Mapped[str] = folded_text()
    search_name: Mapped[str] = folded_text()  # the names alone, folded: what ranks first
    # The association that proposed the site, which edits it; None for the seed's (moderators edit those).
    proposed_by_association_id: Mapped[int | None] = mapped_column(
        ForeignKey("associations.id", ondelete="SET NULL"), index=True)

    projects: Mapped[list[Project]] = relationship(secondary="project_sites", back_populates="sites",
                                                   order_by="Project.slug", viewonly=True)


class Association(Versioned, Timestamped, Base):
    """A local association (or institution) that cares for sites and runs projects."""

    __tablename__ = "associations"
    __table_args__ = (
        one_of("publication_status", vocab.PUBLICATION_STATES), shape_check(), slug_check(),
        Index("ix_associations_geom", "geom", postgresql_using="gist"),
        Index("ix_associations_geog", text("(geom::geography)"), postgresql_using="gist"),
        point_below_index("associations"),
        search_index("associations"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name_ar: Mapped[str | None] = mapped_column(Text)
    name_fr: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    themes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    contact: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    description_ar: Mapped[str | None] = mapped_column(Text)
    description_fr: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    publication_status: Mapped[str] = mapped_column(String(20), default="published")
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement | None] = geometry(nullable=True, geometry_type="POINT")
    geojson_properties: Mapped[dict] = geojson_properties()
    search_text: Mapped[str] = folded_text()
    search_name: Mapped[str] = folded_text()  # the names alone, folded: what ranks first

    links: Mapped[list[ProjectAssociation]] = relationship(back_populates="association")


class ForumSession(Base):
    """One yearly session of the Taroudant associations forum."""

    __tablename__ = "forum_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition: Mapped[int] = mapped_column(Integer, unique=True)
    year: Mapped[int | None] = mapped_column(Integer)
    dates: Mapped[str | None] = mapped_column(Text)
    slogan_ar: Mapped[str | None] = mapped_column(Text)
    slogan_fr: Mapped[str | None] = mapped_column(Text)
    slogan_en: Mapped[str | None] = mapped_column(Text)
    workshops: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    recommendations: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    description_en: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)

    projects: Mapped[list[Project]] = relationship(back_populates="forum_session", order_by="Project.slug")


class Project(Versioned, Timestamped, Base):
    """A project born of the forum or of an association, linked to sites and associations."""

    __tablename__ = "projects"
    __table_args__ = (
        one_of("status", vocab.PROJECT_STATUSES), one_of("publication_status", vocab.PUBLICATION_STATES),
        shape_check(), slug_check(),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="dates_ordered"),
        Index("ix_projects_geom", "geom", postgresql_using="gist"),
        Index("ix_projects_geog", text("(geom::geography)"), postgresql_using="gist"),
        point_below_index("projects"),
        search_index("projects"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title_ar: Mapped[str | None] = mapped_column(Text)
    title_fr: Mapped[str | None] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(Text)
    description_ar: Mapped[str | None] = mapped_column(Text)
    description_fr: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="proposed")  # progress, not publication
    publication_status: Mapped[str] = mapped_column(String(20), default="published")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    themes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    partners: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    forum_session_id: Mapped[int | None] = mapped_column(ForeignKey("forum_sessions.id", ondelete="RESTRICT"))
    forum_recommendation: Mapped[str | None] = mapped_column(Text)  # one of its session's, as worded there
    sources: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement | None] = geometry(nullable=True)
    geojson_properties: Mapped[dict] = geojson_properties()
    search_text: Mapped[str] = folded_text()
    search_name: Mapped[str] = folded_text()  # the names alone, folded: what ranks first

    forum_session: Mapped[ForumSession | None] = relationship(back_populates="projects")
    sites: Mapped[list[Site]] = relationship(secondary="project_sites", back_populates="projects",
                                             order_by="Site.slug")
    links: Mapped[list[ProjectAssociation]] = relationship(back_populates="project", cascade="all, delete-orphan",
                                                           order_by="ProjectAssociation.role")


class ProjectSite(Base):
    """A project works on a site; a site linked to a project cannot be deleted."""

    __tablename__ = "project_sites"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), primary_key=True,
                                         index=True)


class ProjectAssociation(Base):
    """An association takes part in a project as its lead or a partner."""

    __tablename__ = "project_associations"
    __table_args__ = (one_of("role", vocab.LINK_ROLES),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id", ondelete="RESTRICT"),
                                                primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))

    project: Mapped[Project] = relationship(back_populates="links")
    association: Mapped[Association] = relationship(back_populates="links")


class Trail(Timestamped, Base):
    """A walking trail: a route line and ordered stops at sites."""

    __tablename__ = "trails"
    __table_args__ = (
        one_of("publication_status", vocab.PUBLICATION_STATES), slug_check(),
        CheckConstraint("ST_IsValid(geom) AND ST_NPoints(geom) >= 2", name="geom_shape"),
        Index("ix_trails_geom", "geom", postgresql_using="gist"),
        search_index("trails"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name_ar: Mapped[str | None] = mapped_column(Text)
    name_fr: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    description_ar: Mapped[str | None] = mapped_column(Text)
    description_fr: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    route_estimated: Mapped[bool] = mapped_column(Boolean, default=True)  # our line, not a surveyed one
    sources: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    publication_status: Mapped[str] = mapped_column(String(20), default="published")
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement] = geometry(nullable=False, geometry_type="LINESTRING")
    search_text: Mapped[str] = folded_text()
    search_name: Mapped[str] = folded_text()  # the names alone, folded: what ranks first

    stops: Mapped[list[TrailStop]] = relationship(back_populates="trail", cascade="all, delete-orphan",
                                                  order_by="TrailStop.position")


class TrailStop(Base):
    """One stop of a trail, at a site, in the trail's order (1, 2, …)."""

    __tablename__ = "trail_stops"
    __table_args__ = (CheckConstraint("position >= 1", name="position_positive"),)

    trail_id: Mapped[int] = mapped_column(ForeignKey("trails.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    note_en: Mapped[str | None] = mapped_column(Text)
    note_fr: Mapped[str | None] = mapped_column(Text)
    note_ar: Mapped[str | None] = mapped_column(Text)

    trail: Mapped[Trail] = relationship(back_populates="stops")
    site: Mapped[Site] = relationship()


# The catalogue's own tables, in dependency order: taken here, before other domains (accounts) add theirs.
CATALOGUE_TABLES = tuple(Base.metadata.sorted_tables)
