"""The OpenAPI document at /ogc/api tells the truth: every operation's real answers agree with it.

Each request below is judged by the document alone (its parameters' schemas say whether the request is
valid), then sent; the answer's status, media type and body must be among those the operation declares,
a request the document calls valid must not be refused, and one it calls invalid must be.
"""

from __future__ import annotations

import re

import pytest
from openapi_schema_validator import OAS30Validator

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
CIDS = ["heritage-sites", "environmental-sites", "ramparts", "projects", "associations"]
FEATURE = {"heritage-sites": "bab-el-kasbah", "environmental-sites": "tioute-palm-grove", "ramparts": "ramparts",
           "projects": None, "associations": None}

# (path, query): valid and invalid requests of every operation.
REQUESTS = [
    ("/ogc/", {}), ("/ogc/", {"f": "html"}), ("/ogc/", {"f": "json"}), ("/ogc/", {"f": "xml"}),
    ("/ogc/conformance", {}), ("/ogc/conformance", {"f": "yaml"}), ("/ogc/api", {}), ("/ogc/api", {"f": "html"}),
    ("/ogc/collections", {}), ("/ogc/collections", {"f": "html"}), ("/ogc/collections/nowhere", {}),
    ("/ogc/collections/nowhere/items", {}),
    *[(f"/ogc/collections/{cid}", q) for cid in CIDS for q in ({}, {"f": "html"}, {"f": "csv"})],
    *[(f"/ogc/collections/{cid}/queryables", {}) for cid in CIDS],
    *[(f"/ogc/collections/{cid}/items", q) for cid in CIDS for q in (
        {}, {"f": "html"}, {"limit": "2"}, {"limit": "0"}, {"limit": "10001"}, {"limit": "two"},
        {"bbox": "-9,30,-8,31"}, {"bbox": "-9,30,-8"}, {"bbox": "a,b,c,d"}, {"bbox-crs": CRS84},
        {"bbox": "-1000000,3500000,-900000,3600000", "bbox-crs": EPSG3857}, {"bbox-crs": "EPSG:4326"},
        {"crs": EPSG3857}, {"crs": "EPSG:3857"}, {"filter-lang": "cql2-text", "filter": "slug = 'x'"},
        {"filter-lang": "sql", "filter": "1=1"}, {"filter-crs": CRS84, "filter": "S_INTERSECTS(geometry, "
                                                   "POINT(-8.87 30.47))"},
        {"filter-crs": "CRS84"}, {"datetime": "2020-01-01T00:00:00Z/.."}, {"sortby": "-updated_at"})],
    ("/ogc/collections/heritage-sites/items", {"category": "gate"}),
    ("/ogc/collections/heritage-sites/items", {"category": "castle"}),
    ("/ogc/collections/heritage-sites/items", {"sample": "true"}),
    ("/ogc/collections/heritage-sites/items", {"sample": "maybe"}),
    *[(f"/ogc/collections/{cid}/items/{fid}", q) for cid, fid in FEATURE.items() if fid
      for q in ({}, {"f": "html"}, {"crs": EPSG3857}, {"crs": "x"})],
    ("/ogc/collections/heritage-sites/items/no-such-site", {}),
    *[(f"/ogc/collections/{cid}/tiles", q) for cid in CIDS for q in ({}, {"f": "html"})],
    ("/ogc/collections/heritage-sites/tiles/WebMercatorQuad", {}),
    ("/ogc/collections/heritage-sites/tiles/WebMercatorQuad", {"f": "tilejson"}),
    ("/ogc/collections/heritage-sites/tiles/WebMercatorQuad", {"f": "svg"}),
    ("/ogc/collections/heritage-sites/tiles/WorldCRS84Quad", {}),
    ("/ogc/collections/heritage-sites/tiles/WebMercatorQuad/14/6755/7787", {}),
    ("/ogc/collections/heritage-sites/tiles/WebMercatorQuad/14/6755/7787", {"filter": "category = 'gate'"}),
    ("/ogc/collections/heritage-sites/tiles/WebMercatorQuad/21/0/0", {}),
    ("/ogc/collections/heritage-sites/tiles/WebMercatorQuad/2/9/0", {}),
]

