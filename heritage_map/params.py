"""Query-parameter parsing: small helpers that return a clean value or raise InvalidParameter."""

from __future__ import annotations

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
    try:
        number = int(value)
    except ValueError:
        number = None
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
