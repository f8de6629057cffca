"""Where the map's layers come from: the GeoJSON API while a layer is small, vector tiles once it is large."""

from __future__ import annotations

from urllib.parse import quote

from flask import url_for
from sqlalchemy.orm import Session

from ..catalogue import layers, queries
from ..ogc import tile_template
from ..ogc.tiles import CLUSTER_BELOW, MAX_ZOOM


def map_sources(session: Session, tiles_above: int) -> dict:
    """Return the map loader's sources: {"geojson": [...], "tiles": {map key: ...}} for the published records.

    A layer of at most `tiles_above` records (with a geometry) comes whole from /api/<layer>, as
    always. A larger one is split by its map views: a view past `tiles_above` is drawn from its OGC
    collection's vector tiles, a smaller one (the ramparts among 100,000 sites) from the API filtered
    by the view, keeping only the features that go to that view.
    """
    geojson, tiles = [], {}
    for layer in layers.LAYERS.values():
        views = [view for view in layer.views if view.map_key]
        if queries.capped_count(session, layer.key, tiles_above) <= tiles_above:
            geojson.append({"layer": layer.key, "url": url_for(f"api.{layer.key}")})
            continue
        for i, view in enumerate(views):
            # A feature goes to the last view it matches (layers.View): the later views are not this one's
            # (those that could share records with it: the ramparts among the heritage sites, not the
            # environmental sites).
            later = tuple(v.match for v in views[i + 1:]
                          if all(v.match.get(name, value) == value for name, value in view.match.items()))
            if queries.capped_count(session, layer.key, tiles_above, view.match, later) > tiles_above:
                tiles[view.map_key] = tileset(view.id, later)
            else:
                geojson.append({"layer": layer.key, "url": url_for(f"api.{layer.key}", **view.match),
                                "keep": view.map_key})
    return {"geojson": geojson, "tiles": tiles}


def tileset(collection_id: str, excluded: tuple[dict[str, str], ...]) -> dict:
    """Return what the map needs to draw a collection from tiles: the tile and item URL templates, the layer name."""
    url = tile_template(collection_id, "{z}", "{y}", "{x}")
    cql = exclusion_filter(excluded)
    if cql:
        url += "?filter=" + quote(cql, safe="")
    item = url_for("ogc.item", cid=collection_id, fid="0").removesuffix("/0") + "/{slug}"
    return {"url": url, "layer": collection_id, "item": item, "maxZoom": MAX_ZOOM,
            "clusterBelow": CLUSTER_BELOW}


def exclusion_filter(excluded: tuple[dict[str, str], ...]) -> str:
    """Return the CQL2 text that leaves out records matching any of `excluded` (filter name → value), or "".

    >>> exclusion_filter(({"category": "rampart"},))
    "NOT (category = 'rampart')"
    >>> exclusion_filter(({"kind": "heritage", "category": "o'k"}, {"category": "gate"}))
    "NOT (kind = 'heritage' AND category = 'o''k') AND NOT (category = 'gate')"
    >>> exclusion_filter(())
    ''
    """
    parts = []
    for match in excluded:
        terms = " AND ".join(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'" for name, value in match.items())
        parts.append(f"NOT ({terms})")
    return " AND ".join(parts)
