#!/usr/bin/env python3
"""Soak test: mixed traffic for a while against gunicorn on loopback; errors, p99, memory slope, connections.

Run it on demand with our venv's Python (never in the tests):

    .venv/bin/python benchmarks/soak.py --duration 600          # the full run: 10 minutes
    .venv/bin/python benchmarks/soak.py --duration 150          # a short one on a shared machine

It starts its own embedded PostgreSQL cluster (a temporary folder), migrates and seeds it, serves the app
with gunicorn on 127.0.0.1, and has client threads replay a mix of map pages, record pages, the GeoJSON API,
OGC items (pages, bbox, CQL2 filters, a feature), vector tiles, spatial questions, searches and signed-in
edits (each client signs in as an editor the script makes and saves a draft project of its own again and
again, with the CSRF token and version its form gives), as fast as they are answered. Every 5 s it samples each worker's resident memory and PostgreSQL's client connections. It prints
the figures and exits 1 if any request failed (a 5xx, a connection error or an unexpected status) or the
connections went past what the workers' pools allow. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
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
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

try:
    import psycopg
    from sqlalchemy import make_url, select
    from sqlalchemy.orm import Session

    from heritage_map.accounts.models import Membership, User
    from heritage_map.accounts.passwords import hash_password
    from heritage_map.catalogue.models import Association
    from heritage_map.config import GEODATA_DIR
    from heritage_map.db import make_engine, set_up
    from heritage_map.devdb.cluster import Cluster
except ImportError as exc:  # pragma: no cover - a usage error, said plainly
    sys.exit(f"benchmarks/soak.py needs the heritage_map package: run it with our venv's Python ({exc})")

DBNAME = "heritage_map_soak"
# SQLAlchemy's default QueuePool: 5 kept plus 10 overflow per process; our engine does not change them.
POOL_PER_WORKER = 15
SQUARE = {"type": "Polygon", "coordinates": [[[-8.880, 30.468], [-8.874, 30.468], [-8.874, 30.474],
                                              [-8.880, 30.474], [-8.880, 30.468]]]}
ITEMS = "/ogc/collections/heritage-sites/items"
EDITOR = ("soak-editor@example.org", secrets.token_urlsafe(16))  # the account the edits are signed in with
ASSOCIATION = "taroudant-bladna"  # a seeded association, which the editor edits for
TOKEN = re.compile(r'name="csrf_token"[^>]*? value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*? value="(\d+)"')
# (kind, weight, method, path, body): weights make a map-heavy mix, as a town portal's visitors would.
MIX = [
    ("map page", 6, "GET", "/", None),
    ("index page", 4, "GET", "/sites", None),
    ("record page", 6, "GET", "/sites/bab-el-kasbah", None),
    ("record page", 2, "GET", "/projects", None),
    ("api layer", 8, "GET", "/api/sites", None),
    ("api layer", 3, "GET", "/api/projects", None),
    ("ogc items", 6, "GET", f"{ITEMS}?limit=100", None),
    ("ogc items", 4, "GET", f"{ITEMS}?bbox=-8.90,30.46,-8.86,30.48&limit=50", None),
    ("ogc items", 3, "GET", f"{ITEMS}?filter=CASEI(name_fr)%20LIKE%20CASEI('bab%25')", None),
    ("ogc items", 2, "GET", f"{ITEMS}?category=gate&sortby=-updated_at", None),
    ("ogc item", 3, "GET", f"{ITEMS}/bab-el-kasbah", None),
    ("tile", 10, "GET", "/ogc/collections/heritage-sites/tiles/WebMercatorQuad/{z}/{y}/{x}", None),
    ("question", 2, "POST", "/api/screening", json.dumps(SQUARE)),
    ("question", 2, "GET", "/api/near?lon=-8.877&lat=30.47&radius=500", None),
    ("question", 1, "POST", "/api/summary", json.dumps(SQUARE)),
    ("search", 3, "GET", "/api/search?q=bab", None),
    ("search", 1, "GET", "/api/search?q=kasbah&layer=sites&limit=5", None),
    ("search", 1, "GET", "/api/search?q=%D8%A8%D8%A7%D8%A8", None),  # "باب", gate, in Arabic
    ("edit", 2, "EDIT", "", None),  # the form read for its token and version, then saved (two requests)
]
TILES = [(z, *tile) for z, tiles in {12: [(1688, 1946)], 14: [(6755, 7787), (6755, 7786), (6754, 7787)],
                                     16: [(27022, 31148)]}.items() for tile in tiles]


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workers_of(master: int) -> list[int]:
    """Return the pids of gunicorn's workers (the master's children)."""
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def make_editor(url: str) -> int:
    """Add the editor account (an approved editor of ASSOCIATION) to the soak database; return the association's id."""
    engine = make_engine(url)
    with Session(engine) as s:
        association = s.scalar(select(Association).where(Association.slug == ASSOCIATION))
        user = User(email=EDITOR[0], display_name="Soak editor", role="member", active=True,
                    password_hash=hash_password(EDITOR[1]))
        s.add(user)
        s.flush()
        s.add(Membership(user_id=user.id, association_id=association.id, role="editor", state="approved"))
        s.commit()
        association_id = association.id
    engine.dispose()
    return association_id


