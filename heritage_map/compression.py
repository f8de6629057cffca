"""Compressed responses (Flask-Compress, brotli or gzip) for text-like bodies; already-compressed formats left alone."""

from __future__ import annotations

from flask import Flask, request
from flask_compress import Compress

# Bodies that shrink: pages, data, scripts, styles, SVG, OpenAPI, queryables, CSV and KML downloads, and
# Mapbox vector tiles, which ST_AsMVT writes uncompressed (protobuf of repeated keys and small integers: the
# seed's z13 heritage tile goes from 2,085 to 1,114 bytes in brotli, 1,125 in gzip). Not PNG, woff2, zip
# (Shapefile) or GeoPackage: compressed already, or a database file better downloaded as it is.
MIMETYPES = [
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript", "application/javascript",
    "application/json", "application/geo+json", "application/schema+json", "application/vnd.oai.openapi+json",
    "application/manifest+json", "application/xml", "application/vnd.google-earth.kml+xml", "image/svg+xml",
    "font/ttf", "application/vnd.mapbox-vector-tile",
]
# Brotli first (smaller, and every browser that asks for it is served it), then gzip for everyone else;
# streamed OGC pages are compressed as they go, with the same two.
ALGORITHMS = ["br", "gzip"]
# Strong ETags get the encoding appended ("tag:br"): a client revalidating sends that form back.
SUFFIXES = tuple(f":{name}" for name in ALGORITHMS)


def not_modified(tag: str) -> bool:
    """Tell whether the request's If-None-Match names `tag`, as sent plain or with its encoding appended."""
    match = request.if_none_match
    return match.contains_weak(tag) or any(match.contains_weak(tag + suffix) for suffix in SUFFIXES)


def init_app(app: Flask) -> None:
    """Compress the app's text responses with brotli or gzip, whichever the client accepts."""
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ALGORITHMS)
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ALGORITHMS)
    # Brotli 5 instead of Flask-Compress's 4: a few percent smaller for the same speed on these bodies.
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    Compress(app)
