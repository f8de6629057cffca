"""The layer registry: one declaration per layer, read by the API, the OGC API, the map, files and the seed.

A layer is one table of published records (sites, projects, associations). Its views are the named
subsets people see: an OGC collection, an export, a layer of the map each. Adding a layer is one
model, one migration (its table and its stored-properties trigger) and one entry in LAYERS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import vocab
from .fields import (Field, category_slug, choice, date_value, text_list, text_value, theme_list, whole_number,
                     yes_no)
from .geometry import SHAPES
from .models import Association, Project, Site


@dataclass(frozen=True)
class Filter:
    """A query-string filter of the API, the index pages and the map, and how it picks records.

    `match`: "equals" (the column equals the value), "holds" (an array column holds it), "mentions" (the
    text column mentions the value as a word, case and accents aside: a period "mostly Saadian" is
    Saadian) or "cared_by" (the record is linked to the association whose slug is the value, through a
    project, or is that association). `values`: the values allowed, or None for any record slug.
    """

    name: str
    column: str
    values: tuple[str, ...] | None
    match: str = "equals"
    label: str = ""  # for people (the map's filter panel, the index pages)

    @property
    def array(self) -> bool:
        """Tell whether the filter's column is an array that holds the value."""
        return self.match == "holds"


@dataclass(frozen=True)
class View:
    """A named subset of a layer: one OGC collection, one export and one layer of the map.

    `match` holds filter values (filter name → value) that pick the subset. On the map a feature goes
    to the last view of its layer that it matches, so that a narrower view listed after a wider one
    takes its features out of the wider one's map layer (the ramparts out of the heritage sites).
    """

    id: str
    title: str
    description: str
    match: dict[str, str] = field(default_factory=dict)
    map_key: str = ""
    map_label: str = ""
    colour: str = "#555555"
    cluster: bool = True  # points clustered on the map


@dataclass(frozen=True)
class Layer:
    """One table of publishable records and everything that serves it."""

    key: str  # the API's /api/<key>, the CLI's --layer, an export's name
    model: type
    label_field: str  # the multilingual field that names a record: name (name_en, name_fr…) or title
    fields: tuple[Field, ...]  # attributes in files, in this order
    shapes: tuple[str, ...]  # geometry types accepted
    geometry_required: bool
    filters: tuple[Filter, ...]
    views: tuple[View, ...]
    queryables: tuple[str, ...]  # the OGC API's queryable columns (their JSON types come from the column types)
    sortables: tuple[str, ...]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)  # queryables' allowed values
    page: str = ""  # the endpoint of a record's page, called with its slug
    seed_file: str | None = None  # in geodata/
    links_to: tuple[str, ...] = ()  # the layers its records link to, which are loaded first
    tile_properties: tuple[str, ...] = ()  # the columns a vector tile's features carry (with "url"): what the map shows

    def filter(self, name: str) -> Filter:
        """Return the filter called `name`, or raise ValueError naming the layer's filters."""
        for f in self.filters:
            if f.name == name:
                return f
        raise ValueError(f"{self.key} has no filter {name!r} (its filters: {', '.join(f.name for f in self.filters)})")


NAMES = ("name_ar", "name_fr", "name_en")
TITLES = ("title_ar", "title_fr", "title_en")
KIND = Filter("kind", "kind", vocab.KINDS, label="Kind")
CATEGORY = Filter("category", "category", tuple(vocab.CATEGORIES), label="Category")
THEME = Filter("theme", "themes", vocab.THEMES, match="holds", label="Theme")
# "associations" names the link (project_associations), not a column: see queries.layer_filters.
ASSOCIATION = Filter("association", "associations", None, match="cared_by", label="Association")
COMMON_TEXT = (
    Field("description_ar", "desc_ar", text_value), Field("description_fr", "desc_fr", text_value),
    Field("description_en", "desc_en", text_value), Field("sources", "sources", text_list),
    Field("sample", "sample", yes_no),
)

