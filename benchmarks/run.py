#!/usr/bin/env python3
"""Benchmark our OGC API items and vector tiles against TiPg, pygeoapi and the bare database.

Run it with the Python of a venv that has heritage_map installed, e.g.

    /tmp/venv0/bin/python benchmarks/run.py --points 100000 --polygons 10000 --duration 10

See benchmarks/README.md for what it measures, what it installs and how to read the figures.
Everything it starts (an embedded PostgreSQL cluster, gunicorn and uvicorn servers, wrk, pgbench) runs on this
machine and talks only to 127.0.0.1 or to the cluster's Unix socket.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import pwd
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

try:
    import psycopg

    from heritage_map import create_app
    from heritage_map.catalogue import vocab
    from heritage_map.db import make_engine, optimize, upgrade
    from heritage_map.devdb.cluster import PORT as PG_PORT
    from heritage_map.devdb.cluster import SUPERUSER, Cluster
except ImportError as exc:  # pragma: no cover - a usage error, said plainly
    sys.exit(f"benchmarks/run.py needs the heritage_map package: run it with our venv's Python "
             f"(e.g. /tmp/venv0/bin/python benchmarks/run.py). ({exc})")

DBNAME = "heritage_map_bench"
BENCH_SECRET = secrets.token_hex(32)
SEED = 0.4242  # setseed() value: the same rows every time for the same sizes
LON = (-9.2, -8.5)
LAT = (30.2, 30.8)
INSET = 0.001  # keep polygon centres this far inside the box, so the polygons stay inside it too
OURS_ITEMS = "/ogc/collections/heritage-sites/items"
PYG_ITEMS = "/collections/sites/items"
OURS_TILES = "/ogc/collections/heritage-sites/tiles/WebMercatorQuad"
TIPG_COLLECTION = "/collections/public.sites"
# uvicorn[standard] (uvloop, httptools), as TiPg is deployed: with plain uvicorn (asyncio, h11) and --workers 2,
# each response stalled about 40 ms (one item: 23 req/s at one client, 520 with uvloop and httptools).
TIPG_PACKAGES = ["tipg", "uvicorn[standard]"]
# The properties our tiles carry (catalogue/layers.py, tile_properties), asked of TiPg by name.
TILE_PROPERTIES = ("slug", "name_en", "name_fr", "name_ar", "category", "kind", "sample")
TILE_CENTRE = (-8.877, 30.47)  # the tiles of the cases are those holding this point: the town
TILE_ZOOMS = (8, 12, 15)
CQL2_FILTER = "category = 'gate' AND condition = 'poor'"
PYGEOAPI_PACKAGES = ["pygeoapi", "psycopg2-binary", "SQLAlchemy", "geoalchemy2"]  # provider/sql.py imports
SMALL_BBOX_HITS = 50  # case (a) aims at about this many features
SMALL_BBOX_CENTRE = (-8.72, 30.33)  # open country east of the town
TOWN_BBOX = (-8.92, 30.44, -8.82, 30.50)  # Taroudant and its immediate surroundings
DEEP_PAGE = 51  # case (c): the page reached after following 50 next links (features 5001-5100)
PAGE = 100


def app_fingerprint() -> str:
    """Say which heritage_map the benchmark ran: its folder, git commit, and a digest of its Python files."""
    import hashlib

    import heritage_map
    folder = Path(heritage_map.__file__).resolve().parent
    digest = hashlib.sha1()
    for f in sorted(folder.rglob("*.py")):
        digest.update(f.relative_to(folder).as_posix().encode() + b"\0" + f.read_bytes())
    git = subprocess.run(["git", "-C", str(folder), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return f"{folder} (git {git.stdout.strip() or 'n/a'}, sources sha1 {digest.hexdigest()[:12]})"


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------------------------
# Tools: wrk, gunicorn in both venvs, pygeoapi in its own venv


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, text=True, **kwargs)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{(out.stderr or '')[-3000:]}")
    return out


def pip_install(venv: Path, packages: list[str]) -> None:
    say(f"pip install into {venv}: {' '.join(packages)}")
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
        stdout=subprocess.DEVNULL)


def venv_has(venv: Path, modules: list[str]) -> bool:
    code = "import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))"
    return subprocess.run([str(venv / "bin" / "python"), "-c", code, *modules]).returncode == 0


def package_version(venv: Path, name: str) -> str:
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          f"import importlib.metadata as m; print(m.version({name!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def ensure_tools(args) -> None:
    """Install what is missing: wrk (apt), gunicorn in both venvs (same version), pygeoapi's venv."""
    if not shutil.which("wrk") and not args.python_load:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            say("installing wrk (apt-get)")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, stdout=subprocess.DEVNULL)
        if not shutil.which("wrk"):
            say("wrk is not available: falling back to the Python load generator (--python-load)")
            args.python_load = True
    if not args.pgbench:
        raise SystemExit("pgbench not found (Debian: it comes with the postgresql package); give --pgbench PATH")
    ours = Path(sys.prefix)
    if not (ours / "bin" / "gunicorn").exists():
        pip_install(ours, ["gunicorn"])
    gunicorn_version = package_version(ours, "gunicorn")
    pyg = Path(args.pygeoapi_venv)
    if not (pyg / "bin" / "python").exists():
        say(f"creating {pyg}")
        run(["python3", "-m", "venv", str(pyg)])
    if not args.no_pygeoapi and (not venv_has(pyg, ["pygeoapi", "psycopg2", "sqlalchemy", "geoalchemy2", "gunicorn"])
                                 or package_version(pyg, "gunicorn") != gunicorn_version):
        pip_install(pyg, [*PYGEOAPI_PACKAGES, f"gunicorn=={gunicorn_version}"])
    tipg = Path(args.tipg_venv)
    if not (tipg / "bin" / "python").exists():
        say(f"creating {tipg}")
        run(["python3", "-m", "venv", str(tipg)])
    if not venv_has(tipg, ["tipg", "uvicorn", "uvloop", "httptools"]):
        pip_install(tipg, TIPG_PACKAGES)


# --------------------------------------------------------------------------------------------------------------
# The database: a separate embedded cluster, our migrations, the synthetic rows


