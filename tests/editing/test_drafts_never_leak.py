"""Only published records are public: every route, walked before and after drafts are added, answers the same.

The walk reads the app's own url_map, so a route added later is walked too; a route with a path parameter
this test cannot fill fails it (add a value below) rather than being skipped. Drafts sit in the middle of
published records and are linked to published ones, so that a count, a cluster, a list of linked records or
numberMatched that let one through differs from its answer without drafts.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path
from urllib.parse import quote

import pyogrio
from sqlalchemy import select

from heritage_map.catalogue import layers
from heritage_map.catalogue.models import Association, Project, ProjectAssociation, ProjectSite, Site

DRAFT_POINT = (-8.8782, 30.4667)  # among the medina's published sites
STATES = ("draft", "submitted", "changes_requested", "withdrawn")
MARKER = "zzleak"  # in every draft's slug and names
AREA = {"type": "Polygon", "coordinates": [[[-8.95, 30.42], [-8.82, 30.42], [-8.82, 30.52], [-8.95, 30.52],
                                            [-8.95, 30.42]]]}
PUBLISHED = ("bab-el-khemis", "clean-walls", "taroudant-bladna")
EXPORTS = ("sites", *layers.VIEWS)  # the views hold projects and associations
FORMATS = ("geojson", "csv", "kml", "gpkg")


def add_drafts(session) -> list[str]:
    """Add an unpublished site, project and association in each non-public state, linked to published ones."""
    published_project = session.scalar(select(Project).where(Project.slug == "clean-walls"))
    published_site = session.scalar(select(Site).where(Site.slug == "bab-el-khemis"))
    bladna = session.scalar(select(Association).where(Association.slug == "taroudant-bladna"))
    lon, lat = DRAFT_POINT
    slugs = []
    for n, state in enumerate(STATES):
        x = lon + n * 0.0002
        site = Site(slug=f"{MARKER}-site-{n}", name_en=f"{MARKER} site", name_fr=f"{MARKER} lieu", kind="heritage",
                    category="gate", sources=[f"{MARKER} source"], coord_confidence="low", publication_status=state,
                    proposed_by_association_id=bladna.id, geom=f"SRID=4326;POINT({x} {lat})")
        association = Association(slug=f"{MARKER}-association-{n}", name_en=f"{MARKER} association",
                                  publication_status=state, geom=f"SRID=4326;POINT({x} {lat + 0.0003})")
        project = Project(slug=f"{MARKER}-project-{n}", title_en=f"{MARKER} project", publication_status=state,
                          description_en=f"{MARKER} text", geom=f"SRID=4326;POLYGON(({x} {lat}, {x + 0.0001} {lat}, "
                                                               f"{x + 0.0001} {lat + 0.0001}, {x} {lat}))")
        session.add_all([site, association, project])
        session.flush()
        session.add_all([ProjectSite(project_id=published_project.id, site_id=site.id),
                         ProjectSite(project_id=project.id, site_id=published_site.id),
                         ProjectAssociation(project_id=published_project.id, association_id=association.id,
                                            role="partner"),
                         ProjectAssociation(project_id=project.id, association_id=bladna.id, role="lead")])
        slugs += [site.slug, association.slug, project.slug]
    session.commit()
    return slugs


def tile(z: int) -> tuple[int, int, int]:
    lon, lat = DRAFT_POINT
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, y, x


def values(name: str, slugs: list[str]) -> list:
    """The values a path parameter is walked with."""
    table = {"slug": [*PUBLISHED, *slugs], "fid": [*PUBLISHED, *slugs], "cid": list(layers.VIEWS),
             "tms": ["WebMercatorQuad"], "collection": list(EXPORTS), "kind": ["projects", "sites", "associations"],
             # The interface languages (/language/<code>), and ids no draft of the walk has: answered alike.
             "code": ["ar", "fr", "en"], "event_id": ["1", "999999"], "photo_id": ["1"], "user_id": ["1"],
             "name": ["0" * 32 + ".jpg"], "token": ["not-a-token"], "fmt": ["png", "svg"]}
    if name not in table:
        raise AssertionError(f"the walk does not know how to fill <{name}>: add its values to this test")
    return table[name]


QUERIES = {
    "api.sites": ["", "?limit=10000", "?kind=heritage&category=gate"], "api.projects": ["", "?limit=10000"],
    "api.associations": ["", "?limit=10000"],
    "api.export": [f"?format={f}" for f in FORMATS],
    "planning.near": [f"?lon={DRAFT_POINT[0]}&lat={DRAFT_POINT[1]}&radius=3000&layer={layer}"
                      for layer in ("sites", "projects", "associations")],
    "ogc.items_": ["?limit=10000", "?f=html&limit=10000", "?bbox=-8.95,30.42,-8.82,30.52",
                   "?filter=" + quote("name_en LIKE '%'"), "?limit=1"],
    "ogc.item": ["", "?f=html"], "ogc.collection": ["", "?f=html"], "ogc.collections_": ["", "?f=html"],
    "web.sites": ["", "?kind=heritage"], "web.projects": ["", "?status=proposed"],
}


def requests(app, slugs: list[str]):
    """Yield (method, url, body) for every route of the app, each path parameter filled every way."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        names = sorted(rule.arguments)
        combos = [{}]
        for name in names:
            if name in ("z", "y", "x"):
                continue
            combos = [dict(c, **{name: v}) for c in combos for v in values(name, slugs)]
        if {"z", "y", "x"} <= set(names):
            combos = [dict(c, z=z, y=y, x=x) for c in combos for z, y, x in (tile(6), tile(12), tile(16))]
        for combo in combos:
            path = rule.rule
            for name, value in combo.items():
                path = re.sub(rf"<(?:[\w()]+:)?{name}>", str(value), path)
            if "GET" in rule.methods:
                for query in QUERIES.get(rule.endpoint, [""]):
                    yield "GET", path + query, None
            if "POST" in rule.methods:
                for body in post_bodies(rule.endpoint):
                    yield "POST", path, body


