"""Layer files read and written through GDAL: GeoJSON, GeoPackage, zipped Shapefile, KML, CSV."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from ..catalogue import layers
from ..catalogue.models import SRID
from ..errors import HeritageMapError, InvalidParameter

if TYPE_CHECKING:
    from .imports import ImportReport


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
    if path.suffix.lower() == ".gpx":
        # GPX's *_points layers repeat its routes and tracks vertex by vertex.
        layers = [name for name in layers if name not in ("route_points", "track_points")]
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
    frame = frame.apply(lambda column: column.str.replace(_DEFUSED, r"\1", regex=True))  # our exports' quote
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


def format_for(path: str | Path) -> str:
    """Return the export format named by a file's extension."""
    suffix = Path(path).suffix.lower()
    by_suffix = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shp", ".shp": "shp",
                 ".csv": "csv", ".kml": "kml"}
    if suffix not in by_suffix:
        raise InvalidParameter(f"cannot tell the format from {Path(path).name!r}; give --format "
                               f"({', '.join(FORMATS)})")
    return by_suffix[suffix]


# A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as a formula:
# text people typed must not become one (OWASP "CSV injection"). Such a text is written after a ' , which
# spreadsheets show as text and hide; reading our own CSV back takes it off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DEFUSED = r"^'([=+\-@\t\r])"


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with every text cell that a spreadsheet would run as a formula quoted with a '.

    >>> defuse_formulas(pd.DataFrame({"name": ["=HYPERLINK(1)", "Bab", "-1+2"], "n": [1, -2, 3]})).values.tolist()
    [["'=HYPERLINK(1)", 1], ['Bab', -2], ["'-1+2", 3]]
    """
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_object_dtype(out[name]) or pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


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
        defuse_formulas(out).to_csv(path, index=False)
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


def frame_from_geojson(text: str) -> gpd.GeoDataFrame:
    """Return a question's GeoJSON answer as a GeoDataFrame in EPSG:4326, lists flattened for every format."""
    features = json.loads(text)["features"]
    if not features:
        return gpd.GeoDataFrame({"slug": []}, geometry=gpd.GeoSeries([], crs=f"EPSG:{SRID}"), crs=f"EPSG:{SRID}")
    frame = gpd.GeoDataFrame.from_features(features, crs=f"EPSG:{SRID}")
    for column in frame.columns:
        if column != frame.geometry.name:
            frame[column] = [flat(v) for v in frame[column]]
    return frame
def flat(value):
    """Flatten a list to the ';'-separated text every format can hold."""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def long_name(column: str) -> str:
    """Map a DBF short field name (with a split suffix, as in desc_en2) back to its full name."""
    base = column.rstrip("0123456789")
    for layer in layers.LAYERS.values():
        for f in layer.fields:
            if base == f.short and f.short != f.name:
                return f.name + column[len(base):]
    return column


def short_name(column: str) -> str:
    """Map a full field name to its DBF name (10 characters at most), keeping split suffixes."""
    base = column.rstrip("0123456789")
    suffix = column[len(base):]
    for layer in layers.LAYERS.values():
        for f in layer.fields:
            if f.name == base:
                return f.short[: 10 - len(suffix)] + suffix
    return column[:10]
