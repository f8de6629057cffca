"""A wheel (`pip install .`, not editable) carries the templates, static files and seed data, and serves every page."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What the build reads; copied, so that building leaves no build/ or egg-info in the work tree.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "heritage_map", "templates", "static", "geodata")

# Run from outside the repository with only the installed package on the path: every page a
# person can reach (those without arguments, the OGC pages as HTML, one record of each collection
# by the url its feature gives, a 404), then every static file.
PROBE = """
import hashlib, json, sys
import heritage_map
from heritage_map import create_app

app = create_app()
client = app.test_client()
pages = [rule.rule for rule in app.url_map.iter_rules()
         if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api/", "/static/"))
         and rule.rule != "/sw.js"]
records, collections = [], client.get("/ogc/collections?f=json").get_json()["collections"]
for c in collections:
    features = client.get(f"/ogc/collections/{c['id']}/items?limit=1&f=json").get_json()["features"]
    pages += [f"/ogc/collections/{c['id']}?f=html", f"/ogc/collections/{c['id']}/items?f=html"]
    records += [f["properties"]["url"] for f in features]
out = {"module": heritage_map.__file__, "folders": [app.template_folder, app.static_folder, app.config["GEODATA_DIR"]],
       "collections": len(collections), "records": records, "pages": {}, "static": {}}
for path in pages + records + ["/no-such-page"]:
    if path.startswith("/ogc") and "f=" not in path:
        path += "?f=html"
    r = client.get(path, headers={"Accept": "text/html"})
    out["pages"][path] = [r.status_code, r.mimetype, len(r.data), r.headers.get("Location", "")]
for name in json.loads(sys.stdin.read()):
    with client.get(f"/static/{name}") as r:
        out["static"][name] = [r.status_code, hashlib.sha256(r.data).hexdigest()]
sw = client.get("/sw.js")
out["sw"] = [sw.status_code, sw.mimetype, sw.get_data(as_text=True).count("/static/v/")]
print(json.dumps(out))
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources and install it alone into a folder; return that folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    (tmp / "src").mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            # Without compiled catalogues, as in a clone: the build compiles them (setup.py).
            shutil.copytree(REPO / name, tmp / "src" / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(REPO / name, tmp / "src" / name)
    # No build isolation: setuptools from the test extra builds it, offline.
    pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp / "dist", tmp / "src")
    pip("install", "--no-deps", "--no-index", "--target", tmp / "site", *(tmp / "dist").glob("*.whl"))
    return tmp / "site"


def pip(*args) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_wheel_holds_the_templates_static_files_and_seed_data_of_the_source_tree(installed):
    for folder in ("templates", "static", "geodata"):
        shipped = {p.relative_to(REPO / folder): sha256(p) for p in (REPO / folder).rglob("*") if p.is_file()}
        inside = installed / "heritage_map" / folder
        assert {p.relative_to(inside): sha256(p) for p in inside.rglob("*") if p.is_file()} == shipped


def test_the_wheel_carries_the_catalogues_compiled(installed):
    import gettext  # before any app starts from the wheel (which would compile missing ones itself)

    for code, expected in (("ar", "خريطة تراث تارودانت"), ("fr", "Carte du patrimoine de Taroudant")):
        mo = installed / "heritage_map" / "translations" / code / "LC_MESSAGES" / "messages.mo"
        with mo.open("rb") as f:
            assert gettext.GNUTranslations(f).gettext("Taroudant Heritage Map") == expected


def test_the_installed_package_serves_every_page_and_static_file(installed, database_url, tmp_path):
    statics = sorted(str(p.relative_to(REPO / "static")) for p in (REPO / "static").rglob("*") if p.is_file())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")}
    env |= {"PYTHONPATH": str(installed), "DATABASE_URL": database_url, "SECRET_KEY": "test",
            "HERITAGE_MAP_AUTO_SETUP": "0"}
    done = subprocess.run([sys.executable, "-c", PROBE], input=json.dumps(statics), cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])

    package = installed / "heritage_map"
    assert Path(out["module"]) == package / "__init__.py"
    assert [Path(f) for f in out["folders"]] == [package / "templates", package / "static", package / "geodata"]
    pages = out["pages"]
    assert {"/", "/sites", "/planner", "/ogc/?f=html"} <= pages.keys()
    assert len(out["records"]) == out["collections"] >= 3 and set(out["records"]) <= pages.keys()  # one each
    # Pages for signed-in people send the others to sign in; every other page answers.
    signed_in_only = {path for path, (status, _, _, to) in pages.items() if status == 302 and "/sign-in?" in to}
    assert {path: status for path, (status, _, _, _) in pages.items()
            if status != 200 and path not in signed_in_only} == {"/no-such-page": 404}
    assert {"/events/new", "/events/review", "/my-associations", "/admin/people", "/admin/associations"} <= signed_in_only
    answered = {path: page for path, page in pages.items() if path not in signed_in_only}
    # Pages are HTML; calendar feeds are iCalendar (an empty one when the seed has no events).
    for path, (_, mimetype, size, _) in answered.items():
        if path.endswith(".ics"):
            assert mimetype == "text/calendar", path
        else:
            assert mimetype == "text/html" and size > 500, path
    assert out["static"] == {name: [200, sha256(REPO / "static" / name)] for name in statics}
    status, mimetype, versioned = out["sw"]  # the service worker, read from the installed static/sw.js
    assert status == 200 and mimetype == "text/javascript" and versioned > 10
