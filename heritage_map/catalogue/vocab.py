"""Controlled vocabularies: site kinds and categories, statuses, confidence levels, themes."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("heritage", "environment")


@dataclass(frozen=True)
class Category:
    """A site category with its kind, labels and map symbol."""

    slug: str
    kind: str
    en: str
    fr: str
    ar: str
    icon: str  # a Font Awesome 6 solid icon name
    color: str  # a Leaflet.awesome-markers colour


CATEGORIES: dict[str, Category] = {
    c.slug: c
    for c in (
        Category("rampart", "heritage", "Rampart", "Rempart", "سور", "chess-rook", "darkred"),
        Category("gate", "heritage", "Gate", "Porte (Bab)", "باب", "archway", "red"),
        Category("kasbah", "heritage", "Kasbah", "Kasbah", "قصبة", "dungeon", "darkred"),
        Category("mosque", "heritage", "Mosque", "Mosquée", "مسجد", "mosque", "darkpurple"),
        Category("zaouia", "heritage", "Zaouia / shrine", "Zaouïa / mausolée", "زاوية", "star-and-crescent", "purple"),
        Category("square", "heritage", "Square", "Place", "ساحة", "people-group", "orange"),
        Category("souk", "heritage", "Souk", "Souk", "سوق", "store", "orange"),
        Category("palace", "heritage", "Palace", "Palais", "قصر", "crown", "cadetblue"),
        Category("museum", "heritage", "Museum", "Musée", "متحف", "building-columns", "cadetblue"),
        Category("craft_site", "heritage", "Craft site", "Site artisanal", "موقع حرفي", "hammer", "beige"),
        Category("cemetery", "heritage", "Cemetery", "Cimetière", "مقبرة", "monument", "gray"),
        Category("garden", "environment", "Garden", "Jardin", "حديقة", "seedling", "lightgreen"),
        Category("palm_grove", "environment", "Palm grove / oasis", "Palmeraie / oasis", "واحة", "tree", "green"),
        Category("argan_forest", "environment", "Argan forest", "Arganeraie", "غابة الأركان", "tree", "darkgreen"),
        Category("river", "environment", "River", "Oued / rivière", "واد", "water", "blue"),
        Category("protected_area", "environment", "Protected area", "Aire protégée", "منطقة محمية", "leaf", "darkgreen"),
        Category("viewpoint", "environment", "Viewpoint", "Point de vue", "مطل", "binoculars", "lightblue"),
        Category("mountain", "environment", "Mountain, pass or summit", "Montagne, col ou sommet", "جبل", "mountain", "darkblue"),
    )
}

# Whether a record is public: only "published" is. A draft is submitted for review, then published or
# sent back with changes requested; a published record can be withdrawn.
PUBLICATION_STATES = ("draft", "submitted", "changes_requested", "published", "withdrawn")

# "estimated" means the position was worked out by us, not read from any source.
CONFIDENCES = ("surveyed", "high", "medium", "low", "estimated")

CONDITIONS = ("good", "fair", "poor", "very_bad", "unknown")

PROTECTIONS = ("classified", "protected_area", "none", "unknown")

# Default protection buffer in metres when a site has none of its own. A planning default of
# this app, not a legal figure: classified monuments get a 200 m watch zone, places of unknown
# status 50 m; protected areas are zones already, so they count only where touched.
PROTECTION_BUFFERS = {"classified": 200, "protected_area": 0, "none": 0, "unknown": 50}

# Periods a site's free-text `period` is filtered by: the ones it mentions ("Almoravid origins; mostly Saadian").
PERIODS = ("almoravid", "saadian", "contemporary")

PROJECT_STATUSES = ("proposed", "active", "completed", "paused")

LINK_ROLES = ("lead", "partner")

THEMES = ("heritage", "environment", "communication", "youth", "culture", "training", "tourism", "cooperation")


def category(slug: str) -> Category:
    """Return the category named `slug` or raise ValueError listing the known ones."""
    try:
        return CATEGORIES[slug]
    except KeyError:
        known = ", ".join(sorted(CATEGORIES))
        raise ValueError(f"unknown category {slug!r} (known: {known})") from None
