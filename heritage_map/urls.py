"""The URLs of record pages, built from the app's own routes, for links in pages and features' "url"."""

from __future__ import annotations

from flask import url_for

from .catalogue import layers

# A slug no record has, replaced after url_for has built the path (it must match the slug converter).
_MARK = "zz-slug-zz"


def record_url(layer: str) -> str:
    """Return the path of a record page of `layer`, with "{slug}" standing for the record's slug."""
    return page_url(layers.get(layer).page)


def page_url(endpoint: str, **kwargs) -> str:
    """Return the path of the page `endpoint` takes a slug for, with "{slug}" standing for the slug."""
    return url_for(endpoint, slug=_MARK, **kwargs).replace(_MARK, "{slug}")


def is_local_path(target: str | None) -> bool:
    """Tell whether `target` is a path on this site, safe to redirect to (no other host: no open redirect).

    >>> [is_local_path(t) for t in ("/sites?kind=heritage", "//evil.example", "/\\\\evil.example", "https://x", "")]
    [True, False, False, False, False]
    """
    return bool(target) and target.startswith("/") and not target.startswith("//") and "\\" not in target
