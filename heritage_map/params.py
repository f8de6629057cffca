"""Query-parameter parsing: small helpers that return a clean value or raise InvalidParameter."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping

from .errors import InvalidParameter


def choice(args: Mapping[str, str], name: str, values: tuple[str, ...] | list[str]) -> str | None:
    """Return parameter `name` if it is one of `values`, None if absent or empty.

    >>> choice({"kind": "heritage"}, "kind", ("heritage", "environment"))
    'heritage'
    >>> choice({}, "kind", ("heritage",)) is None
    True
    >>> choice({"kind": "castle"}, "kind", ("heritage", "environment"))
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: kind must be one of heritage, environment (got 'castle')
    """
    value = args.get(name)
    if value is None or value == "":
        return None
    if value not in values:
        raise InvalidParameter(f"{name} must be one of {', '.join(values)} (got {value!r})")
    return value


def text(args: Mapping[str, str], name: str, *, max_length: int) -> str | None:
    """Return parameter `name` with its spaces trimmed and runs of space made one; None if absent or blank.

    >>> text({"q": "  Bab   El Khemis "}, "q", max_length=20)
    'Bab El Khemis'
    >>> text({"q": "   "}, "q", max_length=20) is None
    True
    >>> text({"q": "x" * 21}, "q", max_length=20)
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: q must be at most 20 characters (got 21)
    >>> text({"q": "a\\x00b"}, "q", max_length=20)
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: q must not hold control characters
    """
    value = args.get(name)
    if value is None:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidParameter(f"{name} must not hold control characters")
    value = " ".join(value.split())
    if len(value) > max_length:
        raise InvalidParameter(f"{name} must be at most {max_length} characters (got {len(value)})")
    return value or None


def slug(args: Mapping[str, str], name: str) -> str | None:
    """Return parameter `name` if it is a record slug (lowercase words joined by hyphens), None if absent or empty.

    >>> slug({"association": "taroudant-bladna"}, "association")
    'taroudant-bladna'
    >>> slug({"association": "Taroudant Bladna"}, "association")
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: association must be a record's slug, such as taroudant-bladna (got 'Taroudant Bladna')
    """
    value = args.get(name)
    if value is None or value == "":
        return None
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+){0,40}", value):
        raise InvalidParameter(f"{name} must be a record's slug, such as taroudant-bladna (got {value!r})")
    return value


def integer(args: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    """Return parameter `name` as an integer within [low, high], or `default` if absent.

    >>> integer({"limit": "50"}, "limit", 10, low=1, high=100)
    50
    >>> integer({"limit": "many"}, "limit", 10, low=1, high=100)
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: limit must be a whole number from 1 to 100 (got 'many')
    """
    value = args.get(name)
    if value is None or value == "":
        return default
    # int() would also take " 10", "1_0" and other scripts' digits.
    number = int(value) if re.fullmatch(r"[+-]?[0-9]{1,18}", value) else None
    if number is None or not low <= number <= high:
        raise InvalidParameter(f"{name} must be a whole number from {low} to {high} (got {value!r})")
    return number


def known_only(args: Mapping[str, str], allowed: set[str]) -> None:
    """Raise InvalidParameter naming any parameter that is not in `allowed`.

    >>> known_only({"kidn": "heritage"}, {"kind", "category"})
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: unknown parameter kidn (known: category, kind)
    """
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise InvalidParameter(f"unknown parameter {', '.join(unknown)} (known: {', '.join(sorted(allowed))})")


def numbers(args: Mapping[str, str], name: str, counts: tuple[int, ...]) -> tuple[float, ...] | None:
    """Return a comma-separated list of finite numbers whose length is one of `counts`, None if absent.

    >>> numbers({"bbox": "-8.9,30.46,-8.86,30.49"}, "bbox", (4, 6))
    (-8.9, 30.46, -8.86, 30.49)
    >>> numbers({"bbox": "-8.9,30.46,nan,30.49"}, "bbox", (4, 6))
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: bbox must be 4 or 6 comma-separated numbers (got '-8.9,30.46,nan,30.49')
    """
    value = args.get(name)
    if value is None or value == "":
        return None
    try:
        parsed = tuple(float(part) for part in value.split(","))
    except ValueError:
        parsed = ()
    if len(parsed) not in counts or not all(math.isfinite(n) for n in parsed):
        raise InvalidParameter(f"{name} must be {' or '.join(map(str, counts))} comma-separated numbers (got {value!r})")
    return parsed


def bbox(args: Mapping[str, str], name: str = "bbox") -> tuple[float, ...] | None:
    """Return a bounding box (4 or 6 numbers, lower corner first), rejecting inverted ones.

    >>> bbox({"bbox": "-8.86,30.46,-8.9,30.49"})
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: bbox is inverted: its first corner must be the lower one (got -8.86,30.46,-8.9,30.49)
    """
    box = numbers(args, name, (4, 6))
    if box is None:
        return None
    half = len(box) // 2
    if any(box[i] > box[i + half] for i in range(half)):
        raise InvalidParameter(f"{name} is inverted: its first corner must be the lower one (got {args[name]})")
    return box


def _instant(text: str, name: str, end: bool) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=dt.timezone.utc)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise InvalidParameter(f"{name}: {text!r} is not an RFC 3339 date or date-time") from None
    return moment


def interval(args: Mapping[str, str], name: str = "datetime") -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """Return (start, end) from an RFC 3339 instant or interval (open ends as '..'); a bare date spans its day.

    >>> interval({"datetime": "2024-01-01/.."})[1] is None
    True
    >>> interval({"datetime": "2024-13-01"})
    Traceback (most recent call last):
    ...
    heritage_map.errors.InvalidParameter: datetime: '2024-13-01' is not an RFC 3339 date or date-time
    """
    value = args.get(name)
    if value is None or value == "":
        return None
    if "/" in value:
        first, _, last = value.partition("/")
        start, end = _instant(first, name, False), _instant(last, name, True)
        if start is None and end is None:
            raise InvalidParameter(f"{name}: an interval needs at least one end (got {value!r})")
        if start and end and start > end:
            raise InvalidParameter(f"{name}: the interval ends before it starts (got {value!r})")
        return start, end
    return _instant(value, name, False), _instant(value, name, True)


def sortby(args: Mapping[str, str], allowed: tuple[str, ...]) -> list[tuple[str, bool]]:
    """Return [(property, descending)] from 'sortby=+a,-b'; only `allowed` properties sort.

    >>> sortby({"sortby": "-updated_at,slug"}, ("slug", "updated_at"))
    [('updated_at', True), ('slug', False)]
    """
    value = args.get("sortby")
    if not value:
        return []
    keys = []
    for part in value.split(","):
        part = part.strip()
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in allowed:
            raise InvalidParameter(f"sortby: cannot sort by {name!r} (sortable: {', '.join(allowed)})")
        keys.append((name, desc))
    return keys
