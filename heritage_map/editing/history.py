"""The history of tracked records (the revisions a trigger writes) and restoring an earlier version."""

from __future__ import annotations

import json

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..errors import NotFound
from .models import Revision

# Tables whose changes the trigger of migrations 0010 and 0014 records (`SELECT track_revisions('…')` adds one).
TRACKED = ("sites", "projects", "associations", "events")
# Kept as they are by a restore: the record's identity, its place in the review, its owner and counters.
NOT_RESTORED = frozenset({"id", "slug", "publication_status", "proposed_by_association_id", "version",
                          "created_at", "updated_at", "geojson_properties", "sample",
                          # an event's calendar UID, owner and the moderator's word stay as they are
                          "uid", "association_id", "review_comment"})


def act_as(session: Session, user_id: int | None) -> None:
    """Name the person whose changes the current transaction writes (read by the history trigger)."""
    # set_config(…, true) is SET LOCAL: it ends with the transaction, so a pooled connection keeps no one's id.
    # Not flushed first: records added before it would be written as no one's.
    with session.no_autoflush:
        session.execute(select(func.set_config("heritage_map.user_id", str(user_id or ""), True)))


def revisions(session: Session, table: str, record_id: int) -> list[tuple[Revision, str | None]]:
    """Return a record's revisions, newest first, each with the display name of who made it (None: a command)."""
    rows = session.execute(select(Revision, User.display_name).outerjoin(User, User.id == Revision.user_id)
                           .where(Revision.table_name == table, Revision.record_id == record_id)
                           .order_by(Revision.id.desc()))
    return [(revision, name) for revision, name in rows]


def changes_since(session: Session, table: str, record_id: int, version: int) -> dict[str, dict]:
    """Return what changed in a record after its `version`: field → {"old": value then, "new": value now}."""
    merged: dict[str, dict] = {}
    for revision in session.scalars(select(Revision).where(
            Revision.table_name == table, Revision.record_id == record_id, Revision.version > version)
            .order_by(Revision.id)):
        for field, change in revision.changes.items():
            merged.setdefault(field, {"old": change["old"]})["new"] = change["new"]
    return merged


def last_published(session: Session, table: str, record_id: int) -> Revision | None:
    """Return the newest revision that left the record published (what the public saw last), if any."""
    return session.scalar(select(Revision).where(
        Revision.table_name == table, Revision.record_id == record_id,
        Revision.row["publication_status"].astext == "published").order_by(Revision.id.desc()).limit(1))


def current_row(session: Session, table: str, record_id: int) -> dict:
    """Return a tracked record's row as the trigger stores it (geometry as GeoJSON)."""
    _tracked(table)
    row = session.scalar(text(f"SELECT to_jsonb(t) - 'geojson_properties' FROM {table} t WHERE id = :id"),
                         {"id": record_id})
    if row is None:
        raise NotFound(f"no record {record_id} in {table}")
    return row


def geometry_of(row: dict | None) -> dict | None:
    """Return the GeoJSON geometry of a stored row, without the CRS member PostGIS adds (RFC 7946 has none)."""
    geom = (row or {}).get("geom")
    return {k: v for k, v in geom.items() if k != "crs"} if geom else None


def restore(session: Session, table: str, record_id: int, revision_id: int) -> None:
    """Put back a record's fields as revision `revision_id` left them; the restore is itself a revision.

    The record keeps its slug, owner and review state: a restored text is not published by being restored.
    """
    _tracked(table)
    revision = session.get(Revision, revision_id)
    if revision is None or revision.table_name != table or revision.record_id != record_id or revision.row is None:
        raise NotFound(f"no revision {revision_id} of this record")
    # Column names come from the row the trigger stored, that is from the table itself; quoted all the same.
    columns = [f'"{c}"' for c in revision.row if c not in NOT_RESTORED]
    # jsonb_populate_record reads each value back with its column's type: arrays, dates, GeoJSON geometry.
    updated = session.execute(text(
        f"UPDATE {table} AS t SET ({', '.join(columns)}, version, updated_at) = "
        f"(SELECT {', '.join('r.' + c for c in columns)}, t.version + 1, now() "
        f"FROM jsonb_populate_record(NULL::{table}, CAST(:row AS jsonb)) AS r) WHERE t.id = :id"),
        {"row": json.dumps(revision.row), "id": record_id})
    if updated.rowcount != 1:
        raise NotFound(f"no record {record_id} in {table}")
    session.expire_all()  # the ORM's copies of the record are stale now


def _tracked(table: str) -> None:
    if table not in TRACKED:
        raise ValueError(f"{table!r} is not a tracked table (tracked: {', '.join(TRACKED)})")
