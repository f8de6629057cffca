"""The SQL of events: published ones for the public, an association's for its editors; never commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..catalogue.models import Association, Site
from ..catalogue.queries import published
from ..errors import NotFound
from .models import Event

_LOADS = (selectinload(Event.association), selectinload(Event.site))


def public(session: Session, *, association_id: int | None = None, site_id: int | None = None) -> list[Event]:
    """Return the published events of published associations, by start time, optionally of one association or site."""
    stmt = (select(Event).join(Event.association).where(published(Event), published(Association))
            .order_by(Event.starts_at, Event.id).options(*_LOADS))
    if association_id is not None:
        stmt = stmt.where(Event.association_id == association_id)
    if site_id is not None:
        stmt = stmt.where(Event.site_id == site_id)
    # An event at a site that is not public keeps its own point, if any, but never names the site.
    return list(session.scalars(stmt))


def split_by_time(events: list[Event], now: dt.datetime) -> tuple[list[Event], list[Event]]:
    """Return (upcoming or running, soonest first; past, latest first)."""
    upcoming = [e for e in events if e.ends_at >= now]
    past = sorted((e for e in events if e.ends_at < now), key=lambda e: e.starts_at, reverse=True)
    return upcoming, past


def get(session: Session, event_id: int) -> Event:
    """Return the event `event_id` whatever its state (the caller decides who may see it), or raise NotFound."""
    event = session.scalar(select(Event).where(Event.id == event_id).options(*_LOADS))
    if event is None:
        raise NotFound(f"no event {event_id}")
    return event


def of_associations(session: Session, association_ids: list[int] | None) -> list[Event]:
    """Return every event of the given associations (None: of all), newest start first, for their editors."""
    stmt = select(Event).order_by(Event.starts_at.desc(), Event.id).options(*_LOADS)
    if association_ids is not None:
        stmt = stmt.where(Event.association_id.in_(association_ids))
    return list(session.scalars(stmt))


def submitted(session: Session) -> list[Event]:
    """Return the events waiting for a moderator, oldest submission first."""
    return list(session.scalars(select(Event).where(Event.publication_status == "submitted")
                                .order_by(Event.updated_at, Event.id).options(*_LOADS)))


def sites_to_choose(session: Session) -> list[Site]:
    """Return the published sites an event can take place at, by slug."""
    return list(session.scalars(select(Site).where(published(Site)).order_by(Site.slug)))


def association_by_slug(session: Session, slug: str) -> Association:
    """Return the published association `slug`, or raise NotFound."""
    association = session.scalar(select(Association).where(Association.slug == slug, published(Association)))
    if association is None:
        raise NotFound(f"no published association called {slug!r}")
    return association


def associations_by_id(session: Session, ids: list[int]) -> list[Association]:
    """Return the associations with these ids, by slug."""
    return list(session.scalars(select(Association).where(Association.id.in_(ids)).order_by(Association.slug)))