def insert_sql() -> str:
    """Return the INSERT that makes n rows (points, and polygons spread evenly among them) in `sites`."""
    # Row g is a polygon when floor(g*q/n) steps up at g: exactly q polygons, evenly interleaved.
    return f"""
INSERT INTO sites (slug, ref, name_en, name_fr, name_ar, kind, category, description_en, period,
                   protection_status, condition, sources, coord_confidence, publication_status, sample, geom)
SELECT 'bench-' || lpad(g::text, 6, '0'), 'B' || g,
       'Synthetic site ' || g, 'Site synthétique ' || g, 'موقع تجريبي ' || g,
       'heritage', (%(cats)s::text[])[1 + floor(r_cat * cardinality(%(cats)s::text[]))::int],
       'A generated record for the benchmark: a place near Taroudant with a description of ordinary length.',
       (ARRAY['Saadian', 'Alaouite', '20th century', NULL])[1 + floor(r_per * 4)::int],
       (ARRAY['classified', 'protected_area', 'none', 'unknown'])[1 + floor(r_pro * 4)::int],
       (ARRAY['good', 'fair', 'poor', 'very_bad', 'unknown'])[1 + floor(r_con * 5)::int],
       ARRAY['benchmark (synthetic)'], 'low', 'published', true,
       CASE WHEN is_poly  -- an octagon 20-80 m across
            THEN ST_Buffer(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 0.0002 + r_size * 0.0006, 'quad_segs=2')
            ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END
FROM (
  SELECT g,
         floor(g::bigint * %(q)s / %(n)s) > floor((g - 1)::bigint * %(q)s / %(n)s) AS is_poly,
         {LON[0] + INSET} + random() * {LON[1] - LON[0] - 2 * INSET} AS lon,
         {LAT[0] + INSET} + random() * {LAT[1] - LAT[0] - 2 * INSET} AS lat,
         random() AS r_cat, random() AS r_per, random() AS r_pro, random() AS r_con, random() AS r_size
  FROM generate_series(1, %(n)s) AS g
) AS s
"""


def connect(cluster: Cluster, **kwargs) -> psycopg.Connection:
    return psycopg.connect(host=str(cluster.datadir), port=PG_PORT, user=SUPERUSER, dbname=DBNAME, **kwargs)


def prepare_database(cluster: Cluster, args) -> tuple[str, str]:
    """Start the bench cluster, apply our migrations (to an existing bench database too), and (re)make the
    synthetic rows unless they are already there. Return the database URL and the schema's migration."""
    say(f"embedded cluster in {cluster.datadir} (PostgreSQL from {cluster.bindir})")
    url = cluster.ensure_database(DBNAME)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    cats = [c.slug for c in vocab.CATEGORIES.values() if c.kind == "heritage"]
    with connect(cluster, autocommit=True) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        say(f"schema migrated to {revision}")
        kinds = dict(conn.execute(
            "SELECT GeometryType(geom), count(*) FROM sites WHERE slug LIKE 'bench-%' GROUP BY 1").fetchall())
        total = conn.execute("SELECT count(*) FROM sites").fetchone()[0]
        if (not args.regenerate and kinds.get("POINT") == args.points and kinds.get("POLYGON") == args.polygons
                and total == args.points + args.polygons):
            say(f"reusing the {total} synthetic rows already in {DBNAME} (--regenerate to make them anew)")
            cluster_by_place(url)
            return url, revision
        say(f"generating {args.points} points + {args.polygons} polygons (setseed({SEED}))")
        t0 = time.monotonic()
        conn.execute("SET max_parallel_workers_per_gather = 0")  # one process draws random() in row order
        with conn.transaction():
            # Only benchmark rows: the two servers must serve exactly the same table.
            conn.execute("TRUNCATE sites RESTART IDENTITY CASCADE")
            conn.execute("SELECT setseed(%s)", (SEED,))
            conn.execute(insert_sql(), {"cats": cats, "q": args.polygons, "n": args.points + args.polygons})
        conn.execute("VACUUM ANALYZE sites")
        say(f"inserted and analysed in {time.monotonic() - t0:.1f} s")
    cluster_by_place(url)
    return url, revision


def cluster_by_place(url: str) -> None:
    """Order the rows by place, as `heritage-map db optimize` does (both servers read the same table)."""
    t0 = time.monotonic()
    engine = make_engine(url)
    try:
        optimize(engine)
    finally:
        engine.dispose()
    say(f"clustered on the spatial index, vacuumed and analysed (heritage-map db optimize) in "
        f"{time.monotonic() - t0:.1f} s")


# --------------------------------------------------------------------------------------------------------------
# The cases


@dataclass
class Case:
    key: str
    title: str
    ours: str  # path + query on our server (for (c): filled in with the cursor URL)
    pyg: str  # path + query on pygeoapi
    tipg: str = ""  # path + query on TiPg
    tile: bool = False  # a vector tile (bytes compared by size; pygeoapi serves none)
    server: str = "ours"  # our server for it: "ours", or "ours-cold" (no tile cache)
    expect: int | None = None  # features all must return (checked before timing)
    sql: list[str] = field(default_factory=list)  # what our app sent to PostgreSQL for this request
    results: dict = field(default_factory=dict)  # "ours", "pygeoapi", "floor", "plain"; "…_1": one client


