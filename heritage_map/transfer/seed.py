"""Load the shipped seed data (geodata/) through the same import code users call."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..catalogue.models import Association, ForumSession, Project, Site
from .imports import ImportReport, import_layer

# Order matters: projects link to sites, associations and forum sessions.
FILES = (("sites", "sites.geojson"), ("associations", "associations.geojson"), ("projects", "projects.geojson"))


def seed(session: Session, geodata: Path, *, samples: bool = True) -> list[ImportReport]:
    """Load (or refresh, by slug) the seed data; without `samples`, leave invented examples out."""
    load_forum_sessions(session, geodata / "forum_sessions.json")
    reports = [import_layer(session, geodata / name, layer, skip_samples=not samples) for layer, name in FILES]
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


def remove_samples(session: Session) -> None:
    """Delete every record flagged as an invented example, projects first since they hold the links."""
    for model in (Project, Association, Site):
        session.execute(delete(model).where(model.sample.is_(True)))
    session.execute(delete(ForumSession).where(ForumSession.sample.is_(True)))
    session.flush()
