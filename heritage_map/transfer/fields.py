"""The attributes of each importable layer: names in files (full and DBF-short), parsing and checks."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ..catalogue import vocab
from ..catalogue.models import Association, Project, Site

# Slugs are URL path parts: plain ASCII, so that links and the slug URL converter stay simple.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass
class Field:
    """One attribute of a layer: its column, its short (DBF) name and how to parse it."""

    name: str
    short: str
    parse: Callable[[object], object]
    required: bool = False


def _text(value):
    if missing(value):
        return None
    text = str(value).strip()
    return text or None


def _choice(values: tuple[str, ...]) -> Callable:
    def parse(value):
        text = _text(value)
        if text is None:
            return None
        if text not in values:
            raise ValueError(f"{text!r} is not one of {', '.join(values)}")
        return text
    return parse


def _list(value) -> list[str]:
    # GeoJSON may hold a list as an array (the API writes them so), which GDAL hands over as a numpy array.
    if not missing(value) and not isinstance(value, str) and hasattr(value, "__iter__"):
        return [str(item).strip() for item in value if str(item).strip()]
    text = _text(value)
    return [item.strip() for item in text.split(";") if item.strip()] if text else []


def _themes(value) -> list[str]:
    items = _list(value)
    for item in items:
        if item not in vocab.THEMES:
            raise ValueError(f"theme {item!r} is not one of {', '.join(vocab.THEMES)}")
    return items


def missing(value) -> bool:
    """Tell whether a cell is empty (None, NaN, NaT or pandas' NA); a list or array never is."""
    return value is None or (pd.api.types.is_scalar(value) and not isinstance(value, (str, bytes))
                             and bool(pd.isna(value)))


def _date(value):
    if missing(value):
        return None
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    return dt.date.fromisoformat(text[:10]) if text else None


def _int(value):
    text = _text(value)
    if text is None:
        return None
    number = float(text)
    if not number.is_integer():
        raise ValueError(f"{text!r} is not a whole number")
    return int(number)


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is None or text.lower() in ("0", "false", "no", "n", "f"):
        return False
    if text.lower() in ("1", "true", "yes", "y", "t"):
        return True
    raise ValueError(f"{text!r} is not a yes/no value (true, false, 1, 0)")


def _category(value):
    text = _text(value)
    if text is None:
        return None
    vocab.category(text)
    return text


COMMON_TEXT = [
    Field("description_ar", "desc_ar", _text), Field("description_fr", "desc_fr", _text),
    Field("description_en", "desc_en", _text), Field("sources", "sources", _list),
    Field("sample", "sample", _bool),
]

LAYERS: dict[str, dict] = {
    "sites": {
        "model": Site,
        "shapes": ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"),
        "geometry_required": True,
        "fields": [
            Field("slug", "slug", _text), Field("ref", "ref", _text),
            Field("name_ar", "name_ar", _text), Field("name_fr", "name_fr", _text),
            Field("name_en", "name_en", _text), Field("name_zgh", "name_zgh", _text),
            Field("kind", "kind", _choice(vocab.KINDS)), Field("category", "category", _category, required=True),
            *COMMON_TEXT,
            Field("period", "period", _text),
            Field("protection_status", "prot_stat", _choice(vocab.PROTECTIONS)),
            Field("protection_ref", "prot_ref", _text), Field("protection_date", "prot_date", _date),
            Field("protection_buffer_m", "prot_buf_m", _int),
            Field("condition", "condition", _choice(vocab.CONDITIONS)), Field("condition_date", "cond_date", _date),
            Field("threats", "threats", _text), Field("visiting_info", "visiting", _text),
            Field("coord_confidence", "coord_conf", _choice(vocab.CONFIDENCES)),
            Field("status", "status", _choice(vocab.STATUSES)),
        ],
    },
    "associations": {
        "model": Association,
        "shapes": ("Point",),
        "geometry_required": False,
        "fields": [
            Field("slug", "slug", _text), Field("name_ar", "name_ar", _text), Field("name_fr", "name_fr", _text),
            Field("name_en", "name_en", _text), Field("themes", "themes", _themes),
            Field("contact", "contact", _text), Field("website", "website", _text),
            *COMMON_TEXT, Field("status", "status", _choice(vocab.STATUSES)),
        ],
    },
    "projects": {
        "model": Project,
        "shapes": ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"),
        "geometry_required": False,
        "fields": [
            Field("slug", "slug", _text), Field("title_ar", "title_ar", _text), Field("title_fr", "title_fr", _text),
            Field("title_en", "title_en", _text), *COMMON_TEXT,
            Field("status", "status", _choice(vocab.PROJECT_STATUSES)),
            Field("publication_status", "pub_status", _choice(vocab.STATUSES)),
            Field("start_date", "start_date", _date), Field("end_date", "end_date", _date),
            Field("themes", "themes", _themes), Field("partners", "partners", _list),
            Field("forum_edition", "forum_ed", _int), Field("sites", "sites", _list),
            Field("associations", "assocs", _list),
        ],
    },
}


def long_name(column: str) -> str:
    """Map a DBF short field name (with a split suffix, as in desc_en2) back to its full name."""
    base = column.rstrip("0123456789")
    for spec in LAYERS.values():
        for f in spec["fields"]:
            if base == f.short and f.short != f.name:
                return f.name + column[len(base):]
    return column


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


def short_name(column: str) -> str:
    """Map a full field name to its DBF name (10 characters at most), keeping split suffixes."""
    base = column.rstrip("0123456789")
    suffix = column[len(base):]
    for spec in LAYERS.values():
        for f in spec["fields"]:
            if f.name == base:
                short = f.short[: 10 - len(suffix)]
                return short + suffix
    return column[:10]
