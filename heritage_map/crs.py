"""The CRSs the OGC API serves (Part 2, CRS by reference), their URIs and axis order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import pyproj

from .errors import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@dataclass(frozen=True)
class Crs:
    """A served CRS: its URI, SRID in PostGIS, and whether its first axis is latitude (northing)."""

    uri: str
    srid: int
    lat_first: bool
    title: str


SUPPORTED = (
    Crs(CRS84, 4326, False, "WGS 84 longitude/latitude (CRS84)"),
    Crs(EPSG + "4326", 4326, True, "WGS 84 latitude/longitude (EPSG:4326)"),
    Crs(EPSG + "3857", 3857, False, "Web Mercator (EPSG:3857)"),
    Crs(EPSG + "32629", 32629, False, "WGS 84 / UTM zone 29N (EPSG:32629)"),
    Crs(EPSG + "26192", 26192, False, "Merchich / Sud Maroc, Lambert (EPSG:26192)"),
)
BY_URI = {c.uri: c for c in SUPPORTED}
DEFAULT = SUPPORTED[0]


def parse(value: str | None, name: str = "crs") -> Crs:
    """Return the served CRS named by a URI, a safe CURIE ([EPSG:26192]) or EPSG:NNNN; CRS84 when absent.

    >>> parse(None).srid
    4326
    >>> parse("EPSG:26192").uri
    'http://www.opengis.net/def/crs/EPSG/0/26192'
    >>> parse("[OGC:CRS84]").lat_first
    False
    >>> parse("EPSG:2154")
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: crs EPSG:2154 is not served; use one of: http://www.opengis.net/def/crs/OGC/1.3/CRS84, http://www.opengis.net/def/crs/EPSG/0/4326, http://www.opengis.net/def/crs/EPSG/0/3857, http://www.opengis.net/def/crs/EPSG/0/32629, http://www.opengis.net/def/crs/EPSG/0/26192
    """
    if value is None or value == "":
        return DEFAULT
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    upper = text.upper()
    if upper in ("OGC:CRS84", "CRS84"):
        text = CRS84
    elif upper.startswith("EPSG:"):
        text = EPSG + text[5:]
    if text not in BY_URI:
        raise InvalidParameter(f"{name} {value} is not served; use one of: {', '.join(BY_URI)}")
    return BY_URI[text]


@lru_cache(maxsize=None)
def _to_lonlat(srid: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(srid, 4326, always_xy=True)


def within_area(crs: Crs, xs: tuple[float, ...], ys: tuple[float, ...]) -> bool:
    """Tell whether PROJ can bring these points (x first) of `crs` to longitude/latitude.

    PostGIS's ST_Transform fails the whole query where PROJ cannot go, so ask PROJ first.

    >>> within_area(BY_URI[EPSG + "32629"], (0.0, 1e8), (0.0, 1e8))
    False
    """
    if crs.srid == 4326:
        return True
    lon, lat = _to_lonlat(crs.srid).transform(xs, ys, errcheck=False)
    return all(math.isfinite(v) for v in (*lon, *lat))