# Valid by the document, but naming what does not exist: a 404 it declares.
ABSENT = {"/ogc/collections/heritage-sites/items/no-such-site",
          "/ogc/collections/heritage-sites/tiles/WebMercatorQuad/2/9/0"}


@pytest.fixture(scope="module")
def document():
    from heritage_map.ogc.openapi import document as build

    return build("http://localhost/ogc")


def resolve(document: dict, node: dict) -> dict:
    """Follow one local $ref."""
    while "$ref" in node:
        target = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_validator(document: dict, schema: dict) -> OAS30Validator:
    """Return a validator of `schema` whose #/components/… references resolve in the document."""
    return OAS30Validator({**schema, "components": document["components"]})


def operation(document: dict, path: str) -> tuple[dict, dict]:
    """Return the GET operation serving `path` (a concrete path wins over a template) and its path values."""
    relative = path.removeprefix("/ogc") or "/"
    best = None
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        match = re.match(pattern, relative)
        if match and (best is None or template.count("{") < best[0].count("{")):
            best = (template, item["get"], match.groupdict())
    assert best is not None, f"no operation in the document serves {path}"
    return best[1], best[2]


def valid_by_document(document: dict, op: dict, values: dict, query: dict) -> bool:
    """Tell whether the document calls this request valid (path values and query parameters)."""
    declared = {p["name"]: p for p in (resolve(document, p) for p in op["parameters"])}
    for name, value in query.items():
        if name not in declared:
            return False
        schema = declared[name]["schema"]
        if schema.get("type") == "array":
            parts = value.split(",")
            try:
                typed = [float(v) for v in parts]
            except ValueError:
                return False
        elif schema.get("type") in ("integer", "number"):
            try:
                typed = int(value) if schema["type"] == "integer" else float(value)
            except ValueError:
                return False
        elif schema.get("type") == "boolean":
            if value not in ("true", "false"):
                return False
            typed = value == "true"
        else:
            typed = value
        if not schema_validator(document, schema).is_valid(typed):
            return False
    for name, value in values.items():
        schema = declared[name]["schema"]
        typed = int(value) if schema.get("type") == "integer" and value.isdigit() else value
        if not schema_validator(document, schema).is_valid(typed):
            return False
    return True


@pytest.mark.parametrize("path,query", REQUESTS, ids=[f"{p}?{q}" for p, q in REQUESTS])
def test_each_answer_is_one_the_document_declares(client, document, path, query):
    op, values = operation(document, path)
    response = client.get(path, query_string=query)
    status = str(response.status_code)
    assert status in op["responses"], f"{path} answered {status}, which the document does not declare"
    declared = resolve(document, op["responses"][status])
    content = declared.get("content", {})
    if response.status_code != 304:
        types = {t.split(";")[0] for t in content}
        assert response.mimetype in types, f"{response.mimetype} is not among {sorted(types)} for {status}"
        media = next(v for t, v in content.items() if t.split(";")[0] == response.mimetype)
        if response.mimetype.endswith("json"):
            errors = list(schema_validator(document, media["schema"]).iter_errors(response.get_json(force=True)))
            assert errors == [], [e.message for e in errors[:5]]
    valid = valid_by_document(document, op, values, query)
    if valid and path in ABSENT:
        assert response.status_code == 404
    elif valid:
        assert response.status_code < 400, f"the document calls {path}?{query} valid: {response.get_data(True)}"
    else:
        assert response.status_code in (400, 404), f"the document calls {path}?{query} invalid, yet it answered " \
                                                   f"{response.status_code}"


@pytest.mark.parametrize("path", ["/ogc/", "/ogc/collections", "/ogc/collections/heritage-sites/items"])
def test_a_method_the_document_lists_none_of_answers_405_with_allow(client, path):
    response = client.post(path)
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert response.get_json()["code"] == "MethodNotAllowed"


def test_every_operation_is_exercised(document):
    served = {operation(document, path)[0]["operationId"] for path, _query in REQUESTS}
    listed = {item["get"]["operationId"] for item in document["paths"].values()}
    assert listed - served == set()
