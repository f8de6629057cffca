"""Published events as an iCalendar (RFC 5545) feed that phone calendars subscribe to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from geoalchemy2.shape import to_shape
from icalendar import Calendar, Event as VEvent, vGeo

from ..i18n import localized
from .models import Event

PRODID = "-//Taroudant Heritage Map//Events//EN"
# The UID's right-hand side: the app's name, so UIDs stay the same whatever host serves the feed.
UID_DOMAIN = "taroudant-heritage-map"


def uid(event: Event) -> str:
    """Return the event's iCalendar UID, stable for its whole life."""
    return f"{event.uid}@{UID_DOMAIN}"


def place(event: Event) -> tuple[str, tuple[float, float] | None]:
    """Return the event's place as a LOCATION text and (lat, lon), from its point or else its site's."""
    site = event.site if event.site is not None and event.site.publication_status == "published" else None
    geom = event.geom if event.geom is not None else (site.geom if site is not None else None)
    latlon = None
    if geom is not None:
        shape = to_shape(geom)
        point = shape if shape.geom_type == "Point" else shape.representative_point()
        latlon = (round(point.y, 6), round(point.x, 6))
    name = localized(site, "name") if site is not None else ""
    if not name and latlon is not None:
        name = f"{latlon[0]}, {latlon[1]}"
    return name, latlon


def calendar(events: Iterable[Event], name: str, event_url: Callable[[Event], str],
             kind_label: Callable[[str], str]) -> bytes:
    """Return `events` as an iCalendar file named `name`; `event_url` gives each event page's absolute URL."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(_vevent(event, event_url(event), kind_label(event.kind)))
    return cal.to_ical()


def _vevent(event: Event, url: str, kind: str) -> VEvent:
    """Return one event as a VEVENT, its times in UTC (readable everywhere, no VTIMEZONE needed)."""
    item = VEvent()
    item.add("uid", uid(event))
    revised = event.updated_at.astimezone(dt.timezone.utc)
    # Without METHOD, DTSTAMP is when the event was last revised (RFC 5545, 3.8.7.2), as LAST-MODIFIED.
    item.add("dtstamp", revised)
    item.add("last-modified", revised)
    item.add("created", event.created_at.astimezone(dt.timezone.utc))
    item.add("dtstart", event.starts_at.astimezone(dt.timezone.utc))
    item.add("dtend", event.ends_at.astimezone(dt.timezone.utc))
    item.add("summary", localized(event, "title"))
    # ORGANIZER must be an address, and members' addresses are never public: the association is named here.
    parts = [localized(event.association, "name"), localized(event, "description"), url]
    item.add("description", "\n\n".join(p for p in parts if p))
    item.add("url", url)
    item.add("categories", [kind])
    location, latlon = place(event)
    if location:
        item.add("location", location)
    if latlon is not None:
        item.add("geo", vGeo(latlon))
    item.add("status", "CONFIRMED")
    item.add("sequence", max(event.version - 1, 0))
    return item
