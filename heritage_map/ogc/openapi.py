"""The OpenAPI 3.0 document of the OGC API, built from the collections it serves."""

from __future__ import annotations

from .. import crs
from .collections import COLLECTIONS, Collection
from .items import DEFAULT_LIMIT, MAX_LIMIT
from .tiles import MAX_ZOOM, MVT, TILE_MATRIX_SET


def _param(name: str, description: str, schema: dict, style: str | None = None, explode: bool | None = None) -> dict:
    out = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
    if style:
        out["style"] = style
    if explode is not None:
        out["explode"] = explode
    return out


def _crs_schema() -> dict:
    """Return the schema of a CRS parameter: a served CRS's URI, or the short forms crs.parse also takes."""
    codes = "|".join(str(c.srid) for c in crs.SUPPORTED if c.uri.startswith(crs.EPSG))
    # Any case (the server upper-cases), as ECMA regexes have no flag for it; a safe CURIE in brackets too.
    short = rf"^\[?([Ee][Pp][Ss][Gg]:({codes})|([Oo][Gg][Cc]:)?[Cc][Rr][Ss]84)\]?$"
    return {"type": "string", "anyOf": [{"enum": [c.uri for c in crs.SUPPORTED]}, {"pattern": short}]}


PARAMETERS = {
    "f": _param("f", "Response format (default: by the Accept header, else JSON).",
                {"type": "string", "enum": ["json", "html"]}),
    # As OGC's own fragment has it: a larger limit is not an error, the server uses the maximum instead.
    # No "maximum": a schema with one declares 10,001 invalid, which the server takes (as the standard asks).
    "limit": _param("limit", f"Number of features per page (1 to {MAX_LIMIT:,}; larger values are clamped to "
                             f"{MAX_LIMIT:,}).",
                    {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT}),
    "bbox": _param("bbox", "Features meeting this box: lower corner then upper corner, in bbox-crs axis order.",
                   {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}, "form", False),
    "bbox-crs": _param("bbox-crs", "CRS of bbox (default CRS84); checked, and otherwise unused, without bbox.",
                       _crs_schema()),
    "crs": _param("crs", "CRS of the response geometries (default CRS84).",
                  _crs_schema()),
    "datetime": _param("datetime", "RFC 3339 instant or interval (open ends as ..) on the record's update time.",
                       {"type": "string"}),
    "filter": _param("filter", "A CQL2 filter (text or JSON, see filter-lang).", {"type": "string"}),
    "filter-lang": _param("filter-lang", "Language of filter.", {"type": "string",
                                                                 "enum": ["cql2-text", "cql2-json"]}),
    "filter-crs": _param("filter-crs", "CRS of geometries in filter (default CRS84).",
                         _crs_schema()),
    "sortby": _param("sortby", "Sort keys, comma-separated, each prefixed with - for descending.",
                     {"type": "string"}),
    "q": _param("q", "Words to find in the names and descriptions, in any language: case, accents, Arabic letter "
                     "variants, tashkeel and small misspellings do not matter.", {"type": "string", "maxLength": 200}),
    "cursor": _param("cursor", "Keyset position; follow the next and prev links rather than making one.",
                     {"type": "string"}),
}

LINK = {"type": "object", "required": ["href", "rel"],
        "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
                       "title": {"type": "string"}, "templated": {"type": "boolean"}}}
LINKS = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
SCHEMAS = {
    "link": LINK,
    "landingPage": {"type": "object", "required": ["links"], "properties": {
        "title": {"type": "string"}, "description": {"type": "string"}, "links": LINKS}},
    "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
        "conformsTo": {"type": "array", "items": {"type": "string"}}}},
    "collection": {"type": "object", "required": ["id", "links"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"}, "links": LINKS,
        "extent": {"type": "object"}, "itemType": {"type": "string"},
        "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"}}},
    "collections": {"type": "object", "required": ["links", "collections"], "properties": {
        "links": LINKS, "collections": {"type": "array", "items": {"$ref": "#/components/schemas/collection"}}}},
    "featureGeoJSON": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "geometry": {"type": "object", "nullable": True},
        "properties": {"type": "object", "nullable": True}, "id": {"oneOf": [{"type": "string"},
                                                                               {"type": "integer"}]},
        "links": LINKS}},
    "featureCollectionGeoJSON": {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/featureGeoJSON"}},
        "links": LINKS, "timeStamp": {"type": "string", "format": "date-time"},
        "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0}}},
    # The one error body: these two members and no others.
    "exception": {"type": "object", "required": ["code", "description"], "additionalProperties": False,
                  "properties": {"code": {"type": "string"}, "description": {"type": "string"}}},
}


