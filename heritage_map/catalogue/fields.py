"""A layer's attributes as files and forms give them: names (full and DBF-short), parsing and checks."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from . import vocab
from .models import SLUG_PATTERN

# Slugs are URL path parts: plain ASCII, so that links and the slug URL converter stay simple.
SLUG = re.compile(SLUG_PATTERN)


@dataclass
class Field:
    """One attribute of a layer: its column, its short (DBF) name, how to parse it, older names files may use."""

    name: str
    short: str
    parse: Callable[[object], object]
    required: bool = False
    aliases: tuple[str, ...] = ()


def text_value(value):
    """Return a cell as stripped text, None when empty."""
    if missing(value):
        return None
    text = str(value).strip()
    return text or None


def choice(values: tuple[str, ...]) -> Callable:
    """Return a parser that accepts only `values` (or an empty cell)."""
    def parse(value):
        text = text_value(value)
        if text is None:
            return None
        if text not in values:
            raise ValueError(f"{text!r} is not one of {', '.join(values)}")
        return text
    return parse


def text_list(value) -> list[str]:
    """Return a list from an array or a ';'-separated text."""
    # GeoJSON may hold a list as an array (the API writes them so), which GDAL hands over as a numpy array.
    if not missing(value) and not isinstance(value, str) and hasattr(value, "__iter__"):
        return [str(item).strip() for item in value if str(item).strip()]
    text = text_value(value)
    return [item.strip() for item in text.split(";") if item.strip()] if text else []


def theme_list(value) -> list[str]:
    """Return a list of known themes."""
    items = text_list(value)
    for item in items:
        if item not in vocab.THEMES:
            raise ValueError(f"theme {item!r} is not one of {', '.join(vocab.THEMES)}")
    return items


def missing(value) -> bool:
    """Tell whether a cell is empty (None, NaN, NaT or pandas' NA); a list or array never is."""
    return value is None or (pd.api.types.is_scalar(value) and not isinstance(value, (str, bytes))
                             and bool(pd.isna(value)))


def date_value(value):
    """Return a date from a date, a timestamp or ISO text."""
    if missing(value):
        return None
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = text_value(value)
    return dt.date.fromisoformat(text[:10]) if text else None


def whole_number(value):
    """Return a whole number from a number or text."""
    text = text_value(value)
    if text is None:
        return None
    number = float(text)
    if not number.is_integer():
        raise ValueError(f"{text!r} is not a whole number")
    return int(number)


def yes_no(value) -> bool:
    """Return a yes/no cell as a bool (empty is no)."""
    if isinstance(value, bool):
        return value
    text = text_value(value)
    if text is None or text.lower() in ("0", "false", "no", "n", "f"):
        return False
    if text.lower() in ("1", "true", "yes", "y", "t"):
        return True
    raise ValueError(f"{text!r} is not a yes/no value (true, false, 1, 0)")


def category_slug(value):
    """Return a known site category."""
    text = text_value(value)
    if text is None:
        return None
    vocab.category(text)
    return text


def slugify(text: str) -> str:
    """Return a lowercase ASCII slug for `text`.

    >>> slugify("Bab El Khemis (Bab Lkhemiss)")
    'bab-el-khemis-bab-lkhemiss'
    >>> slugify("باب الخميس")
    'site'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in ascii_text).split()
    return "-".join(words)[:80] or "site"