def small_bbox(args) -> tuple[float, float, float, float]:
    """Return a square bbox expected to hold about SMALL_BBOX_HITS features."""
    area = (LON[1] - LON[0] - 2 * INSET) * (LAT[1] - LAT[0] - 2 * INSET)
    side = (SMALL_BBOX_HITS * area / (args.points + args.polygons)) ** 0.5
    x, y = SMALL_BBOX_CENTRE
    return (round(x - side / 2, 5), round(y - side / 2, 5), round(x + side / 2, 5), round(y + side / 2, 5))


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Return the WebMercatorQuad column and row of the tile holding (lon, lat) at zoom z.

    >>> tile_of(-8.877, 30.47, 12)
    (1946, 1683)
    """
    import math
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def make_cases(args, properties: list[str]) -> list[Case]:
    a = ",".join(map(str, small_bbox(args)))
    b = ",".join(map(str, TOWN_BBOX))
    item = f"bench-{(args.points + args.polygons) // 2:06d}"
    tipg = f"{TIPG_COLLECTION}/items"
    # TiPg serves every column unless asked: the same properties as ours and pygeoapi's.
    props = "properties=" + ",".join(properties)
    cql = urllib.parse.quote(CQL2_FILTER)
    cases = [
        Case("a", f"small bbox, limit={PAGE}", f"{OURS_ITEMS}?f=json&bbox={a}&limit={PAGE}",
             f"{PYG_ITEMS}?f=json&bbox={a}&limit={PAGE}", f"{tipg}?f=geojson&{props}&bbox={a}&limit={PAGE}"),
        Case("b", "town bbox, limit=1000", f"{OURS_ITEMS}?f=json&bbox={b}&limit=1000",
             f"{PYG_ITEMS}?f=json&bbox={b}&limit=1000", f"{tipg}?f=geojson&{props}&bbox={b}&limit=1000"),
        Case("c", f"deep page {DEEP_PAGE} of limit={PAGE}", "",  # ours: a cursor URL found by following links
             f"{PYG_ITEMS}?f=json&offset={(DEEP_PAGE - 1) * PAGE}&limit={PAGE}",
             f"{tipg}?f=geojson&{props}&offset={(DEEP_PAGE - 1) * PAGE}&limit={PAGE}"),
        Case("d", f"one item ({item})", f"{OURS_ITEMS}/{item}?f=json", f"{PYG_ITEMS}/{item}?f=json",
             f"{tipg}/{item}?f=geojson&{props}"),
        Case("e", f"category=gate, limit={PAGE}", f"{OURS_ITEMS}?f=json&category=gate&limit={PAGE}",
             f"{PYG_ITEMS}?f=json&category=gate&limit={PAGE}", f"{tipg}?f=geojson&{props}&category=gate&limit={PAGE}"),
        Case("f", f"CQL2 {CQL2_FILTER}, limit={PAGE}",
             f"{OURS_ITEMS}?f=json&filter-lang=cql2-text&filter={cql}&limit={PAGE}",
             f"{PYG_ITEMS}?f=json&filter-lang=cql2-text&filter={cql}&limit={PAGE}",
             f"{tipg}?f=geojson&{props}&filter-lang=cql2-text&filter={cql}&limit={PAGE}"),
    ]
    tile_props = "properties=" + ",".join(TILE_PROPERTIES)
    for z in TILE_ZOOMS:
        x, y = tile_of(*TILE_CENTRE, z)
        for warm in (False, True):
            key = f"z{z}{'w' if warm else 'c'}"
            cases.append(Case(key, f"tile {z}/{x}/{y}, {'warm' if warm else 'cold'} cache",
                              f"{OURS_TILES}/{z}/{y}/{x}", "", f"{TIPG_COLLECTION}/tiles/WebMercatorQuad/{z}/{x}/{y}"
                              f"?{tile_props}", tile=True, server="ours" if warm else "ours-cold"))
    zooms = {int(z) for z in args.tiles.split(",") if z}
    return [c for c in cases if (int(c.key[1:-1]) in zooms if c.tile else c.key in args.cases)]


def feature_ids(doc: dict) -> list[str]:
    if doc.get("type") == "Feature":
        return [str(doc["id"])]
    return [str(f["id"]) for f in doc["features"]]


# --------------------------------------------------------------------------------------------------------------
# What SQL our app sends: one request per case through the app in-process, with log_statement = 'all'

LOG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[(\d+)\] ([A-Z]+):  (.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def parse_statements(log_text: str) -> list[str]:
    """Return the statements (parameters inlined) that a server log excerpt shows, in order."""
    entries: list[list[str]] = []  # [level, text]
    for line in log_text.splitlines():
        m = LOG_ENTRY.match(line)
        if m:
            entries.append([m.group(2), m.group(3)])
        elif entries and line.startswith("\t"):
            entries[-1][1] += "\n" + line[1:]
    out: list[str] = []
    for level, text in entries:
        if level == "LOG" and text.startswith("statement: "):
            out.append(text[len("statement: "):])
        elif level == "LOG" and text.startswith("execute "):
            out.append(text.split(": ", 1)[1])
        elif level == "DETAIL" and text.startswith("parameters: ") and out:
            values = {int(n): v for n, v in PARAM.findall(text)}
            out[-1] = re.sub(r"\$(\d+)(?!\d)", lambda m: values[int(m.group(1))], out[-1])
    return out


def capture(cluster: Cluster, url: str, cases: list[Case]) -> None:
    """Fill in case (c)'s cursor URL and every case's SQL, by running the requests through our app once."""
    # A key of this run only: the app refuses to start on a DATABASE_URL without one.
    app = create_app({"DATABASE_URL": url, "AUTO_SETUP": False, "SECRET_KEY": BENCH_SECRET})
    client = app.test_client()
    with connect(cluster, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {DBNAME} SET log_statement = 'all'")
    try:
        by_key = {c.key: c for c in cases}
        if "c" in by_key:
            link = f"{OURS_ITEMS}?f=json&limit={PAGE}"
            for _ in range(DEEP_PAGE - 1):
                doc = client.get(link).get_json()
                nxt = [x["href"] for x in doc["links"] if x["rel"] == "next"]
                if not nxt:
                    raise SystemExit("case (c): the collection has fewer than "
                                     f"{DEEP_PAGE} pages of {PAGE}; use more --points")
                parts = urlsplit(nxt[0])
                link = f"{parts.path}?{parts.query}"
            by_key["c"].ours = link
        client.get(f"{OURS_ITEMS}?f=json&limit=1").close()  # the pool's first connection: type look-ups etc.
        for case in cases:
            gc.collect()
            start = cluster.logfile.stat().st_size
            response = client.get(case.ours)
            response.get_data()
            response.close()
            del response
            gc.collect()  # a connection that the app left checked out goes back (and says ROLLBACK) now
            time.sleep(0.3)
            with open(cluster.logfile, encoding="utf-8", errors="replace") as log:
                log.seek(start)
                case.sql = [s for s in parse_statements(log.read())
                            if not s.startswith(("ALTER DATABASE", "SHOW ", "show "))]
    finally:
        with connect(cluster, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {DBNAME} RESET log_statement")
        with app.app_context():
            from heritage_map.db import engine
            engine().dispose()


def plain_sql(statements: list[str]) -> list[str]:
    """Return just the data-bearing SELECTs of a captured sequence, each as one plain statement."""
    out = []
    for s in statements:
        m = re.match(r'DECLARE "[^"]+" (?:NO SCROLL )?CURSOR (?:WITHOUT HOLD )?FOR (.*)', s, re.DOTALL)
        if m:
            out.append(m.group(1))
        elif s.lstrip().upper().startswith(("SELECT", "WITH")):
            out.append(s)
    return out


# --------------------------------------------------------------------------------------------------------------
# Servers


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
            except OSError:
                continue
    raise RuntimeError("no free port")


def served_properties(cluster: Cluster) -> list[str]:
    """Return the columns our heritage-sites features carry as properties (the stored object's names but url)."""
    with connect(cluster) as conn:
        props = conn.execute("SELECT geojson_properties FROM sites LIMIT 1").fetchone()[0]
    return [name for name in props if name != "url"]


def pygeoapi_config(cluster: Cluster, port: int) -> dict:
    """Return pygeoapi's configuration (JSON is YAML): one collection `sites` on our table.

    pygeoapi serves the same columns as ours: by default it would serve every column of the table.
    """
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-US"],
            "pretty_print": False,  # our app does not indent either
            "limits": {"default_items": 10, "max_items": 10000},  # as ours
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OpenStreetMap"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "Taroudant benchmark", "description": "pygeoapi over the sites table",
                               "keywords": ["benchmark"], "keywords_type": "theme", "terms_of_service": "none",
                               "url": "http://127.0.0.1/"},
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "benchmark", "url": "http://127.0.0.1/"},
            "contact": {"name": "benchmark", "email": "nobody@example.org", "url": "http://127.0.0.1/"},
        },
        "resources": {
            "sites": {
                "type": "collection",
                "title": "Sites",
                "description": "Synthetic sites near Taroudant",
                "keywords": ["sites"],
                "links": [],
                "extents": {"spatial": {"bbox": [LON[0], LAT[0], LON[1], LAT[1]],
                                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                "providers": [{
                    "type": "feature",
                    "name": "PostgreSQL",
                    "data": {"host": str(cluster.datadir), "port": PG_PORT, "dbname": DBNAME,
                             "user": SUPERUSER, "search_path": ["public"]},
                    "id_field": "slug",
                    "table": "sites",
                    "geom_field": "geom",
                    "properties": served_properties(cluster),
                }],
            },
        },
    }


class Server:
    """One gunicorn process group that we started (and so may stop)."""

    def __init__(self, name: str, venv: Path, app: str, port: int, args, workdir: Path, env: dict | None = None,
                 asgi: bool = False):
        self.name, self.port = name, port
        self.log = workdir / f"{name}.log"
        self.cmd = [str(venv / "bin" / "gunicorn"), "-w", str(args.workers), "--threads", str(args.threads),
                    "-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning", app]
        if asgi:  # TiPg is an ASGI app: uvicorn, with as many worker processes as gunicorn has
            self.cmd = [str(venv / "bin" / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
                        "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                                         env={**os.environ, **(env or {})}, start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.base + path, timeout=10) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not come up; its log:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def fetch_bytes(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=120) as r:
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
        return body, r.headers.get("Content-Type", "")


def tipg_env(cluster: Cluster) -> dict:
    """Return TiPg's settings: our `sites` table alone, slugs as ids, over the cluster's socket."""
    # The socket's folder as the URL's host, percent-encoded: asyncpg reads it so, and pydantic lets it through.
    socket_dir = urllib.parse.quote(str(cluster.datadir), safe="")
    return {"DATABASE_URL": f"postgresql://{SUPERUSER}@{socket_dir}:{PG_PORT}/{DBNAME}",
            "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.sites"]',
            "TIPG_TABLE_CONFIG__public_sites__pk": "slug", "TIPG_TABLE_CONFIG__public_sites__geomcol": "geom",
            "TIPG_MAX_FEATURES_PER_QUERY": "10000", "TIPG_CATALOG_TTL": "3600", "TIPG_DEBUG": "FALSE"}


def fetch_json(url: str) -> tuple[dict, bytes]:
    with urllib.request.urlopen(url, timeout=120) as r:
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
    return json.loads(body), body


# The HTTP baseline: the same gunicorn serving our responses as fixed bytes, no app and no database.
STATIC_APP = """\
import json, os

BODIES = {path: open(file, "rb").read() for path, file in json.load(open(os.environ["HM_STATIC"])).items()}


def app(environ, start_response):
    query = environ.get("QUERY_STRING")
    body = BODIES.get(environ["PATH_INFO"] + ("?" + query if query else ""))
    if body is None:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    start_response("200 OK", [("Content-Type", "application/geo+json"), ("Content-Length", str(len(body)))])
    return [body]
"""


def static_server(cases: list[Case], bodies: dict[str, bytes], port: int, args, workdir: Path) -> Server:
    """Start the HTTP baseline serving `bodies` (path and query → our response) with our gunicorn settings."""
    files = {}
    for i, (path, body) in enumerate(bodies.items()):
        files[path] = str(workdir / f"static-{i}.json")
        Path(files[path]).write_bytes(body)
    (workdir / "static-bodies.json").write_text(json.dumps(files))
    (workdir / "hm_static.py").write_text(STATIC_APP)
    return Server("http-only", Path(sys.prefix), "hm_static:app", port, args, workdir,
                  {"HM_STATIC": str(workdir / "static-bodies.json")})


# --------------------------------------------------------------------------------------------------------------
# Load: wrk (or a small Python load generator), and pgbench for the floor

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def to_ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url: str, duration: float, connections: int, threads: int) -> dict:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
                          "--timeout", "60s", "--latency", url], capture_output=True, text=True)
    text = out.stdout
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr or text}")
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
           "requests": int(re.search(r"(\d+) requests in", text).group(1))}
    avg = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", text)
    res["avg_ms"] = to_ms(avg.group(1))
    for pct, value in re.findall(r"^\s+(50|99)%\s+(\S+)$", text, re.MULTILINE):
        if to_ms(value) > 0:  # wrk prints 0.00us when it recorded no latency (too few requests)
            res[f"p{pct}_ms"] = to_ms(value)
    if "p99_ms" not in res and res["requests"]:
        # Seen with few slow requests: wrk prints 0 for the top percentile. With n < 100 requests wrk's p99 is
        # the slowest request anyway, so take the max (marked * in the table).
        res["p99_ms"], res["p99_is_max"] = to_ms(avg.group(3)), True
    if "p50_ms" not in res:
        say(f"  WARNING: wrk gave no latency percentiles for {url}:\n{text}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    res["errors"] = int(bad.group(1)) if bad else 0
    # (gunicorn's sync workers close every connection after the response; wrk may count those as read errors,
    # so of its socket errors only timeouts count.)
    sock = re.search(r"Socket errors: connect \d+, read \d+, write \d+, timeout (\d+)", text)
    res["timeouts"] = int(sock.group(1)) if sock else 0
    return res


def python_load(url: str, duration: float, connections: int) -> dict:
    """A fallback closed-loop load generator: `connections` threads, each one request after another."""
    import http.client
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker():
        conn = None
        mine = []
        while time.monotonic() < stop_at:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                t = time.perf_counter()
                conn.request("GET", target)
                resp = conn.getresponse()
                resp.read()
                mine.append((time.perf_counter() - t) * 1e3)
                if resp.status != 200:
                    with lock:
                        errors[0] += 1
                if resp.will_close:
                    conn.close()
                    conn = None
            except OSError:
                with lock:
                    errors[0] += 1
                conn = None
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summarize(latencies, time.monotonic() - t0) | {"errors": errors[0], "timeouts": 0}


def summarize(latencies_ms: list[float], elapsed: float) -> dict:
    if not latencies_ms:
        return {"rps": 0.0, "requests": 0}
    xs = sorted(latencies_ms)

    def pct(p):
        return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]

    return {"rps": len(xs) / elapsed, "requests": len(xs), "avg_ms": statistics.fmean(xs),
            "p50_ms": pct(50), "p99_ms": pct(99)}


