"""Limits that protect the service: requests per address on the costly routes, and request body sizes.

A rate is counted in the database (rate_counts, a fixed window per address and bucket), so that every
gunicorn worker and every host behind one balancer agree on it: a count kept in each process would
let an address through once per worker. One statement per limited request, in autocommit.
"""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import text

from . import db
from .errors import RateLimited, SetupError, TooLarge

PERIODS = {"second": 1, "minute": 60, "hour": 3600}
# What each bucket covers, for the 429's message, and which requests it counts.
BUCKETS = {
    "questions": ("planning.near", "planning.within", "planning.screening", "planning.screening_report",
                  "planning.summary"),
    "exports": ("api.export",),
    "uploads": ("planning.within", "planning.screening", "planning.screening_report", "planning.summary"),
    "sign-in": ("accounts.sign_in",),
}
WHAT = {"questions": lazy_gettext("spatial questions"), "exports": lazy_gettext("exports"),
        "uploads": lazy_gettext("uploads"), "sign-in": lazy_gettext("signing in")}
# Only what costs: a GET of the report's form or of the sign-in page is a plain page.
POST_ONLY = {"planning.screening_report", "accounts.sign_in"}
# The count and the window it falls in, in one statement; the count's window ends at window_start + period.
COUNT = text("""
    INSERT INTO rate_counts AS r (bucket, address, window_start, hits)
    VALUES (:bucket, :address,
            to_timestamp(floor(extract(epoch FROM clock_timestamp()) / :period) * :period), 1)
    ON CONFLICT (bucket, address, window_start) DO UPDATE SET hits = r.hits + 1
    RETURNING r.hits, ceil(extract(epoch FROM r.window_start + make_interval(secs => :period)
                                                - clock_timestamp()))::int""")
# Windows that are over, dropped when an address opens a new one: the table holds about one row per
# address active within the longest period, without a job to sweep it.
SWEEP = text("DELETE FROM rate_counts WHERE window_start < clock_timestamp() - make_interval(secs => :longest)")


@dataclass(frozen=True)
class Rate:
    """At most `hits` requests per `period` seconds."""

    hits: int
    period: int
    text: str

    @classmethod
    def parse(cls, value: str, setting: str) -> Rate | None:
        """Return the rate written `value` ("60/minute", "5/second", "0" for none), or raise SetupError.

        >>> Rate.parse("60/minute", "X")
        Rate(hits=60, period=60, text='60/minute')
        >>> Rate.parse(" 1000 / hour ", "X").period, Rate.parse("0", "X"), Rate.parse("10/minute", "X").said()
        (3600, None, '10 a minute')
        >>> Rate.parse("often", "HERITAGE_MAP_RATE_LIMIT_EXPORTS")
        Traceback (most recent call last):
        ...
        heritage_map.errors.SetupError: HERITAGE_MAP_RATE_LIMIT_EXPORTS must be N/second, N/minute or N/hour, or 0 for no limit (got 'often')
        """
        match = re.fullmatch(r"\s*(\d+)\s*(?:/\s*(second|minute|hour)\s*)?", value or "")
        if not match or (match.group(1) != "0" and not match.group(2)):
            raise SetupError(f"{setting} must be N/second, N/minute or N/hour, or 0 for no limit (got {value!r})")
        hits = int(match.group(1))
        if hits == 0:
            return None
        return cls(hits, PERIODS[match.group(2)], f"{hits}/{match.group(2)}")

    def said(self) -> str:
        """Return the rate in words for a person."""
        return {1: _("%(n)d a second", n=self.hits), 60: _("%(n)d a minute", n=self.hits),
                3600: _("%(n)d an hour", n=self.hits)}[self.period]


def rates(config: dict) -> dict[str, Rate]:
    """Return the rate of each bucket that has one, from the settings."""
    found = {}
    for bucket in BUCKETS:
        key = f"RATE_LIMIT_{bucket.upper().replace('-', '_')}"
        rate = Rate.parse(str(config[key]), f"HERITAGE_MAP_{key}")
        if rate is not None:
            found[bucket] = rate
    return found


