"""Exporting a layer's published records to a file, in any CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy.orm import Session

from ..catalogue import layers, queries
from ..catalogue.models import SRID
from ..errors import InvalidParameter
from .files import flat, write_file


def layer_frame(session: Session, layer: str, *, crs: str = "EPSG:4326", **filters) -> gpd.GeoDataFrame:
    """Return the published records of `layer` as a GeoDataFrame in the same columns the import reads."""
    rows = queries.export_rows(session, layer, **filters)
    names = [f.name for f in layers.get(layer).fields]
    data = {n: [flat(r.get(n)) for r in rows] for n in names}
    geoms = shapely.from_wkb([r["wkb"] for r in rows]) if rows else []
    frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=f"EPSG:{SRID}"), crs=f"EPSG:{SRID}")
    return frame.to_crs(crs) if not CRS(crs).equals(CRS.from_epsg(SRID)) else frame


def export_layer(session: Session, layer: str, fmt: str, path: str | Path, *, crs: str = "EPSG:4326") -> Path:
    """Write the published records of `layer` to `path` in `fmt` and CRS `crs`."""
    if layer not in layers.LAYERS:
        raise InvalidParameter(f"unknown layer {layer!r} (known: {', '.join(layers.LAYERS)})")
    try:
        CRS.from_user_input(crs)
    except CRSError as exc:
        raise InvalidParameter(f"unknown CRS {crs!r}") from exc
    frame = layer_frame(session, layer, crs=crs)
    return write_file(frame, path, fmt)