SITES = Layer(
    key="sites", model=Site, label_field="name",
    fields=(
        Field("slug", "slug", text_value), Field("ref", "ref", text_value),
        *(Field(n, n, text_value) for n in NAMES), Field("name_zgh", "name_zgh", text_value),
        Field("kind", "kind", choice(vocab.KINDS)), Field("category", "category", category_slug, required=True),
        *COMMON_TEXT,
        Field("period", "period", text_value),
        Field("protection_status", "prot_stat", choice(vocab.PROTECTIONS)),
        Field("protection_ref", "prot_ref", text_value), Field("protection_date", "prot_date", date_value),
        Field("protection_buffer_m", "prot_buf_m", whole_number),
        Field("condition", "condition", choice(vocab.CONDITIONS)), Field("condition_date", "cond_date", date_value),
        Field("threats", "threats", text_value), Field("visiting_info", "visiting", text_value),
        Field("coord_confidence", "coord_conf", choice(vocab.CONFIDENCES)),
        Field("publication_status", "pub_status", choice(vocab.PUBLICATION_STATES), aliases=("status",)),
    ),
    shapes=SHAPES, geometry_required=True,
    filters=(KIND, CATEGORY, Filter("period", "period", vocab.PERIODS, match="mentions", label="Period"),
             Filter("condition", "condition", vocab.CONDITIONS, label="Condition"),
             Filter("protection", "protection_status", vocab.PROTECTIONS, label="Protection status"), ASSOCIATION),
    views=(
        View("heritage-sites", "Heritage sites",
             "Ramparts, gates, kasbah, mosques, squares, souks and other heritage places of Taroudant.",
             {"kind": "heritage"}, "heritage", "Heritage sites", "#8b1e1e"),
        View("environmental-sites", "Environmental sites",
             "The Souss river, palm groves, the argan biosphere reserve, parks and mountains.",
             {"kind": "environment"}, "environment", "Environmental sites", "#1e6b3a"),
        View("ramparts", "Ramparts and zones", "The ramparts of the medina (an estimated gate-to-gate outline).",
             {"category": "rampart"}, "ramparts", "Ramparts outline", "#b5651d", cluster=False),
    ),
    queryables=("slug", "ref", "name_en", "name_fr", "name_ar", "name_zgh", "kind", "category", "period",
                "protection_status", "condition", "coord_confidence", "protection_buffer_m", "protection_date",
                "condition_date", "sample", "updated_at", "geometry"),
    sortables=("slug", "name_en", "category", "condition", "protection_status", "coord_confidence", "updated_at"),
    enums={"kind": vocab.KINDS, "category": tuple(vocab.CATEGORIES), "condition": vocab.CONDITIONS,
           "protection_status": vocab.PROTECTIONS, "coord_confidence": vocab.CONFIDENCES},
    page="web.site", seed_file="sites.geojson",
    tile_properties=("slug", "name_en", "name_fr", "name_ar", "category", "kind", "sample"),
)

ASSOCIATIONS = Layer(
    key="associations", model=Association, label_field="name",
    fields=(
        Field("slug", "slug", text_value), *(Field(n, n, text_value) for n in NAMES),
        Field("themes", "themes", theme_list), Field("contact", "contact", text_value),
        Field("website", "website", text_value), *COMMON_TEXT,
        Field("publication_status", "pub_status", choice(vocab.PUBLICATION_STATES), aliases=("status",)),
    ),
    shapes=("Point",), geometry_required=False,
    filters=(THEME, ASSOCIATION),
    views=(View("associations", "Associations", "Local associations, with their seat where one is known.",
                {}, "associations", "Associations", "#1f5f8b"),),
    queryables=("slug", "name_en", "name_fr", "name_ar", "themes", "sample", "updated_at", "geometry"),
    sortables=("slug", "name_en", "updated_at"),
    page="web.association", seed_file="associations.geojson",
    tile_properties=("slug", "name_en", "name_fr", "name_ar", "sample"),
)

PROJECTS = Layer(
    key="projects", model=Project, label_field="title",
    fields=(
        Field("slug", "slug", text_value), *(Field(n, n, text_value) for n in TITLES), *COMMON_TEXT,
        Field("status", "status", choice(vocab.PROJECT_STATUSES)),
        Field("publication_status", "pub_status", choice(vocab.PUBLICATION_STATES)),
        Field("start_date", "start_date", date_value), Field("end_date", "end_date", date_value),
        Field("themes", "themes", theme_list), Field("partners", "partners", text_list),
        Field("forum_edition", "forum_ed", whole_number), Field("sites", "sites", text_list),
        Field("associations", "assocs", text_list),
    ),
    shapes=SHAPES, geometry_required=False,
    filters=(Filter("status", "status", vocab.PROJECT_STATUSES, label="Project status"), THEME, ASSOCIATION),
    views=(View("projects", "Projects",
                "Association and forum projects, with their footprint where one is recorded.",
                {}, "projects", "Projects", "#5b3c88"),),
    queryables=("slug", "title_en", "title_fr", "title_ar", "status", "themes", "start_date", "end_date", "sample",
                "updated_at", "geometry"),
    sortables=("slug", "title_en", "status", "updated_at"),
    enums={"status": vocab.PROJECT_STATUSES},
    page="web.project", seed_file="projects.geojson", links_to=("sites", "associations"),
    tile_properties=("slug", "title_en", "title_fr", "title_ar", "status", "sample"),
)

# In the order of the map's layer list and of the OGC collections.
LAYERS: dict[str, Layer] = {layer.key: layer for layer in (SITES, PROJECTS, ASSOCIATIONS)}
VIEWS: dict[str, tuple[Layer, View]] = {view.id: (layer, view) for layer in LAYERS.values() for view in layer.views}


def get(key: str) -> Layer:
    """Return the layer `key`, or raise ValueError naming the known ones."""
    try:
        return LAYERS[key]
    except KeyError:
        raise ValueError(f"unknown layer {key!r} (known: {', '.join(LAYERS)})") from None


def load_order() -> list[Layer]:
    """Return the layers in an order that loads each after the layers its records link to."""
    done: dict[str, Layer] = {}

    def visit(layer: Layer) -> None:
        for key in layer.links_to:
            visit(LAYERS[key])
        done.setdefault(layer.key, layer)

    for layer in LAYERS.values():
        visit(layer)
    return list(done.values())


def map_views() -> list[tuple[Layer, View]]:
    """Return every view that is a layer of the map, in the map's order."""
    return [(layer, view) for layer in LAYERS.values() for view in layer.views if view.map_key]