def post_bodies(endpoint: str) -> list:
    if endpoint == "planning.within":
        return [{"json": {"geometry": AREA, "layer": layer}} for layer in ("sites", "projects", "associations")]
    if endpoint in ("planning.screening", "planning.summary"):
        return [{"json": {"geometry": AREA, "distance": 3000}}]
    if endpoint == "planning.screening_report":
        return [{"data": {"geometry": json.dumps(AREA), "distance": "3000"}}]
    return [{"data": {}}]  # anything else refuses an anonymous post (CSRF, sign-in)


NOISE = [(re.compile(rb'nonce="[^"]+"'), b'nonce=""'), (re.compile(rb'name="csrf_token" type="hidden" value="[^"]+"'), b""),
         (re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d| UTC)?"), b"TIME"),
         (re.compile(rb"_[0-9a-f]{32}"), b"_ID"),
         (re.compile(rb'(<time datetime="TIME">)[^<]*(</time>)'), rb"\1\2")]  # the clock, as the locale writes it


def answer(client, method: str, url: str, body) -> tuple[int, bytes]:
    response = client.get(url) if method == "GET" else client.post(url, **body)
    data = response.get_data()
    if "format=gpkg" in url and response.status_code == 200:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "export.gpkg"
            path.write_bytes(data)
            frame = pyogrio.read_dataframe(path)
            data = frame.drop(columns="geometry").to_csv(index=False).encode()  # the records, not the file's clock
    for pattern, replacement in NOISE:
        data = pattern.sub(replacement, data)
    return response.status_code, data


def test_no_public_route_lets_a_draft_through(app, client, session):
    # Some 300 requests from one address: the per-address rate limits (limits.py) would answer some of them.
    app.config.update({key: "0" for key in app.config if key.startswith("RATE_LIMIT_")})
    planned = list(requests(app, [f"{MARKER}-site-0", f"{MARKER}-project-0", f"{MARKER}-association-0"]))
    assert len(planned) > 200
    before = [answer(client, method, url, body) for method, url, body in planned]
    assert sum(status == 200 for status, _ in before) > 120  # the walk reaches real answers
    add_drafts(session)
    leaks = []
    for (method, url, body), (status_before, data_before) in zip(planned, before):
        status, data = answer(client, method, url, body)
        if (status, data) != (status_before, data_before):
            leaks.append(f"{method} {url} {body}: the answer changed with drafts present ({status_before} → "
                         f"{status})")
        elif MARKER.encode() in data and MARKER not in url:
            leaks.append(f"{method} {url}: a draft's text appears")
    assert leaks == [], "\n".join(leaks)


def test_a_draft_is_in_the_database_where_the_walk_looked(session):
    # The walk proves nothing if the drafts are somewhere else: they are among the published sites.
    add_drafts(session)
    near = session.scalar(select(Site.id).where(Site.slug == f"{MARKER}-site-0",
                                                Site.geom.ST_Intersects(f"SRID=4326;{_wkt(AREA)}")))
    assert near is not None


def _wkt(polygon: dict) -> str:
    ring = ", ".join(f"{x} {y}" for x, y in polygon["coordinates"][0])
    return f"POLYGON(({ring}))"
