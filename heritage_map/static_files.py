"""Static files under versioned URLs (/static/v/<hash>/<path>) cached for a year; plain /static/<path> briefly."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flask import Flask, current_app, send_from_directory

IMMUTABLE = "public, max-age=31536000, immutable"
# An unversioned URL (an old bookmark, a hand-typed link) still works; its file may change at any release.
SHORT = "public, max-age=300"
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""")


@dataclass
class Manifest:
    """The version of every static file, and the stylesheets' versions their url(…) references are asked under."""

    versions: dict[str, str] = field(default_factory=dict)
    # A font or image a stylesheet names by a relative URL is requested under the stylesheet's version.
    referrers: dict[str, set[str]] = field(default_factory=dict)

    def accepts(self, path: str, version: str) -> bool:
        """Tell whether `version` names the file at `path` as it is now."""
        return version == self.versions.get(path) or version in self.referrers.get(path, ())

    @property
    def digest(self) -> str:
        """Return one version for the whole tree (the service worker's cache name)."""
        return _hash("\n".join(f"{p} {v}" for p, v in sorted(self.versions.items())).encode())


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def css_references(css: str, path: str) -> list[str]:
    """Return the static paths a stylesheet at `path` names in url(…), data: URLs and fragments left out.

    >>> css_references('a{b:url("../fonts/x.woff2?v=1#i")} c{d:url(data:image/png;base64,AA)}', "v/css/all.css")
    ['v/fonts/x.woff2']
    >>> css_references("e{f:url(#default#VML)} g{h:url(https://x.test/y.png)}", "s.css")
    []
    """
    found = []
    for _quote, ref in _CSS_URL.findall(css):
        if ref.startswith(("data:", "#", "http:", "https:", "//", "/")):
            continue
        target = PurePosixPath(path).parent / re.split(r"[?#]", ref)[0]
        parts: list[str] = []
        for part in target.parts:
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        found.append("/".join(parts))
    return found


def build_manifest(root: Path) -> Manifest:
    """Hash every file under `root`; a stylesheet's version covers the files its url(…)s name too."""
    manifest = Manifest()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for p in files:
        manifest.versions[p.relative_to(root).as_posix()] = _hash(p.read_bytes())
    for p in files:
        if p.suffix != ".css":
            continue
        path = p.relative_to(root).as_posix()
        refs = [r for r in css_references(p.read_text(encoding="utf-8"), path) if r in manifest.versions]
        version = _hash(p.read_bytes() + "".join(manifest.versions[r] for r in sorted(set(refs))).encode())
        manifest.versions[path] = version
        for ref in refs:
            manifest.referrers.setdefault(ref, set()).add(version)
    return manifest


def manifest() -> Manifest:
    """Return the current app's manifest."""
    return current_app.extensions["heritage_map.static_manifest"]


def serve(filename: str, version: str | None = None):
    """Send a static file: for a year when its URL names its current version, else for five minutes."""
    response = send_from_directory(current_app.static_folder, filename, max_age=0)
    immutable = version is not None and manifest().accepts(filename, version)
    response.headers["Cache-Control"] = IMMUTABLE if immutable else SHORT
    response.headers.pop("Expires", None)
    return response


def _add_version(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "version" not in values:
        version = manifest().versions.get(values.get("filename", ""))
        if version:
            values["version"] = version


def init_app(app: Flask) -> None:
    """Hash the static files once, make url_for('static', …) name their version, and serve both URL forms."""
    # Once, at start: a file changed under a running app keeps its old version until the app restarts.
    app.extensions["heritage_map.static_manifest"] = build_manifest(Path(app.static_folder))
    app.view_functions["static"] = serve
    # Werkzeug builds with the rule that takes the most arguments it is given: with a version, this one.
    app.add_url_rule(f"{app.static_url_path}/v/<version>/<path:filename>", endpoint="static", view_func=serve)
    app.url_defaults(_add_version)
