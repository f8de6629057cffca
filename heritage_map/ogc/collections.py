"""The feature collections the OGC API serves: which records, which properties, what can be queried and sorted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

from ..catalogue import queries, vocab
from ..catalogue.models import Association, Project, Site
from ..cql2 import Queryable
from ..errors import NotFound


@dataclass(frozen=True)
class Collection:
    """One OGC collection over a table, narrowed by `where`."""

    id: str
    title: str
    description: str
    model: type
    where: Callable[[], list[ColumnElement]]
    queryables: dict[str, Queryable]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sortables: tuple[str, ...] = ("slug", "updated_at")


def _site_queryables() -> dict[str, Queryable]:
    q = {name: Queryable(name, getattr(Site, name), "string")
         for name in ("slug", "ref", "name_en", "name_fr", "name_ar", "name_zgh", "kind", "category", "period",
                      "protection_status", "condition", "coord_confidence")}
    q.update({
        "protection_buffer_m": Queryable("protection_buffer_m", Site.protection_buffer_m, "integer"),
        "protection_date": Queryable("protection_date", Site.protection_date, "date"),
        "condition_date": Queryable("condition_date", Site.condition_date, "date"),
        "sample": Queryable("sample", Site.sample, "boolean"),
        "updated_at": Queryable("updated_at", Site.updated_at, "timestamp"),
        "geometry": Queryable("geometry", Site.geom, "geometry"),
    })
    return q


SITE_ENUMS = {"kind": vocab.KINDS, "category": tuple(vocab.CATEGORIES), "condition": vocab.CONDITIONS,
              "protection_status": vocab.PROTECTIONS, "coord_confidence": vocab.CONFIDENCES}
SITE_SORTABLES = ("slug", "name_en", "category", "condition", "protection_status", "coord_confidence", "updated_at")


def _site_collection(cid: str, title: str, description: str, *clauses) -> Collection:
    return Collection(cid, title, description, Site,
                      lambda: [queries.published(Site), *clauses], _site_queryables(), SITE_ENUMS, SITE_SORTABLES)


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    _site_collection("heritage-sites", "Heritage sites",
                     "Ramparts, gates, kasbah, mosques, squares, souks and other heritage places of Taroudant.",
                     Site.kind == "heritage"),
    _site_collection("environmental-sites", "Environmental sites",
                     "The Souss river, palm groves, the argan biosphere reserve, parks and mountains.",
                     Site.kind == "environment"),
    _site_collection("ramparts", "Ramparts and zones",
                     "The ramparts of the medina (an estimated gate-to-gate outline).",
                     Site.category == "rampart"),
    Collection(
        "projects", "Projects", "Association and forum projects, with their footprint where one is recorded.",
        Project, lambda: [queries.published(Project)],
        {**{n: Queryable(n, getattr(Project, n), "string")
            for n in ("slug", "title_en", "title_fr", "title_ar", "status")},
         "start_date": Queryable("start_date", Project.start_date, "date"),
         "end_date": Queryable("end_date", Project.end_date, "date"),
         "sample": Queryable("sample", Project.sample, "boolean"),
         "updated_at": Queryable("updated_at", Project.updated_at, "timestamp"),
         "geometry": Queryable("geometry", Project.geom, "geometry")},
        {"status": vocab.PROJECT_STATUSES}, ("slug", "title_en", "status", "updated_at")),
    Collection(
        "associations", "Associations", "Local associations, with their seat where one is known.",
        Association, lambda: [queries.published(Association)],
        {**{n: Queryable(n, getattr(Association, n), "string") for n in ("slug", "name_en", "name_fr", "name_ar")},
         "sample": Queryable("sample", Association.sample, "boolean"),
         "updated_at": Queryable("updated_at", Association.updated_at, "timestamp"),
         "geometry": Queryable("geometry", Association.geom, "geometry")},
        {}, ("slug", "name_en", "updated_at")),
)}


def get(collection_id: str) -> Collection:
    """Return the collection `collection_id` or raise NotFound naming the served ones."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound(f"no collection {collection_id!r} (served: {', '.join(COLLECTIONS)})") from None


def sort_column(collection: Collection, name: str) -> ColumnElement:
    """Return the non-null expression a collection sorts `name` by (names may be missing, so '' stands in)."""
    column = collection.queryables[name].column
    return func.coalesce(column, "") if collection.queryables[name].type == "string" else column
