"""Security headers on every response: a Content-Security-Policy with a per-request nonce, and its companions."""

from __future__ import annotations

import functools
import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

from .errors import SetupError

# Inline <script> blocks and <style> elements; a <script src=…> is left alone so that a nonce never vouches
# for a file from elsewhere: script-src 'self' still decides about those.
_INLINE_TAG = re.compile(r"<(script(?![^>]*\ssrc\s*=)|style)(?=[\s>])", re.IGNORECASE)
# One year; no includeSubDomains or preload: the app does not own the other hosts of the domain it runs on.
HSTS = "max-age=31536000"
# Personal pages (dashboards, forms, the review queues, histories, members, admin pages): never stored by a
# browser cache nor by the service worker (static/sw.js skips private and no-store answers).
PRIVATE_BLUEPRINTS = frozenset({"editing", "people", "accounts"})
PRIVATE_ENDPOINTS = frozenset({"events.manage", "events.new", "events.edit", "events.review_queue",
                               "photos.upload_site_photo", "photos.upload_project_photo", "photos.review_queue"})
PRIVATE = "private, no-store"


def csp_nonce() -> str:
    """Return this request's CSP nonce, made on first use."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def add_nonce(html: str, nonce: str) -> str:
    """Return `html` with `nonce` on every inline <script> and <style> element.

    >>> add_nonce('<script src="/a.js"></script><script>x()</script><style>p{}</style>', "n0")
    '<script src="/a.js"></script><script nonce="n0">x()</script><style nonce="n0">p{}</style>'
    >>> add_nonce('<SCRIPT type="module">y()</SCRIPT><scripts>', "n0")
    '<SCRIPT nonce="n0" type="module">y()</SCRIPT><scripts>'
    >>> add_nonce("", "n0")
    ''
    """
    return _INLINE_TAG.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', html)


@functools.lru_cache(maxsize=8)
@functools.lru_cache(maxsize=8)  # one tile URL per app: parsed once, not at every response
def tile_source(url: str) -> str | None:
    """Return the CSP source that lets the map load tiles from a TILE_URL template, or None if it needs none.

    A `{s}` (or any placeholder) in the first label of the host becomes CSP's `*` wildcard; a relative or
    'none' URL needs nothing beyond 'self'.

    >>> tile_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    'https://tile.openstreetmap.org'
    >>> tile_source("https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png")
    'https://*.tiles.example.org:8443'
    >>> tile_source("none"), tile_source("/tiles/{z}/{x}/{y}.png")
    (None, None)
    >>> tile_source("https://tiles.{s}.example.org/{z}/{x}/{y}.png")
    Traceback (most recent call last):
    ...
    heritage_map.errors.SetupError: HERITAGE_MAP_TILE_URL: a placeholder may only be the host's first label ({s}.…)
    """
    if url.lower() == "none":
        return None
    parts = urlsplit(url)
    if not parts.netloc:
        return None
    host, _, port = parts.netloc.rpartition("@")[2].partition(":")
    labels = host.split(".")
    if "{" in labels[0]:
        labels[0] = "*"
    if any("{" in label for label in labels):
        raise SetupError("HERITAGE_MAP_TILE_URL: a placeholder may only be the host's first label ({s}.…)")
    return f"{parts.scheme}://{'.'.join(labels)}" + (f":{port}" if port else "")


@functools.lru_cache(maxsize=8)
def _policy_without_nonce(tile_url: str) -> str:
    return content_security_policy(None, tile_url)


def content_security_policy(nonce: str | None, tile_url: str) -> str:
    """Return the Content-Security-Policy of a response whose inline elements carry `nonce` (None: it has none)."""
    nonced = f" 'nonce-{nonce}'" if nonce else ""
    tiles = tile_source(tile_url)
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self'{nonced}",
        # <style> elements need the nonce (Folium writes some). style="" attributes are let through: the
        # locate-me marker is an SVG that Leaflet.Locate writes as HTML with its colours in style="" (refused,
        # it draws black), and style="" cannot read the page nor load anything img-src does not allow.
        f"style-src 'self'{nonced}",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:" + (f" {tiles}" if tiles else ""),
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'self'",
        "form-action 'self'",
    ])


def set_headers(response: Response) -> Response:
    """Put the security headers on a response, keeping any a view set itself."""
    headers = response.headers
    nonce, tile_url = g.get("csp_nonce"), current_app.config["TILE_URL"]
    # Data answers carry no nonce: their policy is the same string each time.
    headers.setdefault("Content-Security-Policy", content_security_policy(nonce, tile_url) if nonce
                       else _policy_without_nonce(tile_url))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    # The tile server still learns which site asks (OpenStreetMap's tile policy wants a Referer), never the
    # page or its query string.
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.blueprint in PRIVATE_BLUEPRINTS or request.endpoint in PRIVATE_ENDPOINTS:
        headers["Cache-Control"] = PRIVATE  # over any a view set: these pages are one person's
    return response


def init_app(app: Flask) -> None:
    """Check the tile URL, give templates `csp_nonce()` and put the security headers on every response."""
    tile_source(app.config["TILE_URL"])
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_headers)