def _schema(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


JSON = {"application/json": {"schema": {"type": "object"}}}
GEOJSON = {"application/geo+json": {"schema": {"type": "object"}}}
HTML = {"text/html": {"schema": {"type": "string"}}}
# An error is JSON to clients and a page to people (f=html or a browser's Accept), as every response is.
ERROR = {"description": "An OGC exception: a JSON object with code and description (a page for f=html).",
         "content": {"application/json": {"schema": _schema("exception")}, **HTML}}
UNAVAILABLE = {"description": "The database cannot be reached just now, or the query ran past the statement "
                              "timeout; Retry-After says when to try again.",
               "headers": {"Retry-After": {"schema": {"type": "integer"}}},
               "content": {"application/json": {"schema": _schema("exception")}, **HTML}}


def _json(schema: str) -> dict:
    return {"application/json": {"schema": _schema(schema)}}


def _geojson(schema: str) -> dict:
    return {"application/geo+json": {"schema": _schema(schema)}}


def _get(summary: str, content: dict, params: list[str] = (), path_params: list[dict] = (), op_id: str = "") -> dict:
    return {"get": {
        "summary": summary, "operationId": op_id,
        "parameters": [*path_params, *({"$ref": f"#/components/parameters/{p}"} for p in params)],
        "responses": {"200": {"description": summary, "content": {**content, **HTML}},
                      "400": {"$ref": "#/components/responses/Error"},
                      "404": {"$ref": "#/components/responses/Error"},
                      "406": {"$ref": "#/components/responses/Error"},
                      "503": {"$ref": "#/components/responses/Unavailable"}},
    }}


def _path_param(name: str, description: str, enum: list[str] | None = None) -> dict:
    schema = {"type": "string"}
    if enum:
        schema["enum"] = enum
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


ITEM_PARAMS = ["f", "limit", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang", "filter-crs", "sortby",
               "q", "cursor"]
_SCHEMAS = {"integer": {"type": "integer"}, "number": {"type": "number"}, "boolean": {"type": "boolean"},
            "date": {"type": "string", "format": "date"}, "timestamp": {"type": "string", "format": "date-time"}}


def _property_params(c: Collection) -> list[dict]:
    """Return the `?property=value` filters of one collection's items, as OpenAPI query parameters."""
    out = []
    for name, q in c.queryables.items():
        if q.type == "geometry":
            continue
        schema = dict(_SCHEMAS.get(q.type, {"type": "string"}))
        if name in c.enums:
            schema["enum"] = list(c.enums[name])
        out.append(_param(name, f"Features whose {name} equals this value.", schema))
    return out


def _items_path(c: Collection) -> dict:
    """Return one collection's items path, listing its property filters as well as the common parameters."""
    # GDAL sends an attribute filter to the server as ?property=value only for parameters it finds listed here.
    path = _get(f"{c.title}: features", _geojson("featureCollectionGeoJSON"), ITEM_PARAMS, op_id=f"getFeatures-{c.id}")
    path["get"]["parameters"].extend(_property_params(c))
    return path


TILE_PARAMS = ["datetime", "filter", "filter-lang", "filter-crs"]  # and a collection's property filters


def _tile_paths(cid: dict) -> dict:
    """Return the OGC API – Tiles paths: a collection's tilesets, its tileset and its tiles."""
    tms = _path_param("tileMatrixSetId", "The tile matrix set.", [TILE_MATRIX_SET])
    numbers = [{"name": name, "in": "path", "required": True, "description": description,
                "schema": {"type": "integer", "minimum": 0, **({"maximum": MAX_ZOOM} if name == "tileMatrix" else {})}}
               for name, description in (("tileMatrix", "The zoom level."), ("tileRow", "The row, from the top."),
                                         ("tileCol", "The column, from the left."))]
    tileset = _get("A tileset's metadata (f=tilejson: TileJSON 3.0)", JSON, [], [cid, tms], "describeTileset")
    tileset["get"]["parameters"].append(_param("f", "Format: json, html or tilejson.",
                                               {"type": "string", "enum": ["json", "html", "tilejson"]}))
    tile = _get("A vector tile: the collection's published records, filtered as its items are",
                {MVT: {"schema": {"type": "string", "format": "binary"}}}, TILE_PARAMS, [cid, tms, *numbers],
                "getTile")
    tile["get"]["responses"]["200"]["content"].pop("text/html")
    tile["get"]["responses"]["304"] = {"description": "The tile has not changed since the ETag given"}
    tile["get"]["responses"]["200"]["headers"] = {"ETag": {"schema": {"type": "string"}}}
    return {
        "/collections/{collectionId}/tiles": _get("A collection's vector tilesets", JSON, ["f"], [cid],
                                                  "getTilesets"),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}": tileset,
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": tile,
    }


def document(server: str) -> dict:
    """Return the OpenAPI 3.0 document for a service rooted at `server`."""
    ids = list(COLLECTIONS)
    cid = _path_param("collectionId", "A collection id.", ids)
    fid = _path_param("featureId", "A feature id (the record's slug).")
    return {
        "openapi": "3.0.3",
        "info": {"title": "Taroudant Heritage Map — OGC API Features", "version": "1.0.0",
                 "description": "Heritage and environmental sites, projects and associations of Taroudant.",
                 "license": {"name": "MIT"}},
        "servers": [{"url": server}],
        "paths": {
            "/": _get("Landing page", _json("landingPage"), ["f"], op_id="getLandingPage"),
            "/conformance": _get("Conformance classes", _json("confClasses"), ["f"], op_id="getConformance"),
            "/api": _get("This API definition", {"application/vnd.oai.openapi+json;version=3.0":
                                                 {"schema": {"type": "object"}}}, ["f"], op_id="getApi"),
            "/collections": _get("Collections", _json("collections"), ["f"], op_id="getCollections"),
            "/collections/{collectionId}": _get("A collection", _json("collection"), ["f"], [cid],
                                                "describeCollection"),
            "/collections/{collectionId}/queryables": _get(
                "Queryable properties", {"application/schema+json": {"schema": {"type": "object"}}}, ["f"], [cid],
                "getQueryables"),
            "/collections/{collectionId}/items": _get("Features", _geojson("featureCollectionGeoJSON"), ITEM_PARAMS,
                                                      [cid], "getFeatures"),
            "/collections/{collectionId}/items/{featureId}": _get("A feature", _geojson("featureGeoJSON"),
                                                                  ["f", "crs"], [cid, fid], "getFeature"),
            **{f"/collections/{c.id}/items": _items_path(c) for c in COLLECTIONS.values()},
            **_tile_paths(cid),
        },
        "components": {"parameters": PARAMETERS, "schemas": SCHEMAS,
                       "responses": {"Error": ERROR, "Unavailable": UNAVAILABLE}},
    }
