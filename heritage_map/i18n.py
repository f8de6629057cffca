"""The languages records are written in, and the one order their text is looked for in."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

# The interface is in English; a record without English text shows its French, then its Arabic. The pages,
# the map's popups and the planner's tables all read this order (map.js gets it in its config).
FALLBACK = ("en", "fr", "ar")


def languages(lang: str | None = None) -> tuple[str, ...]:
    """Return the order to look for a record's text in: `lang` first, then the fallback order.

    >>> languages()
    ('en', 'fr', 'ar')
    >>> languages("ar"), languages("zgh")
    (('ar', 'en', 'fr'), ('zgh', 'en', 'fr', 'ar'))
    """
    if lang is None:
        return FALLBACK
    return (lang, *(code for code in FALLBACK if code != lang))


def localized(record: object, field: str, lang: str | None = None) -> str:
    """Return a record's `field` ("name", "title", "description") in the first language that has it, else "".

    `record` is an ORM record (attributes name_en, name_fr, …) or a dict (GeoJSON properties); `lang` (later the
    request's interface language) goes before the fallback order. An empty text counts as missing.

    >>> site = {"name_en": "", "name_fr": "Bab El Kasbah", "name_ar": "باب القصبة"}
    >>> localized(site, "name"), localized(site, "name", "ar")
    ('Bab El Kasbah', 'باب القصبة')
    >>> localized({"name_ar": "باب الخميس"}, "name")
    'باب الخميس'
    >>> localized({"slug": "x"}, "name"), localized({"title_en": None, "title_fr": ""}, "title")
    ('', '')
    >>> from types import SimpleNamespace
    >>> project = SimpleNamespace(title_en=None, title_fr="Restauration", title_ar=None)
    >>> localized(project, "title"), localized(project, "name")
    ('Restauration', '')
    """
    get = record.get if isinstance(record, Mapping) else lambda key: getattr(record, key, None)
    for code in languages(lang):
        value = get(f"{field}_{code}")
        if value:
            return value
    return ""


def init_app(app: Flask) -> None:
    """Set up Flask-Babel: `_()` in templates and code, locale-aware numbers and dates (English for now)."""
    from flask_babel import Babel

    Babel(app, locale_selector=lambda: "en")
