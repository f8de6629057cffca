"""Content negotiation: whether a request wants a page or data, decided in one place."""

from __future__ import annotations

from flask import request
from werkzeug.datastructures import MIMEAccept

# The values f= takes; any other is ignored here and refused by the OGC views.
FORMATS = ("json", "html", "geojson")
# Under these paths data is the default: fetch, curl and GDAL send no Accept header or */*.
DATA_PATHS = ("/api/", "/ogc")
HTML = "text/html"
DATA = ("application/json", "application/geo+json")


def html_wanted(path: str, f: str | None, accept: MIMEAccept) -> bool:
    """Tell whether a request for `path` with f=`f` and this Accept header wants HTML rather than data.

    f= decides when it names a format. Otherwise, under /api/ and /ogc a page needs an Accept header that
    names text/html and prefers it (a browser, or a form posted to the printable report); elsewhere a page
    is the default and data needs an Accept header that prefers JSON or GeoJSON.

    >>> from werkzeug.http import parse_accept_header
    >>> def wants(path, f=None, accept=None):
    ...     return html_wanted(path, f, parse_accept_header(accept, MIMEAccept))
    >>> wants("/sites"), wants("/sites", accept="*/*"), wants("/sites", accept="application/json")
    (True, True, False)
    >>> wants("/ogc/collections"), wants("/ogc/collections", accept="*/*"), wants("/api/sites", accept="text/*")
    (False, False, False)
    >>> wants("/ogc/collections", accept="text/html,application/xhtml+xml,*/*;q=0.8")
    True
    >>> wants("/ogc/collections", accept="application/json, text/html")
    False
    >>> wants("/ogc/", f="html"), wants("/sites", f="json", accept="text/html"), wants("/", f="geojson")
    (True, False, False)
    >>> wants("/ogc/", f="xml", accept="text/html"), wants("/sites", f="", accept="application/json")
    (True, False)
    """
    if f in FORMATS:
        return f == "html"
    if path.startswith(DATA_PATHS):
        return HTML in accept.values() and accept.best_match([*DATA, HTML]) == HTML
    return accept.best_match([HTML, *DATA]) not in DATA


def wants_html() -> bool:
    """Tell whether the current request wants a page rather than data (by f=, then Accept, then its path)."""
    return html_wanted(request.path, request.args.get("f"), request.accept_mimetypes)
