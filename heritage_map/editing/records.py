"""The records associations edit, whatever their state: loading them, who owns them, what they may link to."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..catalogue.models import Association, Project, ProjectAssociation, Site
from ..errors import NotFound

# The editable kinds of record, by the table (and URL part) that holds them.
MODELS = {"projects": Project, "sites": Site, "associations": Association}
SEARCH_LIMIT = 20


def model_of(kind: str):
    """Return the model of `kind` (projects, sites, associations), or raise NotFound."""
    try:
        return MODELS[kind]
    except KeyError:
        raise NotFound(f"no kind of record called {kind!r}") from None


def get(session: Session, kind: str, slug: str):
    """Return the record `slug` of `kind` in any state (callers check who may see it), or raise NotFound."""
    model = model_of(kind)
    options = [selectinload(Project.sites), selectinload(Project.links)] if model is Project else []
    record = session.scalar(select(model).where(model.slug == slug).options(*options))
    if record is None:
        raise NotFound(f"no record called {slug!r}")
    return record


def owner_id(record) -> int | None:
    """Return the id of the association owning `record`: a project's lead, a site's proposer, an association itself."""
    if isinstance(record, Project):
        return next((link.association_id for link in record.links if link.role == "lead"), None)
    if isinstance(record, Site):
        return record.proposed_by_association_id
    return record.id


def association(session: Session, slug: str) -> Association:
    """Return the association `slug` in any state, or raise NotFound."""
    record = session.scalar(select(Association).where(Association.slug == slug))
    if record is None:
        raise NotFound(f"no association called {slug!r}")
    return record


def site_visible(association_id: int | None, moderator: bool):
    """Return the clause of the sites a person may link: published ones, their association's own, all for moderators."""
    if moderator:
        return Site.id.is_not(None)
    clause = Site.publication_status == "published"
    if association_id is not None:
        clause = or_(clause, Site.proposed_by_association_id == association_id)
    return clause


def search_sites(session: Session, query: str, association_id: int | None, moderator: bool) -> list[Site]:
    """Return the sites whose name in any language (or slug) holds `query`, among those visible (site_visible)."""
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    names = or_(*(func.accent_fold(column).ilike(func.accent_fold(pattern))
                  for column in (Site.name_en, Site.name_fr, Site.name_ar, Site.name_zgh, Site.slug)))
    return list(session.scalars(select(Site).where(and_(names, site_visible(association_id, moderator)))
                                .order_by(Site.name_en, Site.slug).limit(SEARCH_LIMIT)))


def sites_by_id(session: Session, ids: list[int], association_id: int | None, moderator: bool) -> list[Site]:
    """Return the sites of `ids` a person may link; ids they may not see are left out, as if unknown."""
    if not ids:
        return []
    return list(session.scalars(select(Site).where(Site.id.in_(ids), site_visible(association_id, moderator))
                                .order_by(Site.slug)))


def published_associations(session: Session) -> list[Association]:
    """Return the published associations, by name, to choose partners among."""
    return list(session.scalars(select(Association).where(Association.publication_status == "published")
                                .order_by(Association.name_en, Association.slug)))


def set_links(project: Project, lead_id: int, partner_ids: list[int]) -> None:
    """Make `lead_id` the project's lead and `partner_ids` its partners (the lead is never its own partner)."""
    wanted = {lead_id: "lead", **{pid: "partner" for pid in partner_ids if pid != lead_id}}
    project.links = [link for link in project.links if link.association_id in wanted]
    for link in project.links:
        link.role = wanted.pop(link.association_id)
    project.links.extend(ProjectAssociation(association_id=aid, role=role) for aid, role in wanted.items())
