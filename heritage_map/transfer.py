"""File import and export of layers (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV), through GDAL."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from geoalchemy2.shape import from_shape
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from . import queries, vocab
from .errors import HeritageMapError, InvalidGeometry, InvalidParameter
from .fields import LAYERS, SLUG, Field, long_name, missing, short_name, slugify
from .geometry import check
from .models import SRID, Association, Project, Site

# DBF text fields hold at most 254 bytes: longer texts go on in numbered fields (desc_en, desc_en2, …).
DBF_TEXT_BYTES = 254
FORMATS = {
    "geojson": ("GeoJSON", ".geojson"),
    "gpkg": ("GPKG", ".gpkg"),
    "shp": ("ESRI Shapefile", ".shp.zip"),
    "csv": ("CSV", ".csv"),
    "kml": ("KML", ".kml"),
}


class ImportFailed(HeritageMapError):
    """An import found bad rows or an unreadable file; nothing was written."""

    status = 400
    code = "InvalidFile"

    def __init__(self, message: str, report: ImportReport | None = None):
        super().__init__(message)
        self.report = report


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


def read_file(path: str | Path, *, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame in EPSG:4326; `crs` names the CRS of CSV coordinates."""
    path = Path(path)
    if not path.exists():
        raise ImportFailed(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".csv":
            frame = _read_csv(path, crs)
        else:
            frame = _read_vector(path)
    except ImportFailed:
        raise
    except Exception as exc:  # GDAL and pandas raise many kinds; each means the file cannot be read
        raise ImportFailed(f"{path.name}: cannot read the file ({type(exc).__name__}: {exc})") from exc
    if frame.crs is None:
        raise ImportFailed(f"{path.name}: the file does not say its CRS (a Shapefile without .prj?); "
                           "add one or convert the file to EPSG:4326 first")
    if not CRS(frame.crs).equals(CRS.from_epsg(SRID), ignore_axis_order=True):
        frame = frame.to_crs(epsg=SRID)
    return frame.rename(columns=long_name)


def _read_vector(path: Path) -> gpd.GeoDataFrame:
    """Read every layer of a GDAL-readable file (a zip may hold one Shapefile per geometry type)."""
    source = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    layers = [name for name, _ in pyogrio.list_layers(source)]
    if not layers:
        raise ImportFailed(f"{path.name}: no layer found in the file")
    frames = [gpd.read_file(source, layer=name, engine="pyogrio") for name in layers]
    crss = {str(f.crs) for f in frames}
    if len(crss) > 1:
        raise ImportFailed(f"{path.name}: its layers use different CRSs ({', '.join(sorted(crss))})")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read_csv(path: Path, crs: str | None) -> gpd.GeoDataFrame:
    """Read a CSV whose geometry is in lon/lat (or x/y) columns or in a WKT column."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = {c.lower(): c for c in frame.columns}
    try:
        target = CRS.from_user_input(crs or "EPSG:4326")
    except CRSError as exc:
        raise ImportFailed(f"{path.name}: unknown CRS {crs!r}: {exc}") from exc
    lon = next((columns[c] for c in ("lon", "longitude", "lng", "x") if c in columns), None)
    lat = next((columns[c] for c in ("lat", "latitude", "y") if c in columns), None)
    wkt = next((columns[c] for c in ("wkt", "geometry", "geom") if c in columns), None)
    if lon and lat:
        x = pd.to_numeric(frame[lon].replace("", None), errors="coerce")
        y = pd.to_numeric(frame[lat].replace("", None), errors="coerce")
        geoms = [shapely.Point(a, b) if pd.notna(a) and pd.notna(b) else None for a, b in zip(x, y)]
        frame = frame.drop(columns=[lon, lat])
    elif wkt:
        geoms = [_parse_wkt(text) for text in frame[wkt]]
        frame = frame.drop(columns=[wkt])
    else:
        raise ImportFailed(f"{path.name}: no geometry columns (expected lon/lat, longitude/latitude, x/y or wkt)")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs=target)


def _parse_wkt(text: str):
    """Parse WKT, keeping a bad value as None so that its row is reported, not the whole file."""
    try:
        return shapely.from_wkt(text) if text else None
    except shapely.errors.GEOSException:
        return shapely.Point()  # reported as an empty geometry


def parse_rows(frame: gpd.GeoDataFrame, layer: str) -> tuple[list[dict], list[RowError]]:
    """Turn each row into a record of typed values, or a RowError naming the row and the reason."""
    spec = LAYERS[layer]
    frame = _join_split_texts(frame, spec["fields"])
    records, errors, seen = [], [], {}
    # On update only the file's own columns change: a partial file must not blank the rest.
    present = {f.name for f in spec["fields"] if f.name in frame.columns} | {"geom"}
    if "category" in present:
        present.add("kind")
    for number, (_, row) in enumerate(frame.iterrows(), start=1):
        try:
            record = {"_present": present}
            for f in spec["fields"]:
                try:
                    record[f.name] = f.parse(row.get(f.name))
                except ValueError as exc:
                    raise ValueError(f"{f.name}: {exc}") from None
            _complete(record, layer)
            # A row of texts can hand back a missing geometry as NaN rather than None.
            geom = None if missing(row.geometry) else row.geometry
            if geom is None and not spec["geometry_required"]:
                record["geom"] = None
            else:
                # Shapefiles turn outer rings clockwise: store RFC 7946's counter-clockwise whatever the format.
                record["geom"] = shapely.orient_polygons(check(geom, allowed=spec["shapes"]), exterior_cw=False)
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
    names = ("name_ar", "name_fr", "name_en") if layer != "projects" else ("title_ar", "title_fr", "title_en")
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
    if layer == "projects":
        # A project's `status` is its progress; whether it is published is `publication_status`.
        record["status"] = record.get("status") or "proposed"
        record["publication_status"] = record.get("publication_status") or "published"
        for item in record["associations"]:
            role, _, slug = item.partition(":")
            if role not in vocab.LINK_ROLES or not slug:
                raise ValueError(f"association link {item!r} should read role:slug with role lead or partner")
    else:
        record["status"] = record.get("status") or "published"
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
    if layer not in LAYERS:
        raise InvalidParameter(f"unknown layer {layer!r} (known: {', '.join(LAYERS)})")
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
    model = LAYERS[layer]["model"]
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
    from .models import ForumSession, ProjectAssociation

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


def _join_split_texts(frame: pd.DataFrame, fields: list[Field]) -> pd.DataFrame:
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


def layer_frame(session: Session, layer: str, *, crs: str = "EPSG:4326", **filters) -> gpd.GeoDataFrame:
    """Return the published records of `layer` as a GeoDataFrame in the same columns the import reads."""
    rows = queries.export_rows(session, layer, **filters)
    names = [f.name for f in LAYERS[layer]["fields"]]
    data = {n: [_flat(r.get(n)) for r in rows] for n in names}
    geoms = shapely.from_wkb([r["wkb"] for r in rows]) if rows else []
    frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=f"EPSG:{SRID}"), crs=f"EPSG:{SRID}")
    return frame.to_crs(crs) if not CRS(crs).equals(CRS.from_epsg(SRID)) else frame


def _flat(value):
    """Flatten a list to the ';'-separated text every format can hold."""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def format_for(path: str | Path) -> str:
    """Return the export format named by a file's extension."""
    suffix = Path(path).suffix.lower()
    by_suffix = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shp", ".shp": "shp",
                 ".csv": "csv", ".kml": "kml"}
    if suffix not in by_suffix:
        raise InvalidParameter(f"cannot tell the format from {Path(path).name!r}; give --format "
                               f"({', '.join(FORMATS)})")
    return by_suffix[suffix]