def combine(rounds: list[dict]) -> dict:
    """Merge load rounds: req/s over all of them, p50 weighted by requests, p99 the highest round's."""
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["requests"] / r["rps"] for r in rounds if r["rps"])
    out = {"rps": requests / seconds if seconds else 0.0, "requests": requests,
           "errors": sum(r["errors"] for r in rounds), "timeouts": sum(r["timeouts"] for r in rounds)}
    p50s = [(r["p50_ms"], r["requests"]) for r in rounds if "p50_ms" in r]
    if p50s:
        out["p50_ms"] = sum(v * n for v, n in p50s) / sum(n for _, n in p50s)
    p99s = [r for r in rounds if "p99_ms" in r]
    if p99s:
        top = max(p99s, key=lambda r: r["p99_ms"])
        out["p99_ms"], out["p99_is_max"] = top["p99_ms"], top.get("p99_is_max", False)
    return out


def load(url: str, args, duration: float, connections: int) -> dict:
    if args.python_load:
        return python_load(url, duration, connections)
    return wrk(url, duration, connections, min(connections, args.load_threads))


def alternate(targets: list[tuple[str, Server, str]], args, duration: float, connections: int) -> dict:
    """Load each (name, server, path) for `duration` seconds in total, in --rounds rounds that take turns, so
    that a slow spell of this shared machine hits all of them alike; return name -> combined figures."""
    rounds = {name: [] for name, _, _ in targets}
    for _ in range(args.rounds):
        for name, server, path in targets:
            rounds[name].append(load(server.base + path, args, duration / args.rounds, connections))
    return {name: combine(rs) | {"rounds": [r["rps"] for r in rs]} for name, rs in rounds.items()}


