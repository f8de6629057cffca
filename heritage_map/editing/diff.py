"""Field-by-field differences between two versions of a record, as plain text for a table (escaped where shown)."""

from __future__ import annotations

from dataclasses import dataclass

# Shown in the diff but not compared: counters and timestamps that move on every save.
IGNORED = frozenset({"version", "updated_at", "created_at", "geojson_properties"})
GEOMETRY = "geom"


@dataclass(frozen=True)
class Row:
    """One field that differs: its name, the old and new values as text."""

    field: str
    old: str
    new: str
    geometry: bool = False


def show(value, field: str = "") -> str:
    """Return a stored value as text: lists one item a line, geometries as their type and size.

    >>> show(["a", "b"]), show(None), show(True)
    ('a\\nb', '', 'yes')
    >>> show({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, "geom")
    'Polygon, 4 vertices'
    """
    if value is None:
        return ""
    if field == GEOMETRY and isinstance(value, dict):
        return f"{value.get('type', '?')}, {_count(value.get('coordinates'))} vertices"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return str(value)


def _count(coords) -> int:
    if not isinstance(coords, list) or not coords:
        return 0
    if isinstance(coords[0], (int, float)):
        return 1
    return sum(_count(c) for c in coords)


def rows(changes: dict[str, dict]) -> list[Row]:
    """Return the rows of a revision's changes (field → {"old", "new"}), by field name."""
    return [Row(field, show(change.get("old"), field), show(change.get("new"), field), field == GEOMETRY)
            for field, change in sorted(changes.items()) if field not in IGNORED]


def compare(old: dict, new: dict) -> list[Row]:
    """Return the fields whose values differ between two stored rows (an empty `old`: a record never published)."""
    return rows({field: {"old": old.get(field), "new": new.get(field)} for field in {*old, *new}
                 if old.get(field) != new.get(field)})
