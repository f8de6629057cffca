"""The service worker's script: static/sw.js after the list of what it keeps on install (the app shell)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

import folium
from flask import current_app, url_for

from .. import db, static_files
from . import maps
from .sources import map_sources

# What makes the map page's map from a basemap and the map's sources (views.explorer_map).
Explorer = Callable[[maps.Basemap, dict], folium.Map]
_STATIC_LINK = re.compile(r'(?:src|href)="([^"]*/static/v/[^"]+)"')
# Of the files the map's stylesheets name, the ones a page really loads: the fonts in woff2 and the images.
_SHELL_REFS = re.compile(r"\.(png|svg|woff2)$")


def shell(static_url: Callable[[str], str], explorer: Explorer) -> dict[str, list[str]]:
    """Return the URLs kept on install: the map page, its static files (versioned) and its layers' data.

    `explorer` builds the map page's map (basemap, sources), so that the shell holds every script the page
    loads (its search box and filter panel too).
    """
    # The layers' GeoJSON as the map page loads it; layers drawn from tiles keep their tiles as they are seen.
    sources = map_sources(db.session(), current_app.config["MAP_TILES_ABOVE"])
    parts = maps.render_parts(explorer(maps.Basemap("none", ""), sources), "shell")
    files = ["site.css", "site.js"]
    files += [url.split("/static/v/", 1)[1].split("/", 1)[1] for url in _STATIC_LINK.findall(parts["header"])]
    manifest = static_files.manifest()
    for css in [f for f in files if f.endswith(".css")]:
        with open(f"{current_app.static_folder}/{css}", encoding="utf-8") as f:
            text = f.read()
        files += [ref for ref in static_files.css_references(text, css)
                  if ref in manifest.versions and _SHELL_REFS.search(ref)]
    return {"static": [static_url(f) for f in dict.fromkeys(files)], "pages": [url_for("web.index")],
            "data": [source["url"] for source in sources["geojson"]]}


def script(static_url: Callable[[str], str], explorer: Explorer) -> tuple[str, str]:
    """Return the service worker's text and its ETag, made once per app and mount point."""
    cache = current_app.extensions.setdefault("heritage_map.service_worker", {})
    key = url_for("web.index")
    if key not in cache:
        with open(f"{current_app.static_folder}/sw.js", encoding="utf-8") as f:
            body = (f"var SHELL = {json.dumps(shell(static_url, explorer))};\n"
                    f"var VERSION = {json.dumps(static_files.manifest().digest)};\n" + f.read())
        cache[key] = (body, hashlib.sha256(body.encode()).hexdigest()[:20])
    return cache[key]