def current_rates(config) -> dict[str, Rate]:
    """Return the rates of the settings as they are now (parsed once per set of values)."""
    return _parsed(tuple(str(config[f"RATE_LIMIT_{b.upper().replace('-', '_')}"]) for b in BUCKETS))


@functools.lru_cache(maxsize=8)
def _parsed(values: tuple[str, ...]) -> dict[str, Rate]:
    return rates({f"RATE_LIMIT_{b.upper().replace('-', '_')}": v for b, v in zip(BUCKETS, values)})


def buckets_of(endpoint: str | None, method: str, uploads: bool) -> list[str]:
    """Return the buckets a request counts in.

    >>> buckets_of("planning.screening", "POST", uploads=True)
    ['questions', 'uploads']
    >>> buckets_of("planning.screening_report", "GET", uploads=False), buckets_of("web.index", "GET", False)
    ([], [])
    """
    if endpoint in POST_ONLY and method != "POST":
        return []
    return [b for b, endpoints in BUCKETS.items() if endpoint in endpoints and (b != "uploads" or uploads)]


def count(bucket: str, address: str, rate: Rate) -> None:
    """Count one request of `address` in `bucket`; raise RateLimited once it is over `rate`."""
    params = {"bucket": bucket, "address": address, "period": rate.period}
    with db.read() as conn:
        hits, left = conn.execute(COUNT, params).one()
        if hits == 1:
            conn.execute(SWEEP, {"longest": max(PERIODS.values())})
    if hits > rate.hits:
        raise RateLimited(_("too many requests for %(what)s from your address: the limit is %(rate)s; "
                            "try again in %(seconds)d s", what=WHAT[bucket], rate=rate.said(),
                            seconds=max(left, 1)), retry_after=max(left, 1), limit=f"{rate.hits};w={rate.period}")


def check_body() -> None:
    """Hold a body that is not a file upload to the smaller MAX_BODY; a 413 names the limit."""
    if request.mimetype == "multipart/form-data":
        return  # files: MAX_CONTENT_LENGTH, for Werkzeug to enforce
    limit = current_app.config["MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(_("a request body other than a file upload may be at most %(limit)s (this one is "
                         "%(size)s); send a large shape as a file", limit=size(limit),
                         size=size(request.content_length)))
    request.max_content_length = limit + 1
    if request.content_length is None and request.mimetype != "application/x-www-form-urlencoded":
        # A chunked body says no length, and Werkzeug would hand the view its first `limit` bytes as if
        # they were all: read one more here (kept for the view), and refuse the body if it is there.
        if len(request.get_data(cache=True)) > limit:
            raise TooLarge(_("a request body other than a file upload may be at most %(limit)s; send a large "
                             "shape as a file", limit=size(limit)))
    # Forms: Werkzeug's MAX_FORM_MEMORY_SIZE (500 KB) answers 413 before this limit is reached.


def size(n: int) -> str:
    """Return a byte count for people.

    >>> size(1048576), size(20 * 1024 * 1024), size(1536), size(100)
    ('1 MB', '20 MB', '1.5 KB', '100 bytes')
    """
    for unit, factor in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def init_app(app: Flask) -> None:
    """Check request bodies and count the costly requests before their views run."""
    rates(app.config)  # a mistyped rate stops the app as it starts, not at its first request
    if app.config["MAX_BODY"] <= 0:
        raise SetupError("HERITAGE_MAP_MAX_BODY must be a positive number of bytes")

    @app.before_request
    def limit_request() -> None:
        if request.method in ("POST", "PUT", "PATCH"):
            check_body()
        for bucket in buckets_of(request.endpoint, request.method, uploads=request.mimetype ==
                                 "multipart/form-data"):
            rate = current_rates(app.config).get(bucket)
            if rate is not None:
                count(bucket, request.remote_addr or "unknown", rate)