class Browser:
    """One keep-alive connection with the cookies a browser keeps (the signed-in session)."""

    # gunicorn closes a keep-alive connection idle for 2 s (its --keep-alive); a browser then opens a new one.
    IDLE = 1.5

    def __init__(self, port: int):
        self.port, self.cookies, self.used = port, {}, time.monotonic()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(self, method: str, path: str, body: str | None = None, content_type: str | None = None):
        """Return (status, headers, text) of one request; cookies set by the answer are kept."""
        headers = {"Content-Type": content_type} if content_type else {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if time.monotonic() - self.used > self.IDLE:
            self.conn.close()  # reconnects on the request
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise
        finally:
            self.used = time.monotonic()
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return response.status, response.msg, text.decode("utf-8", "replace")

    def form(self, path: str, fields: dict, version: bool = False):
        """Read the form at `path` for its CSRF token (and version), post `fields` with them; return the answer."""
        status, headers, page = self.send("GET", path)
        token, read = TOKEN.search(page), VERSION.search(page)
        if status != 200 or not token or (version and not read):
            return status, headers, f"GET {path}: HTTP {status}, no CSRF token or version"
        fields = {**fields, "csrf_token": token.group(1), **({"version": read.group(1)} if version else {})}
        return self.send("POST", path, urlencode(fields, doseq=True), "application/x-www-form-urlencoded")


class Editor:
    """A signed-in editor saving a draft project of its own, again and again, each time as its form now says."""

    def __init__(self, browser: Browser, association_id: int, number: int):
        self.browser, self.association_id, self.number = browser, association_id, number
        self.slug: str | None = None
        self.saves = 0

    def fields(self) -> dict:
        return {"title_en": f"Soak garden {self.number}", "description_en": f"Save number {self.saves}.",
                "status": "proposed", "themes": ["heritage"], "sources": "Soak test", "then": "save",
                "geometry": json.dumps(SQUARE), "association": str(self.association_id), "slug": self.slug or ""}

    def start(self) -> str | None:
        """Sign in and make the draft; return what went wrong, or None."""
        status, _headers, _body = self.browser.form("/sign-in", {"email": EDITOR[0], "password": EDITOR[1]})
        if status != 302:
            return f"sign-in: HTTP {status}"
        status, headers, _body = self.browser.form("/edit/projects/new", self.fields())
        if status != 302:
            return f"POST /edit/projects/new: HTTP {status}"
        self.slug = headers["Location"].rstrip("/").rsplit("/", 1)[-1]  # the new project's form
        return None

    def save(self) -> str | None:
        """Read the project's form (token, version) and save it changed; return what went wrong, or None."""
        self.saves += 1
        path = f"/edit/projects/{self.slug}"
        status, _headers, body = self.browser.form(path, self.fields(), version=True)
        return None if status == 302 else f"POST {path}: HTTP {status} {body[:200]}"


class Load:
    """Client threads, each on one keep-alive connection (and one more for its editor), replaying the mix."""

    def __init__(self, port: int, clients: int, seed: int, association_id: int):
        self.port, self.stop, self.association_id = port, threading.Event(), association_id
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self.client, args=(random.Random(seed + i), i), daemon=True)
                        for i in range(clients)]
        self.weights = [m[1] for m in MIX]
        self.editors = [Editor(Browser(port), association_id, i) for i in range(clients)]

    def prepare(self) -> None:
        """Sign each client's editor in and make its draft, before the traffic (an Argon2 hash a sign-in)."""
        for editor in self.editors:
            problem = editor.start()
            if problem:
                raise SystemExit(f"the editor could not start: {problem}")

    def client(self, rng: random.Random, number: int) -> None:
        visitor = Browser(self.port)
        editor = self.editors[number]  # signed in, on a connection of its own
        while not self.stop.is_set():
            kind, _w, method, path, body = rng.choices(MIX, self.weights)[0]
            if "{z}" in path:
                z, x, y = rng.choice(TILES)
                path = path.format(z=z, x=x, y=y)
            started = time.perf_counter()
            try:
                if method == "EDIT":
                    error = editor.save()
                else:
                    status = visitor.send(method, path, body, "application/json" if body else None)[0]
                    error = None if status in (200, 204) else f"{method} {path}: HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                error = f"{method} {path}: {type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with self.lock:
                if error:
                    self.errors.append(error)
                else:
                    self.latency[kind].append(elapsed)
        visitor.conn.close()
        editor.browser.conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2: one per core here)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--sample", type=float, default=5, help="seconds between memory samples (default 5)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster folder for a look after")
    args = parser.parse_args()

    gunicorn = Path(sys.executable).with_name("gunicorn")
    if not gunicorn.exists():
        sys.exit(f"no gunicorn beside {sys.executable}: pip install '.[server]'")
    work = Path(tempfile.mkdtemp(prefix="heritage-map-soak-"))
    os.chmod(work, 0o755)  # as root, the cluster runs as postgres, which must enter the folder
    cluster = Cluster(work / "pgdata")
    server = None
    try:
        say(f"starting a PostgreSQL cluster in {work / 'pgdata'}")
        url = cluster.ensure_database(DBNAME)
        engine = make_engine(url)
        set_up(engine, GEODATA_DIR)
        engine.dispose()
        association_id = make_editor(url)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
               "HERITAGE_MAP_AUTO_SETUP": "0", "HERITAGE_MAP_TILE_URL": "none",
               "HERITAGE_MAP_UPLOADS_DIR": str(work / "uploads"),
               # One address asks everything: the limits would refuse it by design, so they are off here.
               **{f"HERITAGE_MAP_RATE_LIMIT_{b}": "0" for b in ("QUESTIONS", "EXPORTS", "UPLOADS", "SIGN_IN")}}
        log = open(work / "gunicorn.log", "w")
        server = subprocess.Popen([str(gunicorn), "-w", str(args.workers), "--threads", str(args.threads),
                                   "-b", f"127.0.0.1:{port}", "--log-level", "warning", "heritage_map.wsgi:app"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", "/api/sites?limit=1")
                if c.getresponse().status == 200 and len(workers_of(server.pid)) == args.workers:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"gunicorn did not come up: {(work / 'gunicorn.log').read_text()[-2000:]}")
            time.sleep(0.5)
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        watcher = psycopg.connect(plain, autocommit=True)
        load = Load(port, args.clients, seed=13, association_id=association_id)
        load.prepare()
        say(f"traffic for {args.duration:.0f} s: {args.clients} clients, gunicorn {args.workers} workers x "
            f"{args.threads} threads on port {port}")
        started = time.monotonic()
        for t in load.threads:
            t.start()
        memory: dict[int, list[tuple[float, float]]] = defaultdict(list)
        connections: list[int] = []
        while time.monotonic() - started < args.duration:
            time.sleep(args.sample)
            now = time.monotonic() - started
            for pid in workers_of(server.pid):
                mb = rss_mb(pid)
                if mb is not None:
                    memory[pid].append((now, mb))
            connections.append(watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()").fetchone()[0])
        load.stop.set()
        for t in load.threads:
            t.join(60)
        elapsed = time.monotonic() - started
        # Each save that answered 302 is one more version of its draft, and one recorded revision.
        saved, revised = watcher.execute(
            "SELECT sum(p.version - 1), (SELECT count(*) FROM revisions r WHERE r.table_name = 'projects' "
            "AND r.operation = 'update' AND r.record_id = ANY(array_agg(p.id))) FROM projects p "
            "WHERE p.title_en LIKE 'Soak garden %'").fetchone()
        watcher.close()

        every = [v for values in load.latency.values() for v in values]
        print()
        print(f"requests: {len(every) + len(load.errors)} in {elapsed:.0f} s ({len(every) / elapsed:.0f}/s), "
              f"errors: {len(load.errors)}")
        for message in sorted(set(load.errors))[:10]:
            print(f"  error: {message} (x{load.errors.count(message)})")
        print(f"latency all: p50 {percentile(every, .5) * 1000:.1f} ms, p99 {percentile(every, .99) * 1000:.1f} ms, "
              f"max {max(every, default=0) * 1000:.0f} ms")
        for kind in sorted(load.latency):
            values = load.latency[kind]
            print(f"  {kind:12} n={len(values):6}  p50 {percentile(values, .5) * 1000:7.1f} ms  "
                  f"p99 {percentile(values, .99) * 1000:7.1f} ms")
        for pid, points in sorted(memory.items()):
            warm = [p for p in points if p[0] >= elapsed * 0.2]  # after the first fifth: caches filled
            print(f"worker {pid}: RSS {points[0][1]:.0f} -> {points[-1][1]:.0f} MB, slope after warm-up "
                  f"{slope(warm):+.2f} MB/min over {len(warm)} samples")
        edits = len(load.latency["edit"])
        print(f"signed-in edits: {edits} saves answered 302; the drafts' versions went up by {saved}, with "
              f"{revised} revisions recorded")
        bound = args.workers * POOL_PER_WORKER
        print(f"PostgreSQL client connections: max {max(connections, default=0)}, last "
              f"{connections[-1] if connections else 0} (the pools allow {bound}: {args.workers} x {POOL_PER_WORKER})")
        ok = not load.errors and max(connections, default=0) <= bound and edits == saved == revised
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if cluster.initialized() and cluster.running():
            cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