def write_file(frame: gpd.GeoDataFrame, path: str | Path, fmt: str) -> Path:
    """Write `frame` to `path` in format `fmt` (see FORMATS); a Shapefile goes into a zip."""
    if fmt not in FORMATS:
        raise InvalidParameter(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    driver, _ = FORMATS[fmt]
    path = Path(path)
    layer_name = path.name.split(".")[0] or "layer"
    if fmt == "shp":
        _write_shapefile_zip(frame, path, layer_name)
    elif fmt == "csv":
        out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        # Full precision: the default rounding to 6 decimals moves a lon/lat point by up to 5 cm.
        out.insert(0, "wkt", frame.geometry.to_wkt(rounding_precision=-1))
        out.to_csv(path, index=False)
    elif fmt == "kml":
        pyogrio.write_dataframe(frame.to_crs(epsg=SRID), path, driver=driver, layer=layer_name)
    else:
        pyogrio.write_dataframe(frame, path, driver=driver, layer=layer_name)
    return path


def _write_shapefile_zip(frame: gpd.GeoDataFrame, path: Path, layer_name: str) -> None:
    """Write a zipped Shapefile with .prj and .cpg (UTF-8), long texts split for DBF."""
    out = frame.copy()
    for column in [c for c in out.columns if c != out.geometry.name]:
        out = _split_for_dbf(out, column)
    out = out.rename(columns=short_name)
    # A Shapefile holds one geometry type, so the zip holds one per dimension present.
    dimension = shapely.get_dimensions(out.geometry.values)
    groups = {"points": dimension <= 0, "lines": dimension == 1, "polygons": dimension == 2}
    with tempfile.TemporaryDirectory() as tmp:
        for suffix, mask in groups.items():
            if mask.any():
                pyogrio.write_dataframe(out[mask], Path(tmp) / f"{layer_name}_{suffix}.shp",
                                        driver="ESRI Shapefile", encoding="UTF-8")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)


