"""Importing a layer file: every row parsed and checked, then written in one transaction or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from ..catalogue import layers, vocab
from ..catalogue.fields import SLUG, Field, missing, slugify
from ..catalogue.geometry import check
from ..catalogue.models import SRID, Association, ForumSession, Project, ProjectAssociation, Site
from ..errors import InvalidGeometry, InvalidParameter
from .files import ImportFailed, read_file


@dataclass
class RowError:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class ImportReport:
    """What an import read, wrote and rejected."""

    layer: str
    read: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        """Return the report for people: the counts, then each rejected row on its own line."""
        verb = "would write" if self.dry_run else "wrote"
        text = (f"{self.layer}: read {self.read} rows, {verb} {self.created} new and {self.updated} updated, "
                f"rejected {len(self.errors)}")
        return "\n".join([text, *(f"  {e}" for e in self.errors)])


def parse_rows(frame: gpd.GeoDataFrame, layer: str) -> tuple[list[dict], list[RowError]]:
    """Turn each row into a record of typed values, or a RowError naming the row and the reason."""
    spec = layers.get(layer)
    frame = _join_split_texts(_renamed(frame, spec.fields), spec.fields)
    records, errors, seen = [], [], {}
    # On update only the file's own columns change: a partial file must not blank the rest.
    present = {f.name for f in spec.fields if f.name in frame.columns} | {"geom"}
    if "category" in present:
        present.add("kind")
    for number, (_, row) in enumerate(frame.iterrows(), start=1):
        try:
            record = {"_present": present}
            for f in spec.fields:
                try:
                    record[f.name] = f.parse(row.get(f.name))
                except ValueError as exc:
                    raise ValueError(f"{f.name}: {exc}") from None
            _complete(record, layer)
            # A row of texts can hand back a missing geometry as NaN rather than None.
            geom = None if missing(row.geometry) else row.geometry
            if geom is None and not spec.geometry_required:
                record["geom"] = None
            else:
                # Shapefiles turn outer rings clockwise: store RFC 7946's counter-clockwise whatever the format.
                record["geom"] = shapely.orient_polygons(check(geom, allowed=spec.shapes), exterior_cw=False)
            if record["slug"] in seen:
                raise ValueError(f"slug {record['slug']!r} is also used by row {seen[record['slug']]}")
            seen[record["slug"]] = number
            records.append(record)
        except (ValueError, InvalidGeometry) as exc:
            message = exc.message if isinstance(exc, InvalidGeometry) else str(exc)
            errors.append(RowError(number, message))
    return records, errors


def _complete(record: dict, layer: str) -> None:
    """Check required values and fill derived ones (slug, kind, defaults)."""
    label = layers.get(layer).label_field
    names = (f"{label}_ar", f"{label}_fr", f"{label}_en")
    if not any(record.get(n) for n in names):
        raise ValueError(f"no name (one of {', '.join(names)} is needed)")
    if not record.get("slug"):
        record["slug"] = slugify(next(record[n] for n in reversed(names) if record.get(n)))
    if not SLUG.fullmatch(record["slug"]):
        raise ValueError(f"slug {record['slug']!r} must be lowercase letters, digits and single hyphens "
                         "(at most 80 characters)")
    if layer == "sites":
        if not record.get("category"):
            raise ValueError("no category")
        kind = vocab.CATEGORIES[record["category"]].kind
        if record.get("kind") and record["kind"] != kind:
            raise ValueError(f"category {record['category']!r} is a {kind} category, not {record['kind']}")
        record["kind"] = kind
        record["coord_confidence"] = record.get("coord_confidence") or "low"
        record["protection_status"] = record.get("protection_status") or "unknown"
        record["condition"] = record.get("condition") or "unknown"
    record["publication_status"] = record.get("publication_status") or "published"
    if layer == "projects":
        # A project's `status` is its progress; whether it is published is `publication_status`.
        record["status"] = record.get("status") or "proposed"
        for item in record["associations"]:
            role, _, slug = item.partition(":")
            if role not in vocab.LINK_ROLES or not slug:
                raise ValueError(f"association link {item!r} should read role:slug with role lead or partner")
    _check_limits(record)


def _check_limits(record: dict) -> None:
    """Refuse the values the database constraints would refuse, so that they are reported by row."""
    for key, size in (("slug", 80), ("ref", 40)):
        if record.get(key) and len(record[key]) > size:
            raise ValueError(f"{key} is longer than {size} characters")
    if (record.get("protection_buffer_m") or 0) < 0:
        raise ValueError("protection_buffer_m is negative")
    start, end = record.get("start_date"), record.get("end_date")
    if start and end and end < start:
        raise ValueError(f"end_date {end} is before start_date {start}")


def import_layer(session: Session, path: str | Path, layer: str, *, crs: str | None = None,
                 dry_run: bool = False, skip_invalid: bool = False, skip_samples: bool = False) -> ImportReport:
    """Import a file into `layer` in one unit of work; bad rows abort it unless `skip_invalid`."""
    if layer not in layers.LAYERS:
        raise InvalidParameter(f"unknown layer {layer!r} (known: {', '.join(layers.LAYERS)})")
    frame = read_file(path, crs=crs)
    records, errors = parse_rows(frame, layer)
    numbered = [(n, r) for n, r in _numbered(records, errors) if not (skip_samples and r["sample"])]
    report = ImportReport(layer=layer, read=len(frame), errors=errors, dry_run=dry_run)
    if errors and not skip_invalid:
        raise ImportFailed(f"{Path(path).name}: {len(errors)} invalid row(s); nothing was imported", report)
    with session.begin_nested() as savepoint:
        for number, record in numbered:
            try:
                # One savepoint per row, so that a rejected row leaves nothing half-written behind.
                with session.begin_nested():
                    created = _write(session, layer, record)
            except (ValueError, IntegrityError, DataError) as exc:
                report.errors.append(RowError(number, _reason(exc)))
                continue
            report.created += created
            report.updated += not created
        session.flush()
        report.errors.sort(key=lambda e: e.row)
        if report.errors and not skip_invalid:
            savepoint.rollback()
            raise ImportFailed(f"{Path(path).name}: {len(report.errors)} invalid row(s); nothing was imported",
                               report)
        if dry_run:
            savepoint.rollback()
    return report


def _numbered(records: list[dict], errors: list[RowError]) -> list[tuple[int, dict]]:
    """Pair each record with its row number: parse_rows keeps the file's order and skips the bad rows."""
    bad = {e.row for e in errors}
    numbers = (n for n in range(1, len(records) + len(errors) + 1) if n not in bad)
    return list(zip(numbers, records))


