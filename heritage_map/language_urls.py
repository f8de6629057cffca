"""Each language's own URLs: a leading /ar, /fr or /en moved into SCRIPT_NAME, static files kept unprefixed.

Moving the segment into SCRIPT_NAME (where an app mounted under a sub-path keeps its mount point) makes
every `url_for` of a request under /ar build /ar/… links, for every route, with no per-route work: a page
added tomorrow has its three language URLs at once. Static files are the exception: one URL per file,
cacheable once for every language.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, has_request_context, request
from werkzeug.utils import redirect

# The interface languages, in the order the switcher lists them.
CODES = ("ar", "fr", "en")
# WSGI environ keys: the language the path named, and SCRIPT_NAME as it was before the language segment.
LANGUAGE_KEY = "heritage_map.language"
ROOT_KEY = "heritage_map.script_root"


def split_language(path: str) -> tuple[str | None, str]:
    """Return (language, rest of the path) when `path` starts with a language segment, else (None, path).

    >>> split_language("/ar/sites/bab-el-kasbah"), split_language("/fr/"), split_language("/en")
    (('ar', '/sites/bab-el-kasbah'), ('fr', '/'), ('en', ''))
    >>> split_language("/arabic"), split_language("/sites"), split_language("/")
    ((None, '/arabic'), (None, '/sites'), (None, '/'))
    """
    for code in CODES:
        segment = "/" + code
        if path == segment or path.startswith(segment + "/"):
            return code, path[len(segment):]
    return None, path


class LanguagePrefix:
    """WSGI middleware: take a language segment off the path into SCRIPT_NAME and say which language it named."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        code, rest = split_language(environ.get("PATH_INFO", ""))
        if code is None:
            return self.wsgi_app(environ, start_response)
        root = environ.get("SCRIPT_NAME", "")
        if not rest:
            # /ar is the Arabic home page, at one URL: /ar/.
            query = environ.get("QUERY_STRING")
            return redirect(f"{root}/{code}/" + (f"?{query}" if query else ""), 308)(environ, start_response)
        environ[ROOT_KEY] = root
        environ[LANGUAGE_KEY] = code
        environ["SCRIPT_NAME"] = f"{root}/{code}"
        environ["PATH_INFO"] = rest
        return self.wsgi_app(environ, start_response)


def path_language() -> str | None:
    """Return the language the current request's URL names, or None for a URL without one."""
    return request.environ.get(LANGUAGE_KEY)


def neutral_root() -> str:
    """Return the app's mount point without the language segment (usually "")."""
    return request.environ.get(ROOT_KEY, request.script_root)


def page_url(code: str | None, *, external: bool = False) -> str:
    """Return the current page's URL (with its query string) in language `code`, or without a language."""
    query = request.query_string.decode("latin-1")
    path = neutral_root() + (f"/{code}" if code else "") + request.path + (f"?{query}" if query else "")
    return request.host_url.rstrip("/") + path if external else path


def _unprefixed(url: str) -> str:
    """Return a URL built under a language prefix with the prefix taken out again."""
    prefixed, neutral = request.script_root, neutral_root()
    parts = urlsplit(url)
    if parts.path.startswith(prefixed + "/"):
        return urlunsplit(parts._replace(path=neutral + parts.path[len(prefixed):]))
    return url


class App(Flask):
    """The Flask app, whose static file URLs carry no language segment."""

    def url_for(self, endpoint: str, *args, **values) -> str:
        """Build a URL as Flask does; a static file's stays the same in every language."""
        url = super().url_for(endpoint, *args, **values)
        if (endpoint == "static" or endpoint.endswith(".static")) and has_request_context() and path_language():
            return _unprefixed(url)
        return url
