#!/usr/bin/env python3
"""Benchmark the map page at scale in headless Chromium: time to interactive, page and data sizes, frame times.

Run it with the Python of a venv that has heritage_map (and its test extra: Playwright) installed, e.g.

    .venv/bin/python benchmarks/map.py                  # 100,000 points + 10,000 polygons, 3 loads

It fills the benchmark database of run.py (a separate embedded cluster in /tmp/hm-bench, rows generated
inside Taroudant province), serves our app with gunicorn on 127.0.0.1 (no basemap: nothing leaves the
machine), and opens the map page in Debian's Chromium. See benchmarks/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402 (the database, the servers and the report helpers are shared)

from playwright import sync_api  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
TARGETS = {"tti_ms": 2000, "html_bytes": 200_000, "data_gzip_bytes": 1_000_000}
MAP = 'window[Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map)]'

# Before any script of the page: when the map says it is ready, and the main thread's long tasks.
PROBE = """(() => {
  window.__longTasks = [];
  try {
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__longTasks.push([e.startTime, e.duration])))
      .observe({type: "longtask", buffered: true});
  } catch (e) { /* no long task timing: TTI is then the ready time */ }
  new MutationObserver((changes, observer) => {
    if (document.documentElement.getAttribute("data-map-ready") === "true") {
      window.__readyAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-map-ready"]});  // no <html> yet
})();"""

# Pan and zoom as a person does (animated), recording the time of every frame meanwhile.
GESTURES = """async () => {
  const map = %s, frames = [], sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let running = true;
  const tick = (t) => { frames.push(t); if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const moves = [[300, 0], [0, 200], [-300, 0], [0, -200], [400, 150], [-400, -150]];
  for (const [dx, dy] of moves) { map.panBy([dx, dy], {animate: true, duration: 0.4}); await sleep(600); }
  for (const zoom of [14, 13, 12, 11, 12, 13, 14, 15]) { map.setZoom(zoom, {animate: true}); await sleep(700); }
  running = false;
  await sleep(50);
  return frames;
}""" % MAP


def percentile(values: list[float], p: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def one_load(browser, base: str) -> dict:
    """Open the map page once in a fresh context; return its figures."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(PROBE)
    outside, responses = [], []

    def route(r):
        host = urlsplit(r.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("response", lambda r: responses.append(r))
    page.goto(base + "/", wait_until="commit")
    page.wait_for_function("() => window.__readyAt !== undefined", timeout=60_000)
    page.wait_for_timeout(1000)  # long tasks that follow the ready mark count towards interactivity
    ready = page.evaluate("window.__readyAt")
    long_tasks = page.evaluate("window.__longTasks")
    state = page.evaluate("window.heritageMap")
    # Time to interactive: the map drawn and the main thread free (the end of the last long task before then).
    busy = [start + duration for start, duration in long_tasks if start < ready + 50]
    tti = max([ready, *busy])
    first_view = list(responses)
    sizes = {"html": 0, "data_raw": 0, "data_gzip": 0, "all_raw": 0, "all_gzip": 0, "encodings": set()}
    # The bodies are read again here, after the timed load (Chromium does not keep them all for the asking);
    # the same URLs give the same bytes: the tiles and layers of the same view.
    for r in first_view:
        if r.status != 200:
            continue
        with urllib.request.urlopen(r.url, timeout=60) as again:
            body, encoding = again.read(), again.headers.get("Content-Encoding")
        packed = len(gzip.compress(body, 6)) if encoding is None else len(body)
        path = urlsplit(r.url).path
        sizes["encodings"].add(encoding or "none")
        sizes["all_raw"] += len(body)
        sizes["all_gzip"] += packed
        if path == "/":
            sizes["html"] = len(body)
        if path.startswith(("/api/", "/ogc/")):
            sizes["data_raw"] += len(body)
            sizes["data_gzip"] += packed
    tiles = sum(1 for r in first_view if "/tiles/" in r.url)
    frames = page.evaluate(GESTURES)
    intervals = [b - a for a, b in zip(frames, frames[1:])]
    context.close()
    return {"ready_ms": ready, "tti_ms": tti, "long_tasks": len(long_tasks), "tiles": tiles,
            "requests": len(first_view), "tiled_layers": sorted(state["tiles"]), "counts": state["counts"],
            "errors": state["errors"], "outside": outside, "frames": len(frames), "frame_p50": percentile(intervals, 50),
            "frame_p95": percentile(intervals, 95), "frame_max": max(intervals), **sizes}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--polygons", type=int, default=10_000)
    ap.add_argument("--loads", type=int, default=3, help="page loads measured, each in a fresh context (default 3)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--datadir", default="/tmp/hm-bench")
    ap.add_argument("--port", type=int, default=18091)
    ap.add_argument("--regenerate", action="store_true")
    args = ap.parse_args()
    t0 = time.monotonic()
    cluster = bench.Cluster(args.datadir)
    we_started_it = not cluster.running()
    workdir = Path(tempfile.mkdtemp(prefix="hm-map-bench-"))
    server = None
    try:
        url, revision = bench.prepare_database(cluster, SimpleNamespace(points=args.points, polygons=args.polygons,
                                                                        regenerate=args.regenerate))
        server = bench.Server("ours", Path(sys.prefix), "heritage_map.wsgi:app", bench.free_port(args.port),
                              SimpleNamespace(workers=args.workers, threads=1), workdir,
                              {"DATABASE_URL": url, "HERITAGE_MAP_AUTO_SETUP": "0", "SECRET_KEY": bench.BENCH_SECRET,
                               "HERITAGE_MAP_TILE_URL": "none"})
        server.wait_ready("/ogc/")
        loads = []
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for i in range(args.loads + 1):
                figures = one_load(browser, server.base)
                if figures["errors"] or figures["outside"]:
                    raise SystemExit(f"the page failed: {figures['errors']} {figures['outside']}")
                bench.say(f"  load {i}{' (warm-up, not counted)' if i == 0 else ''}: ready {figures['ready_ms']:.0f} "
                          f"ms, TTI {figures['tti_ms']:.0f} ms, {figures['tiles']} tiles, data "
                          f"{figures['data_gzip']:,} B gzip, frames p50 {figures['frame_p50']:.1f} ms p95 "
                          f"{figures['frame_p95']:.1f} ms")
                if i:
                    loads.append(figures)
            browser.close()
        med = {k: statistics.median(f[k] for f in loads) for k in (
            "ready_ms", "tti_ms", "html", "data_raw", "data_gzip", "all_raw", "all_gzip", "frame_p50", "frame_p95",
            "frame_max", "tiles", "requests")}
        first = loads[0]
        verdict = lambda ok: "met" if ok else "MISSED"
        rows = [
            ["time to interactive (map drawn, main thread free)", f"{med['tti_ms']:.0f} ms",
             f"≤ 2 s: {verdict(med['tti_ms'] <= TARGETS['tti_ms'])}"],
            ["map ready (first view drawn)", f"{med['ready_ms']:.0f} ms", ""],
            ["HTML of the page", f"{med['html']:,.0f} B", f"≤ 200 KB: {verdict(med['html'] <= TARGETS['html_bytes'])}"],
            ["data for the first view (API + tiles), gzip -6", f"{med['data_gzip']:,.0f} B "
             f"({med['data_raw']:,.0f} B raw, {med['tiles']:.0f} tiles)",
             f"≤ 1 MB: {verdict(med['data_gzip'] <= TARGETS['data_gzip_bytes'])}"],
            ["everything the first view loads (HTML, scripts, styles, fonts, data), gzip -6",
             f"{med['all_gzip']:,.0f} B ({med['all_raw']:,.0f} B raw, {med['requests']:.0f} requests)", ""],
            ["frame interval while panning and zooming, p50 / p95 / max",
             f"{med['frame_p50']:.1f} / {med['frame_p95']:.1f} / {med['frame_max']:.0f} ms", ""],
        ]
        print("\n## Map page at scale\n")
        print(f"- data: {args.points:,} points + {args.polygons:,} polygons (run.py's bench table), schema {revision}; "
              f"layers from tiles: {', '.join(first['tiled_layers']) or 'none'}; GeoJSON counts {first['counts']}")
        print(f"- ours: {bench.app_fingerprint()}; gunicorn -w {args.workers}, no basemap; Chromium headless "
              f"{VIEWPORT['width']}×{VIEWPORT['height']}, {args.loads} loads after one warm-up, medians; "
              f"response encodings seen: {', '.join(sorted(first['encodings']))} (sizes gzip -6 by this script "
              f"where the server sent none)")
        print(f"- machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end\n")
        print(bench.markdown_table(["measure", "median", "target"], rows))
        print("\nper load: " + json.dumps([{k: round(v) if isinstance(v, float) else v for k, v in f.items()
                                             if k in ("ready_ms", "tti_ms", "data_gzip", "frame_p50", "frame_p95")}
                                            for f in loads]))
        print(f"\nrun took {time.monotonic() - t0:.0f} s; command: {' '.join([sys.executable, *sys.argv])}")
        return 0
    finally:
        if server is not None:
            server.stop()
        if we_started_it:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
