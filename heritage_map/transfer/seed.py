"""Load the shipped seed data (geodata/) through the same import code users call."""

from __future__ import annotations

import json
from pathlib import Path

import shapely.geometry
from geoalchemy2.shape import from_shape
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..catalogue import geometry, layers
from ..catalogue.models import SRID, ForumSession, Site, Trail, TrailStop
from ..errors import HeritageMapError
from .imports import ImportReport, import_layer

TRAIL_TEXTS = ("name_en", "name_fr", "name_ar", "description_en", "description_fr", "description_ar")


def seed(session: Session, geodata: Path, *, samples: bool = True) -> list[ImportReport]:
    """Load (or refresh, by slug) the seed data; without `samples`, leave invented examples out."""
    load_forum_sessions(session, geodata / "forum_sessions.json")
    # Forum sessions first, then each layer after those its records link to.
    reports = [import_layer(session, geodata / layer.seed_file, layer.key, skip_samples=not samples)
               for layer in layers.load_order() if layer.seed_file]
    load_trails(session, geodata / "trails.geojson", samples=samples)
    if not samples:
        remove_samples(session)
    return reports


def load_forum_sessions(session: Session, path: Path) -> int:
    """Insert or update the forum sessions listed in a JSON file; return how many it holds."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    columns = {c.key for c in ForumSession.__mapper__.column_attrs} - {"id"}
    for entry in entries:
        unknown = set(entry) - columns
        if unknown:
            raise ValueError(f"{path.name}: unknown keys {sorted(unknown)} in edition {entry.get('edition')}")
        forum = session.scalar(select(ForumSession).where(ForumSession.edition == entry["edition"]))
        if forum is None:
            forum = ForumSession()
            session.add(forum)
        for key, value in entry.items():
            setattr(forum, key, value)
    session.flush()
    return len(entries)


def load_trails(session: Session, path: Path, *, samples: bool = True) -> int:
    """Insert or update (by slug) the trails of a GeoJSON file, their stops given as site slugs; return how many."""
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    loaded = 0
    for number, feature in enumerate(features, start=1):
        props = feature["properties"]
        if props.get("sample") and not samples:
            continue
        where = f"{path.name}, feature {number} ({props.get('slug')})"
        try:
            line = geometry.check(shapely.geometry.shape(feature["geometry"]), allowed=("LineString",))
        except HeritageMapError as exc:
            raise ValueError(f"{where}: {exc.message}") from None
        slugs = [s.strip() for s in props["stops"].split(";") if s.strip()]
        sites = {site.slug: site for site in session.scalars(select(Site).where(Site.slug.in_(slugs)))}
        missing = [slug for slug in slugs if slug not in sites]
        if missing:
            raise ValueError(f"{where}: unknown stop {', '.join(missing)}")
        trail = session.scalar(select(Trail).where(Trail.slug == props["slug"])) or Trail(slug=props["slug"])
        for key in TRAIL_TEXTS:
            setattr(trail, key, props.get(key) or None)
        trail.route_estimated = bool(props.get("route_estimated", True))
        trail.sources = [s.strip() for s in props.get("sources", "").split("; ") if s.strip()]
        trail.publication_status = props.get("publication_status", "published")
        trail.sample = bool(props.get("sample", False))
        trail.geom = from_shape(line, srid=SRID)
        if trail.stops:  # the old stops go first: the new ones take their (trail, position) keys
            trail.stops = []
            session.flush()
        trail.stops = [TrailStop(position=i, site=sites[slug]) for i, slug in enumerate(slugs, start=1)]
        session.add(trail)
        session.flush()
        loaded += 1
    return loaded


def remove_samples(session: Session) -> None:
    """Delete every record flagged as an invented example, linking layers (projects) first."""
    session.execute(delete(Trail).where(Trail.sample.is_(True)))
    for layer in reversed(layers.load_order()):
        session.execute(delete(layer.model).where(layer.model.sample.is_(True)))
    session.execute(delete(ForumSession).where(ForumSession.sample.is_(True)))
    session.flush()
