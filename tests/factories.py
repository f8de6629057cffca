"""Builders of valid records for tests: each adds one record, with overrides, and flushes it."""

from __future__ import annotations

from geoalchemy2.shape import from_shape
from shapely import Point
from sqlalchemy.orm import Session

from heritage_map.catalogue.models import Site


def make_site(session: Session, **overrides) -> Site:
    """Add a valid published heritage site (overridable) and flush it."""
    values = dict(slug="test-site", name_en="Test site", kind="heritage", category="gate",
                  coord_confidence="medium", publication_status="published", sources=["https://example.org/source"],
                  geom=from_shape(Point(-8.877, 30.47), srid=4326))
    values.update(overrides)
    site = Site(**values)
    session.add(site)
    session.flush()
    return site