def _reason(exc: Exception) -> str:
    """Say why a row was refused: our own message, or the first line of the database's."""
    if isinstance(exc, (IntegrityError, DataError)):
        return f"the database refused the row: {str(exc.orig).splitlines()[0]}"
    return str(exc)


def _write(session: Session, layer: str, record: dict) -> bool:
    """Insert or update (by slug) one record; return True if it was new."""
    model = layers.get(layer).model
    record = dict(record)
    present = record.pop("_present")
    geom = record.pop("geom")
    links = {key: record.pop(key) for key in ("sites", "associations", "forum_edition") if layer == "projects"}
    obj = session.scalar(select(model).where(model.slug == record["slug"]))
    created = obj is None
    if created:
        obj = model()
        session.add(obj)
    for key, value in record.items():
        if created or key in present:
            setattr(obj, key, value)
    obj.geom = from_shape(geom, srid=SRID) if geom is not None else None
    if layer == "projects":
        _link_project(session, obj, {k: v for k, v in links.items() if created or k in present})
    return created


def _link_project(session: Session, project: Project, links: dict) -> None:
    """Resolve a project's site slugs, association links and forum edition (those given in `links`)."""
    if "sites" in links:
        sites = []
        for slug in links["sites"]:
            site = session.scalar(select(Site).where(Site.slug == slug))
            if site is None:
                raise ValueError(f"unknown site {slug!r}")
            sites.append(site)
        project.sites = sites
    if "associations" in links:
        project.links = []
        session.flush()
        for item in links["associations"]:
            role, _, slug = item.partition(":")
            association = session.scalar(select(Association).where(Association.slug == slug))
            if association is None:
                raise ValueError(f"unknown association {slug!r}")
            project.links.append(ProjectAssociation(association=association, role=role))
    if "forum_edition" in links:
        project.forum_session = None
        if links["forum_edition"] is not None:
            forum = session.scalar(select(ForumSession).where(ForumSession.edition == links["forum_edition"]))
            if forum is None:
                raise ValueError(f"unknown forum edition {links['forum_edition']}")
            project.forum_session = forum


def _renamed(frame: pd.DataFrame, fields: tuple[Field, ...]) -> pd.DataFrame:
    """Give the columns that carry a field under an older name (sites' `status`) the field's name."""
    names = {alias: f.name for f in fields for alias in f.aliases
             if alias in frame.columns and f.name not in frame.columns}
    return frame.rename(columns=names) if names else frame


def _join_split_texts(frame: pd.DataFrame, fields: tuple[Field, ...]) -> pd.DataFrame:
    """Join texts that a Shapefile export split over numbered fields (desc_en, desc_en2, …)."""
    frame = frame.copy()
    for f in fields:
        parts = [c for c in frame.columns if c.startswith(f.name) and c[len(f.name):].isdigit()]
        if not parts or f.name not in frame.columns:
            continue
        parts.sort(key=lambda c: int(c[len(f.name):]))
        joined = frame[f.name].fillna("").astype(str)
        for c in parts:
            joined = joined + frame[c].fillna("").astype(str)
            frame = frame.drop(columns=c)
        frame[f.name] = joined.replace("", None)
    return frame