def pgbench(cluster: Cluster, statements: list[str], args, workdir: Path, name: str, clients: int,
            duration: float) -> dict:
    """Run `statements` as one pgbench transaction script with `clients` clients for `duration` seconds."""
    folder = workdir / f"pgbench-{name}"
    folder.mkdir()
    script = folder / "script.sql"
    script.write_text("".join(s.rstrip().rstrip(";") + ";\n" for s in statements), encoding="utf-8")
    kwargs = {}
    if os.geteuid() == 0:  # as the brief asks: the server's own account, not root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    # Prepared, as our app's statements are (psycopg prepares one that a connection runs five times):
    # over the simple protocol the floor would plan every statement anew, which ours does not.
    cmd = [args.pgbench, "-n", "-M", "prepared", "-h", str(cluster.datadir), "-p", str(PG_PORT), "-U", SUPERUSER,
           "-c", str(clients), "-j", str(min(clients, args.pgbench_jobs)),
           "-T", str(max(1, round(duration))), "-f", str(script), "-l", "--log-prefix", str(folder / "log"), DBNAME]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=folder, **kwargs)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed ({out.returncode}): {out.stderr[-2000:]}\nscript: {script}")
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout).group(1))
    latencies = []
    for log in folder.glob("log.*"):
        for line in log.read_text().splitlines():
            latencies.append(int(line.split()[2]) / 1e3)
    res = summarize(latencies, 1.0)
    res["rps"] = tps  # pgbench's own figure, without connection set-up
    res["avg_ms"] = float(re.search(r"latency average = ([\d.]+) ms", out.stdout).group(1))
    return res


# --------------------------------------------------------------------------------------------------------------
# Report


def ratio(a, b) -> float | None:
    return a / b if a and b else None


def fmt(x, digits=1) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{digits}f}" if x < 100 or digits == 0 else f"{x:,.0f}"
    return str(x)


def fmt_ratio(x) -> str:
    return "–" if x is None else (f"{x:.2f}×" if x < 10 else f"{x:.1f}×")


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def p99(res: dict) -> str:
    return fmt(res.get("p99_ms"), 2) + ("*" if res.get("p99_is_max") else "")


