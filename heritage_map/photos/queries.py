"""The SQL of photos: the public ones of a record, one by its file name, the queue; never commits."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from ..catalogue.models import Project, Site
from ..catalogue.queries import published
from ..errors import NotFound
from .models import Photo


def is_public():
    """Return the clause of a public photo: it and its record are published."""
    site, project = aliased(Site), aliased(Project)
    return and_(published(Photo), or_(
        select(site.id).where(site.id == Photo.site_id, site.publication_status == "published").exists(),
        select(project.id).where(project.id == Photo.project_id, project.publication_status == "published").exists(),
    ))


def public(session: Session, *, site_id: int | None = None, project_id: int | None = None) -> list[Photo]:
    """Return the public photos of one site or one project, oldest first."""
    record = Photo.site_id == site_id if site_id is not None else Photo.project_id == project_id
    return list(session.scalars(select(Photo).where(record, is_public()).order_by(Photo.id)))


def public_of(session: Session, layer: str, slug: str) -> list[Photo]:
    """Return the public photos of the record `slug` of `layer` ("sites" or "projects"); none for anything else."""
    model = {"sites": Site, "projects": Project}.get(layer)
    if model is None:
        return []
    column = Photo.site_id if model is Site else Photo.project_id
    return list(session.scalars(select(Photo).join(model, model.id == column)
                                .where(model.slug == slug, is_public()).order_by(Photo.id)))


def by_file_name(session: Session, name: str) -> tuple[Photo, bool]:
    """Return (the photo whose file or thumbnail is `name`, whether it is public), or raise NotFound."""
    row = session.execute(select(Photo, is_public()).where(or_(Photo.file_name == name, Photo.thumb_name == name))
                          .options(selectinload(Photo.site), selectinload(Photo.project))).first()
    if row is None:
        raise NotFound("no such photo")
    return row[0], bool(row[1])


def get(session: Session, photo_id: int) -> Photo:
    """Return the photo `photo_id`, whatever its state, or raise NotFound."""
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise NotFound(f"no photo {photo_id}")
    return photo


def submitted(session: Session) -> list[Photo]:
    """Return the photos waiting for a moderator, oldest first."""
    return list(session.scalars(select(Photo).where(Photo.publication_status == "submitted")
                                .order_by(Photo.id).options(selectinload(Photo.site), selectinload(Photo.project))))


def record(session: Session, layer: str, slug: str):
    """Return the site or project `slug` whatever its state (the caller decides who may act on it), or NotFound."""
    model = {"sites": Site, "projects": Project}[layer]
    options = [selectinload(Project.links)] if model is Project else []
    found = session.scalar(select(model).where(model.slug == slug).options(*options))
    if found is None:
        raise NotFound(f"no {layer[:-1]} called {slug!r}")
    return found
