"""The most a Flask app under our gunicorn settings serves when each request reads one row: case (d)'s ceiling.

Starts, on the bench table of run.py (run it once first), three servers with gunicorn -w 2 sync workers:
- `wsgi`: a bare WSGI function that reads the feature with one psycopg query (no Flask, no pool, no ORM);
- `flask`: the same in a bare Flask app;
- `ours`: heritage_map, GET /ogc/collections/heritage-sites/items/<id>;
and loads each with wrk (1 thread, 8 connections) in alternating rounds. What the bare servers reach is what
no app of theirs can pass: set against TiPg's (d) from run.py, it says whether 2× TiPg is within reach.

    .venv/bin/python benchmarks/ceiling.py [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heritage_map.devdb.cluster import PORT, SUPERUSER, Cluster  # noqa: E402

DBNAME = "heritage_map_bench"
FEATURE = "bench-055000"
QUERY = ("SELECT geojson_properties::text FROM sites WHERE slug = %s AND publication_status = 'published' "
         "AND kind = 'heritage'")

BARE = """\
import os, psycopg
conn = None

def app(environ, start_response):
    global conn
    if conn is None:  # one connection per worker process, opened after the fork
        conn = psycopg.connect(host=os.environ["HM_HOST"], port=int(os.environ["HM_PORT"]), user=os.environ["HM_USER"],
                               dbname=os.environ["HM_DB"], autocommit=True)
    row = conn.execute(os.environ["HM_QUERY"], [environ["PATH_INFO"].rsplit("/", 1)[1]], prepare=True).fetchone()
    body = row[0].encode()
    start_response("200 OK", [("Content-Type", "application/geo+json"), ("Content-Length", str(len(body)))])
    return [body]
"""

FLASK = """\
import os, psycopg
from flask import Flask, Response
app = Flask(__name__)
conn = None

@app.get("/items/<slug>")
def item(slug):
    global conn
    if conn is None:
        conn = psycopg.connect(host=os.environ["HM_HOST"], port=int(os.environ["HM_PORT"]), user=os.environ["HM_USER"],
                               dbname=os.environ["HM_DB"], autocommit=True)
    row = conn.execute(os.environ["HM_QUERY"], [slug], prepare=True).fetchone()
    return Response(row[0], mimetype="application/geo+json")
"""


def start(name: str, app: str, port: int, workdir: Path, env: dict) -> subprocess.Popen:
    """Start gunicorn -w 2 (sync) serving `app` on `port`; wait until it answers."""
    proc = subprocess.Popen([str(Path(sys.prefix) / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", app], cwd=workdir, env=os.environ | env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return proc  # it answers (404 at /)
        except OSError:
            time.sleep(0.1)
            continue
        return proc
    raise SystemExit(f"{name} did not start: {proc.stderr.read().decode()[-2000:]}")


def wrk(url: str, duration: int) -> float:
    """Return wrk's requests per second at 8 connections."""
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{duration}s", url], capture_output=True, text=True,
                         check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} answers were not 200")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datadir", default="/tmp/hm-bench", help="run.py's bench cluster (default /tmp/hm-bench)")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cluster = Cluster(args.datadir)
    cluster.start()
    env = {"HM_HOST": str(cluster.datadir), "HM_PORT": str(PORT), "HM_USER": SUPERUSER, "HM_DB": DBNAME,
           "HM_QUERY": QUERY, "DATABASE_URL": cluster.url(DBNAME), "SECRET_KEY": "ceiling",
           "HERITAGE_MAP_AUTO_SETUP": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "hm_bare.py").write_text(BARE)
        (work / "hm_flask.py").write_text(FLASK)
        servers = {"wsgi": ("hm_bare:app", 8601, f"/items/{FEATURE}"),
                   "flask": ("hm_flask:app", 8602, f"/items/{FEATURE}"),
                   "ours": ("heritage_map.wsgi:app", 8603, f"/ogc/collections/heritage-sites/items/{FEATURE}")}
        procs = [start(name, app, port, work, env) for name, (app, port, _) in servers.items()]
        try:
            results = {name: [] for name in servers}
            for name, (_, port, path) in servers.items():
                wrk(f"http://127.0.0.1:{port}{path}", 1)  # warm-up
            for _ in range(args.rounds):
                for name, (_, port, path) in servers.items():
                    results[name].append(wrk(f"http://127.0.0.1:{port}{path}", args.duration))
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(10)
    load = os.getloadavg()[0]
    print(f"one item under load (wrk -t1 -c8, {args.rounds} rounds of {args.duration} s; load average {load:.2f}):")
    for name, values in results.items():
        print(f"  {name:6} {sorted(values)[len(values) // 2]:8.0f} req/s  (rounds: {', '.join(f'{v:.0f}' for v in values)})")


if __name__ == "__main__":
    main()