def report(cases: list[Case], settings: str) -> str:
    """Return the settings and three tables: under load, one client, and the ratios against the targets."""
    load_rows, single_rows, ratio_rows = [], [], []
    for c in cases:
        o, p, f, fp, h, o1, p1, f1, h1 = (c.results.get(k, {}) for k in (
            "ours", "pygeoapi", "floor", "plain", "http", "ours_1", "pygeoapi_1", "floor_1", "http_1"))
        load_rows.append([f"({c.key}) {c.title}", str(c.expect),
                          f"{c.results['bytes_ours']:,} / {c.results['bytes_pyg']:,}",
                          fmt(o.get("rps")), fmt(p.get("rps")), fmt(f.get("rps")), fmt(fp.get("rps")),
                          fmt(h.get("rps")), fmt(o.get("p50_ms"), 2), fmt(p.get("p50_ms"), 2),
                          fmt(f.get("p50_ms"), 2), p99(o), p99(p), p99(f)])
        overhead = ratio(o1.get("p50_ms"), f1.get("p50_ms"))  # the app's own cost per request
        own = None
        if o1.get("p50_ms") and f1.get("p50_ms") and h1.get("p50_ms"):
            own = o1["p50_ms"] - f1["p50_ms"] - h1["p50_ms"]  # what neither the database nor HTTP explains
        single_rows.append([f"({c.key}) {c.title}", fmt(o1.get("p50_ms"), 2), fmt(p1.get("p50_ms"), 2),
                            fmt(f1.get("p50_ms"), 2), fmt(h1.get("p50_ms"), 2), fmt(own, 2), p99(o1), p99(p1),
                            p99(f1), fmt(o1.get("rps")), fmt(p1.get("rps")), fmt(f1.get("rps")),
                            fmt_ratio(ratio(o1.get("p50_ms"), p1.get("p50_ms"))), fmt_ratio(overhead)])
        thr = ratio(o.get("rps"), p.get("rps"))
        target_thr = ("≥10×: " + ("met" if thr and thr >= 10 else "MISSED")) if c.key in "ab" else ""
        target_floor = "≤2×: " + ("met" if overhead and overhead <= 2 else "MISSED")
        ratio_rows.append([f"({c.key})", fmt_ratio(thr), fmt_ratio(ratio(f.get("rps"), p.get("rps"))),
                           fmt_ratio(ratio(o.get("p50_ms"), p.get("p50_ms"))),
                           fmt_ratio(ratio(o.get("p99_ms"), p.get("p99_ms"))),
                           fmt_ratio(ratio(o.get("p50_ms"), f.get("p50_ms"))),
                           fmt_ratio(ratio(o.get("p99_ms"), f.get("p99_ms"))),
                           fmt_ratio(ratio(o.get("p50_ms"), fp.get("p50_ms"))), fmt_ratio(overhead),
                           target_thr, target_floor])
    t1 = markdown_table(
        ["case", "features", "bytes ours / pygeoapi", "req/s ours", "req/s pygeoapi", "tps floor", "tps plain",
         "req/s http only", "p50 ms ours", "p50 ms pygeoapi", "p50 ms floor", "p99 ms ours", "p99 ms pygeoapi",
         "p99 ms floor"], load_rows)
    t2 = markdown_table(
        ["case (one client)", "p50 ms ours", "p50 ms pygeoapi", "p50 ms floor", "p50 ms http only",
         "ours − floor − http", "p99 ms ours", "p99 ms pygeoapi", "p99 ms floor", "req/s ours", "req/s pygeoapi",
         "tps floor", "p50 ours÷pygeoapi", "app overhead: p50 ours÷floor"], single_rows)
    t3 = markdown_table(
        ["case", "throughput ours÷pygeoapi", "ceiling: floor tps÷pygeoapi", "p50 ours÷pygeoapi",
         "p99 ours÷pygeoapi", "p50 ours÷floor", "p99 ours÷floor", "p50 ours÷plain",
         "app overhead at one client", "target vs pygeoapi (load)", "target vs floor (one client)"], ratio_rows)
    return (f"{settings}\n\n### Under load\n\n{t1}\n\n### One client\n\n{t2}\n\n"
            f"### Ratios and targets\n\n{t3}\n")


def targets_of(c: Case, thr_tipg, thr_pyg, p50_ours, p50_tipg) -> list[str]:
    """Return the issue's targets for case `c`, each said met or MISSED."""
    verdict = lambda ok: "met" if ok else "MISSED"
    out = []
    if c.tile and c.server == "ours":
        out.append(f"≥10× TiPg: {verdict(thr_tipg and thr_tipg >= 10)}")
    else:
        out.append(f"≥2× TiPg: {verdict(thr_tipg and thr_tipg >= 2)}")
    if c.key in "ab" and not c.tile:
        out.append(f"≥10× pygeoapi: {verdict(thr_pyg and thr_pyg >= 10)}")
    out.append(f"p50 < TiPg: {verdict(p50_ours and p50_tipg and p50_ours < p50_tipg)}")
    if c.tile and c.server == "ours-cold" and c.key[1:-1] in ("12", "15"):
        out.append(f"≤ 20 ms: {verdict(p50_ours and p50_ours <= 20)}")
    return out


def report_tipg(cases: list[Case]) -> str:
    """Return the three-way table: throughput under load and median latency at one client, ours against TiPg."""
    rows = []
    for c in cases:
        r = c.results
        o, t, p, o1, t1, p1, f1, h1 = (r.get(k, {}) for k in (
            "ours", "tipg", "pygeoapi", "ours_1", "tipg_1", "pygeoapi_1", "floor_1", "http_1"))
        thr_tipg, thr_pyg = ratio(o.get("rps"), t.get("rps")), ratio(o.get("rps"), p.get("rps"))
        own = None
        if o1.get("p50_ms") and f1.get("p50_ms") and h1.get("p50_ms"):
            own = o1["p50_ms"] - f1["p50_ms"] - h1["p50_ms"]
        size = f"{r.get('bytes_ours', 0):,} / {r.get('bytes_tipg', 0):,}"
        rows.append([f"({c.key}) {c.title}", size, fmt(o.get("rps")), fmt(t.get("rps")), fmt(p.get("rps")),
                     fmt_ratio(thr_tipg), fmt_ratio(thr_pyg), fmt(o1.get("p50_ms"), 2), fmt(t1.get("p50_ms"), 2),
                     fmt(p1.get("p50_ms"), 2), fmt(f1.get("p50_ms"), 2), fmt(h1.get("p50_ms"), 2), fmt(own, 2),
                     fmt_ratio(ratio(o1.get("p50_ms"), t1.get("p50_ms"))),
                     "; ".join(targets_of(c, thr_tipg, thr_pyg, o1.get("p50_ms"), t1.get("p50_ms")))])
    table = markdown_table(
        ["case", "bytes ours / TiPg", "req/s ours", "req/s TiPg", "req/s pygeoapi", "ours÷TiPg", "ours÷pygeoapi",
         "p50 ms ours (1 client)", "p50 ms TiPg", "p50 ms pygeoapi", "p50 ms floor", "p50 ms http only",
         "ours − floor − http", "p50 ours÷TiPg", "targets"], rows)
    return ("### Three-way: ours, TiPg, pygeoapi\n\nThroughput under load (req/s and ratios); latency at one "
            "client (p50). Cold tiles: our server with HERITAGE_MAP_TILE_CACHE_MB=0; warm: the usual cache. TiPg "
            "keeps no tiles (each is made anew, cold or warm) and pygeoapi serves no tiles from PostgreSQL.\n\n"
            f"{table}\n")


