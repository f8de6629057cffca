"""Load the shipped seed data (geodata/) through the same import code users call."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..catalogue import layers
from ..catalogue.models import ForumSession
from .imports import ImportReport, import_layer



def seed(session: Session, geodata: Path, *, samples: bool = True) -> list[ImportReport]:
    """Load (or refresh, by slug) the seed data; without `samples`, leave invented examples out."""
    load_forum_sessions(session, geodata / "forum_sessions.json")
    # Forum sessions first, then each layer after those its records link to.
    reports = [import_layer(session, geodata / layer.seed_file, layer.key, skip_samples=not samples)
               for layer in layers.load_order() if layer.seed_file]
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
    """Delete every record flagged as an invented example, linking layers (projects) first."""
    for layer in reversed(layers.load_order()):
        session.execute(delete(layer.model).where(layer.model.sample.is_(True)))
    session.execute(delete(ForumSession).where(ForumSession.sample.is_(True)))
    session.flush()
