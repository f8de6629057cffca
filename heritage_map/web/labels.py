"""What people read for the controlled vocabularies (catalogue/vocab.py), in the interface language."""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l

from .. import i18n
from ..catalogue import vocab

# Category labels are written in vocab.CATEGORIES in the three languages (they are data of the catalogue too).
LABELS: dict[str, dict] = {
    "kind": {"heritage": _l("heritage"), "environment": _l("environment")},
    "condition": {"good": _l("good"), "fair": _l("fair"), "poor": _l("poor"), "very_bad": _l("very bad"),
                  "unknown": _l("unknown")},
    "protection_status": {"classified": _l("classified monument"), "protected_area": _l("protected area"),
                          "none": _l("not protected"), "unknown": _l("unknown")},
    "status": {"proposed": _l("proposed"), "active": _l("active"), "completed": _l("completed"),
               "paused": _l("paused")},
    "theme": {"heritage": _l("heritage"), "environment": _l("environment"), "communication": _l("communication"),
              "youth": _l("youth"), "culture": _l("culture"), "training": _l("training"), "tourism": _l("tourism"),
              "cooperation": _l("cooperation")},
    "role": {"lead": _l("lead"), "partner": _l("partner")},
    "period": {"almoravid": _l("Almoravid"), "saadian": _l("Saadian"), "contemporary": _l("contemporary")},
}
assert set(LABELS["condition"]) == set(vocab.CONDITIONS) and set(LABELS["theme"]) == set(vocab.THEMES)
assert set(LABELS["protection_status"]) == set(vocab.PROTECTIONS) and set(LABELS["kind"]) == set(vocab.KINDS)
assert set(LABELS["status"]) == set(vocab.PROJECT_STATUSES) and set(LABELS["role"]) == set(vocab.LINK_ROLES)
assert set(LABELS["period"]) == set(vocab.PERIODS)


def category(slug: str | None) -> str:
    """Return a site category's label in the interface language (the slug itself when unknown)."""
    found = vocab.CATEGORIES.get(slug or "")
    return getattr(found, i18n.current_language().code) if found else (slug or "—")


def label(value: str | None, vocabulary: str) -> str:
    """Return what people read for `value` of `vocabulary` ("condition", "theme", …, "category")."""
    if vocabulary == "category":
        return category(value)
    if value is None or value == "":
        return "—"
    found = LABELS[vocabulary].get(value)
    return str(found) if found is not None else value.replace("_", " ")


def labels(vocabulary: str) -> dict[str, str]:
    """Return every value of `vocabulary` with its label, for a filter or for map.js and planner.js."""
    if vocabulary == "category":
        return {slug: category(slug) for slug in vocab.CATEGORIES}
    return {value: str(text) for value, text in LABELS[vocabulary].items()}


def join(values, vocabulary: str) -> str:
    """Return several values' labels joined by the language's list separator."""
    return ("، " if i18n.current_language().code == "ar" else ", ").join(label(v, vocabulary) for v in values or ())


# Texts of the layer registry and of the OGC documents, which are English data of their JSON; the HTML pages
# read them through the `translated` filter. Listed here so that extraction puts them in the catalogues.
CATALOGUE_TEXTS = (
    _l("Heritage sites"), _l("Environmental sites"), _l("Ramparts and zones"), _l("Ramparts outline"),
    _l("Associations"), _l("Projects"), _l("Theme"), _l("Project status"),
    _l("Ramparts, gates, kasbah, mosques, squares, souks and other heritage places of Taroudant."),
    _l("The Souss river, palm groves, the argan biosphere reserve, parks and mountains."),
    _l("The ramparts of the medina (an estimated gate-to-gate outline)."),
    _l("Local associations, with their seat where one is known."),
    _l("Association and forum projects, with their footprint where one is recorded."),
    _l("Taroudant Heritage Map — OGC API Features"),
    _l("Heritage and environmental sites, projects and associations of Taroudant, Morocco."),
    _l("this document"), _l("the API definition"), _l("the API documentation"), _l("conformance"),
    _l("collections"), _l("queryables"), _l("vector tilesets"), _l("next page"), _l("previous page"),
    _l("this tileset"), _l("the collection"), _l("OGC API"), _l("OGC API Features"),
)


def translated(text: str | None) -> str:
    """Return an English text of the registry or of an OGC document in the interface language, if known."""
    return gettext(text) if text else ""