# --------------------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--polygons", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=10,
                    help="seconds of load per case and server, for each client count (default 10)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="split --duration into this many rounds, alternating ours and pygeoapi (default 2)")
    ap.add_argument("--warmup", type=float, default=2, help="seconds of untimed load first (default 2)")
    ap.add_argument("--connections", type=int, default=8,
                    help="wrk -c and pgbench -c under load (default 8); the one-client runs use 1")
    ap.add_argument("--load-threads", type=int, default=1,
                    help="wrk -t (default 1: one wrk thread drives 8 connections easily, and wrk's latency "
                         "percentiles can come out as 0 when several threads race)")
    ap.add_argument("--pgbench-jobs", type=int, default=2, help="pgbench -j under load (default 2)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn -w for both servers (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="gunicorn --threads for both servers (default 1)")
    ap.add_argument("--cases", default="abcdef", help="which items cases to run (default abcdef)")
    ap.add_argument("--tiles", default="8,12,15",
                    help="the zooms of the tile cases, each cold and warm (default 8,12,15; '' for none)")
    ap.add_argument("--tipg-venv", default="/tmp/venv-tipg")
    ap.add_argument("--no-pygeoapi", action="store_true", help="leave pygeoapi out (TiPg and ours only)")
    ap.add_argument("--datadir", default="/tmp/hm-bench", help="the bench cluster's folder (default /tmp/hm-bench)")
    ap.add_argument("--pygeoapi-venv", default="/tmp/venv-pygeoapi")
    ap.add_argument("--pgbench", default=shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)), None))
    ap.add_argument("--ports", default="18081,18082,18083,18084,18085",
                    help="ours,pygeoapi,the HTTP baseline,TiPg,ours without tile cache on 127.0.0.1 "
                         "(default 18081,18082,18083,18084,18085)")
    ap.add_argument("--python-load", action="store_true", help="use the Python load generator instead of wrk")
    ap.add_argument("--regenerate", action="store_true", help="make the synthetic rows anew even if present")
    ap.add_argument("--show-sql", action="store_true", help="print the SQL captured for each case")
    ap.add_argument("--clean", action="store_true", help="stop the cluster and delete its data folder at the end")
    args = ap.parse_args()
    args.pgbench = str(args.pgbench) if args.pgbench else None

    t_start = time.monotonic()
    load_at_start = os.getloadavg()[0]
    ensure_tools(args)
    workdir = Path(tempfile.mkdtemp(prefix="hm-bench-run-"))
    os.chmod(workdir, 0o755)  # pgbench runs as postgres when we are root
    servers: list[Server] = []
    cluster = Cluster(args.datadir)
    we_started_it = not cluster.running()  # a cluster that someone else runs is theirs to stop
    try:
        url, revision = prepare_database(cluster, args)
        cases = make_cases(args, served_properties(cluster))
        say("capturing the SQL our app runs for each case (log_statement = 'all', one request each)")
        capture(cluster, url, cases)
        if args.show_sql:
            for c in cases:
                print(f"--- ({c.key}) {c.ours}\n" + ";\n".join(c.sql) + ";\n")

        ours_port, pyg_port, static_port, tipg_port, cold_port = (free_port(int(p)) for p in args.ports.split(","))
        pyg_venv = Path(args.pygeoapi_venv)
        ours_env = {"DATABASE_URL": url, "HERITAGE_MAP_AUTO_SETUP": "0", "SECRET_KEY": BENCH_SECRET}
        # Our production entry point, configured from the environment as a deployment would be.
        ours = Server("ours", Path(sys.prefix), "heritage_map.wsgi:app", ours_port, args, workdir, ours_env)
        servers.append(ours)
        # The same app keeping no tile: every tile made anew, as on a first visit (the "cold" tile cases).
        cold = Server("ours-cold", Path(sys.prefix), "heritage_map.wsgi:app", cold_port, args, workdir,
                      ours_env | {"HERITAGE_MAP_TILE_CACHE_MB": "0"})
        servers.append(cold)
        tipg = Server("tipg", Path(args.tipg_venv), "tipg.main:app", tipg_port, args, workdir, tipg_env(cluster),
                      asgi=True)
        servers.append(tipg)
        pyg = None
        if not args.no_pygeoapi:
            config = workdir / "pygeoapi-config.yml"
            config.write_text(json.dumps(pygeoapi_config(cluster, pyg_port), indent=1))
            openapi = workdir / "pygeoapi-openapi.yml"
            run([str(pyg_venv / "bin" / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
                 str(openapi)], env={**os.environ, "PYGEOAPI_CONFIG": str(config)}, capture_output=True)
            pyg = Server("pygeoapi", pyg_venv, "pygeoapi.flask_app:APP", pyg_port, args, workdir,
                         {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)})
            servers.append(pyg)
            pyg.wait_ready(f"{PYG_ITEMS}?limit=1")
        ours.wait_ready(f"{OURS_ITEMS}?limit=1")
        cold.wait_ready(f"{OURS_ITEMS}?limit=1")
        tipg.wait_ready(f"{TIPG_COLLECTION}/items?limit=1")
        by_name = {"ours": ours, "ours-cold": cold}

        tool = "Python load generator" if args.python_load else "wrk"
        venv = Path(sys.prefix)
        settings = (
            f"- data: {args.points:,} points + {args.polygons:,} polygons in `sites` (all published heritage, "
            f"setseed({SEED})), schema at migration {revision}\n"
            f"- ours: {app_fingerprint()}\n"
            f"- servers: gunicorn {package_version(venv, 'gunicorn')} -w {args.workers} --threads "
            f"{args.threads} (sync workers{'' if args.threads == 1 else ' → gthread'}) for both, 127.0.0.1; "
            f"ours = heritage_map (Flask {package_version(venv, 'flask')}, SQLAlchemy "
            f"{package_version(venv, 'sqlalchemy')}, psycopg 3), pygeoapi "
            f"{package_version(pyg_venv, 'pygeoapi')} (PostgreSQL provider, psycopg2); TiPg "
            f"{package_version(Path(args.tipg_venv), 'tipg')} under uvicorn {package_version(Path(args.tipg_venv), 'uvicorn')} "
            f"--workers {args.workers} (asyncpg; keeps its connections alive, where gunicorn's sync workers close "
            f"each)\n"
            f"- under load: {tool} {min(args.load_threads, args.connections)} thread(s), {args.connections} "
            f"connections, {args.duration:g} s per case and server in {args.rounds} alternating rounds, after "
            f"{args.warmup:g} s warm-up; floor: pgbench -c {args.connections} -j "
            f"{min(args.connections, args.pgbench_jobs)} -T {round(args.duration)} over the Unix socket\n"
            f"- one client: {tool} 1 thread, 1 connection, {args.duration:g} s per case and server in "
            f"{args.rounds} alternating rounds (right after the loaded runs, so warm); floor: pgbench -c 1 -j 1 "
            f"-T {round(args.duration)}\n"
            f"- machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
            f"{load_at_start:.2f} before the run (shared and noisy: compare ratios within one run only)")

        say("checking that the servers return the same features for each case")
        bodies: dict[str, bytes] = {}
        for c in cases:
            if c.tile:
                body_o, type_o = fetch_bytes(by_name[c.server].base + c.ours)
                body_t, type_t = fetch_bytes(tipg.base + c.tipg)
                bodies[c.ours] = body_o
                c.results["bytes_ours"], c.results["bytes_tipg"] = len(body_o), len(body_t)
                if not (body_o and body_t and "mapbox-vector-tile" in type_o + type_t):
                    raise SystemExit(f"case ({c.key}): no tile ({type_o} {len(body_o)} B, {type_t} {len(body_t)} B)")
                say(f"  ({c.key}) {c.title}: ours {len(body_o):,} B, TiPg {len(body_t):,} B")
                continue
            doc_o, body_o = fetch_json(ours.base + c.ours)
            doc_t, body_t = fetch_json(tipg.base + c.tipg)
            bodies[c.ours] = body_o
            ids = {"ours": feature_ids(doc_o), "TiPg": feature_ids(doc_t)}
            c.results["bytes_ours"], c.results["bytes_tipg"] = len(body_o), len(body_t)
            if pyg is not None:
                try:
                    doc_p, body_p = fetch_json(pyg.base + c.pyg)
                    ids["pygeoapi"] = feature_ids(doc_p)
                    c.results["bytes_pyg"] = len(body_p)
                except (OSError, RuntimeError, KeyError) as exc:  # e.g. a filter it does not take
                    say(f"  ({c.key}) pygeoapi left out of this case: {exc}")
                    c.pyg = ""
            c.expect = len(ids["ours"])
            for name, got in ids.items():
                if got != ids["ours"]:
                    first = next((x, y) for x, y in zip(ids["ours"] + [""], got + [""]) if x != y)
                    raise SystemExit(f"case ({c.key}): ours returns {len(ids['ours'])} features, {name} "
                                     f"{len(got)}; the first differing ids: {first}")
            say(f"  ({c.key}) {c.title}: {c.expect} features from {', '.join(ids)} (same ids, same order); "
                + ", ".join(f"{k.removeprefix('bytes_')} {v:,} B" for k, v in c.results.items()
                            if k.startswith("bytes_")))
            if c.expect == 0:
                raise SystemExit(f"case ({c.key}) matches no feature: the comparison would mean nothing")

        static = static_server(cases, bodies, static_port, args, workdir)
        servers.append(static)
        static.wait_ready(cases[0].ours)

        for c in cases:
            targets = [("ours", by_name[c.server], c.ours), ("tipg", tipg, c.tipg)]
            if pyg is not None and c.pyg:
                targets.append(("pygeoapi", pyg, c.pyg))
            targets.append(("http", static, c.ours))
            if args.warmup:
                for _, server, path in targets:
                    load(server.base + path, args, args.warmup, args.connections)
            for clients, suffix in ((args.connections, ""), (1, "_1")):
                for name, res in alternate(targets, args, args.duration, clients).items():
                    c.results[name + suffix] = res
                    say(f"  ({c.key}) {name:8} c={clients}: {res['rps']:8.1f} req/s  p50 {res.get('p50_ms', 0):8.2f} "
                        f"ms  p99 {res.get('p99_ms', 0):8.2f} ms  ({res['requests']} requests, {res['errors']} "
                        f"non-200, {res['timeouts']} timeouts; rounds: "
                        f"{', '.join(f'{r:.0f}' for r in res['rounds'])} req/s)")
                    if res["errors"] or res["timeouts"]:
                        log = {"ours": by_name[c.server], "pygeoapi": pyg, "http": static, "tipg": tipg}[name].log
                        say(f"  WARNING: ({c.key}) {name} had errors; its log: {log}")
                floors = [("floor", c.sql)] + ([("plain", plain_sql(c.sql))] if clients > 1 else [])
                for name, statements in floors:
                    res = c.results[name + suffix] = pgbench(cluster, statements, args, workdir,
                                                             f"{c.key}-{name}-c{clients}", clients, args.duration)
                    say(f"  ({c.key}) {name:8} c={clients}: {res['rps']:8.1f} tps    p50 {res['p50_ms']:8.2f} ms  "
                        f"p99 {res['p99_ms']:8.2f} ms  avg {res['avg_ms']:.2f} ms  ({len(statements)} statements)")

        print()
        print("## Results\n")
        print(report([c for c in cases if "pygeoapi" in c.results], settings))
        print(report_tipg(cases))
        if any(r.get("p99_is_max") for c in cases for r in c.results.values() if isinstance(r, dict)):
            print("* wrk printed no p99 (too few, slow requests): the slowest request is shown instead.")
        print("floor = pgbench replaying exactly the statements our app sent for the request (captured with "
              "log_statement = 'all'), as prepared statements like ours; plain = only its SELECTs. http only = "
              "the same gunicorn serving our response for the case as fixed bytes (no app, no database): the "
              "cost of HTTP itself. The ≤ 2× floor target is judged at one client (the app's own cost per "
              "request); throughput against pygeoapi under load.")
        print(f"\nrun took {time.monotonic() - t_start:.0f} s; load average at the end "
              f"{os.getloadavg()[0]:.2f}; command: {' '.join([sys.executable, *sys.argv])}")
        return 0
    finally:
        for s in servers:
            s.stop()
        if we_started_it or args.clean:
            say("stopping the bench cluster")
            cluster.stop()
        else:
            say(f"leaving the bench cluster running: it was running before this run ({cluster.datadir})")
        if args.clean:
            shutil.rmtree(cluster.datadir, ignore_errors=True)
            say(f"removed {cluster.datadir}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