def _split_for_dbf(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Split texts longer than a DBF field across numbered columns."""
    values = frame[column]
    # Test the values, not the dtype: pandas 3 gives texts its own "str" dtype, older pandas "object".
    if not any(isinstance(v, str) for v in values):
        return frame
    chunks = [_chunks(v) if isinstance(v, str) else [v] for v in values]
    width = max((len(c) for c in chunks), default=1)
    if width <= 1:
        return frame
    frame = frame.copy()
    position = frame.columns.get_loc(column)
    frame[column] = [c[0] for c in chunks]
    for i in range(1, width):
        frame.insert(position + i, f"{column}{i + 1}", [c[i] if i < len(c) else None for c in chunks])
    return frame


def _chunks(text: str, limit: int = DBF_TEXT_BYTES) -> list[str]:
    """Cut `text` into pieces of at most `limit` UTF-8 bytes, never inside a character nor next to a space."""
    pieces = []
    while len(text.encode()) > limit:
        cut = _cut(text, limit)
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def _cut(text: str, limit: int) -> int:
    """Return where to cut a text longer than `limit` bytes, between two characters that are not spaces."""
    end = len(text.encode()[:limit].decode(errors="ignore"))
    # GDAL strips the spaces at both ends of a DBF value, so a space beside the cut would be lost.
    for cut in range(end, 0, -1):
        if not text[cut - 1].isspace() and not text[cut].isspace():
            return cut
    return end


def export_layer(session: Session, layer: str, fmt: str, path: str | Path, *, crs: str = "EPSG:4326") -> Path:
    """Write the published records of `layer` to `path` in `fmt` and CRS `crs`."""
    if layer not in LAYERS:
        raise InvalidParameter(f"unknown layer {layer!r} (known: {', '.join(LAYERS)})")
    try:
        CRS.from_user_input(crs)
    except CRSError as exc:
        raise InvalidParameter(f"unknown CRS {crs!r}") from exc
    frame = layer_frame(session, layer, crs=crs)
    return write_file(frame, path, fmt)


def frame_from_geojson(text: str) -> gpd.GeoDataFrame:
    """Return a question's GeoJSON answer as a GeoDataFrame in EPSG:4326, lists flattened for every format."""
    features = json.loads(text)["features"]
    if not features:
        return gpd.GeoDataFrame({"slug": []}, geometry=gpd.GeoSeries([], crs=f"EPSG:{SRID}"), crs=f"EPSG:{SRID}")
    frame = gpd.GeoDataFrame.from_features(features, crs=f"EPSG:{SRID}")
    for column in frame.columns:
        if column != frame.geometry.name:
            frame[column] = [_flat(v) for v in frame[column]]
    return frame
