"""Text search over names and descriptions in any script: the SQL of /api/search, /search and the OGC `q=`.

Both sides go through the database's search_fold (migration 0012: unaccent, Arabic letter variants,
tashkeel and tatweel off, lowercase): the stored side once, by trigger, into each table's
`search_text`; the query at each request. A record matches when the folded query is a substring of its
text, or when it is like enough to a stretch of it (pg_trgm's word similarity, at least its default 0.6:
"bab el khmis" finds Bab El Khemis, but a lone short word with a letter missing, "khmis", scores 0.44 and
does not). Both tests use the GIN trigram index on search_text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, Integer, String, and_, bindparam, cast, func, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from .models import Association, Project, Site, Trail
from .queries import published

MAX_RESULTS = 50
MAX_QUERY = 200  # characters: a name or a few words, not a document


@dataclass(frozen=True)
class Searched:
    """A table whose records are searched, what names them and the endpoint of their page."""

    layer: str
    model: type
    label: str  # "name" (name_en, name_fr, name_ar) or "title"
    page: str


SEARCHED = (
    Searched("sites", Site, "name", "web.site"),
    Searched("trails", Trail, "name", "trails.trail"),
    Searched("projects", Project, "title", "web.project"),
    Searched("associations", Association, "name", "web.association"),
)


def like_pattern(q: str) -> str:
    r"""Return the LIKE pattern that finds `q` anywhere, its own % _ and \ taken literally.

    >>> like_pattern("50%_off\\")
    '%50\\%\\_off\\\\%'
    """
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def values(q: str) -> dict[str, str]:
    """Return the bound values of match(): the query and its LIKE pattern."""
    return {"q": q, "q_like": like_pattern(q)}


def folded_query() -> ColumnElement:
    """Return the query (bound as "q") as the database folds it."""
    return func.search_fold(bindparam("q", type_=String))


def match(model) -> ColumnElement:
    """Return the clause of `model`'s records matching the query bound as "q" (and "q_like", see values())."""
    text = model.search_text
    # A query of marks alone (tashkeel, tatweel) folds to nothing, and '%%' would match every record.
    found = text.like(func.search_fold(bindparam("q_like", type_=String))) | folded_query().op("<%")(text)
    return and_(folded_query() != "", found)


def rank(spec: Searched) -> ColumnElement:
    """Return how well a record matches: best a name that is the query, then a name holding it, then any text.

    Word similarity says how well the query matches the best stretch of a text (1 when it is in it);
    similarity how much of the whole name the query is, so that "kasbah" puts the Kasbah before Bab El Kasbah.
    """
    q = folded_query()
    names = spec.model.search_name
    in_name = cast(names.like(func.search_fold(bindparam("q_like", type_=String))), Integer)
    return (2 * func.word_similarity(q, names) + in_name + func.similarity(q, names)
            + 0.5 * func.word_similarity(q, spec.model.search_text))


def _layer_select(spec: Searched, record_url: str):
    model = spec.model
    geom = model.geom
    point = func.ST_PointOnSurface(geom)
    return (select(literal(spec.layer, String).label("layer"), model.slug.label("slug"),
                   *(getattr(model, f"{spec.label}_{lang}").label(f"name_{lang}") for lang in ("en", "fr", "ar")),
                   func.replace(literal(record_url, String), "{slug}", model.slug).label("url"),
                   cast(rank(spec), Float).label("rank"),
                   func.ST_X(point).label("lon"), func.ST_Y(point).label("lat"),
                   func.ST_XMin(geom).label("xmin"), func.ST_YMin(geom).label("ymin"),
                   func.ST_XMax(geom).label("xmax"), func.ST_YMax(geom).label("ymax"))
            .where(and_(published(model), match(model))))


def search(session: Session, q: str, record_urls: dict[str, str], *, layers: tuple[str, ...] | None = None,
           limit: int = 20) -> list[dict]:
    """Return the published records matching `q`, best first, as dicts (layer, slug, names, url, point, bbox).

    `record_urls` maps a layer to its record page path with "{slug}" for the slug; `layers` narrows the search.
    """
    chosen = [spec for spec in SEARCHED if layers is None or spec.layer in layers]
    union = union_all(*(_layer_select(spec, record_urls[spec.layer]) for spec in chosen)).subquery("found")
    stmt = select(union).order_by(union.c.rank.desc(), union.c.layer, union.c.slug).limit(limit)
    rows = session.execute(stmt, values(q)).mappings().all()
    results = []
    for row in rows:
        located = row["lon"] is not None
        results.append({
            "layer": row["layer"], "slug": row["slug"],
            "name_en": row["name_en"], "name_fr": row["name_fr"], "name_ar": row["name_ar"],
            "url": row["url"], "rank": round(row["rank"], 3),
            "point": [round(row["lon"], 7), round(row["lat"], 7)] if located else None,
            "bbox": [round(row[k], 7) for k in ("xmin", "ymin", "xmax", "ymax")] if located else None,
        })
    return results
