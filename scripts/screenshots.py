"""Take screenshots of the main views, on a desktop (1280 × 800) and a phone (360 × 740), into docs/screenshots/.

Run with the app's venv: `.venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:5000] [--out DIR]`.
Without --url it serves the app itself on the embedded database (HERITAGE_MAP_DATA_DIR or instance/pgdata,
created and seeded if needed) with no basemap. Chromium is Debian's (/usr/bin/chromium), as in the browser
tests; every request leaving localhost is blocked, so the pictures show the app's own layers only.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from urllib.parse import urlsplit

from playwright import sync_api

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
# name -> path; a map page waits for its layers (data-map-ready).
VIEWS = {"map": "/", "site": "/sites/bab-el-khemis", "sites": "/sites", "planner": "/planner",
         "project": "/projects/clean-walls", "forum": "/forum"}
MAPS = {"map", "site", "planner"}
# URL prefixes of the interface languages ("" is the default); the languages work adds "/ar", "/fr", "/en".
LANGUAGES = ["", "/ar", "/fr"]


def serve() -> str:
    """Serve the app (embedded database, no basemap) on a free local port; return its URL."""
    from werkzeug.serving import make_server

    from heritage_map import create_app

    app = create_app({"TILE_URL": "none"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def local_only(route) -> None:
    """Let requests to this machine through; block everything else (tiles included)."""
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


def shoot(base: str, out: Path) -> list[Path]:
    """Save one PNG per view, size and language; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for size, viewport in SIZES.items():
            context = browser.new_context(viewport=viewport, service_workers="block")
            context.route("**/*", local_only)
            page = context.new_page()
            for language in LANGUAGES:
                for name, path in VIEWS.items():
                    page.goto(base + language + path)
                    if name in MAPS:
                        page.wait_for_function("() => document.documentElement.dataset.mapReady === 'true'")
                    page.wait_for_timeout(600)  # icon font, clusters and zoom animations settle
                    target = out / f"{name}{'-' + language.strip('/') if language else ''}-{size}.png"
                    page.screenshot(path=str(target))
                    saved.append(target)
            context.close()
        browser.close()
    return saved


def main() -> None:
    """Parse the arguments and take the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app to photograph (default: serve one here)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    for path in shoot(args.url or serve(), args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
