"""Putting what a form holds into a record: values, links and geometry, as one recorded change, version checked."""

from __future__ import annotations

import json

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..catalogue import vocab
from ..catalogue.models import SRID, Association, Project, Site
from . import forms, history, records

PROJECT_FIELDS = ("title_en", "title_fr", "title_ar", "description_en", "description_fr", "description_ar",
                  "status", "start_date", "end_date", "themes")
ASSOCIATION_FIELDS = ("name_en", "name_fr", "name_ar", "description_en", "description_fr", "description_ar",
                      "themes", "contact", "website")
SITE_FIELDS = ("name_en", "name_fr", "name_ar", "name_zgh", "category", "description_en", "description_fr",
               "description_ar", "period", "coord_confidence", "protection_status", "protection_buffer_m",
               "condition", "threats", "visiting_info")


class StaleRecord(Exception):
    """Someone else saved the record after it was read: nothing was written."""


def geometry_text(record) -> str:
    """Return a record's geometry as GeoJSON text for the form's map ('' without one)."""
    return json.dumps(mapping(to_shape(record.geom))) if record.geom is not None else ""


def initial(record) -> dict:
    """Return the form's values for an existing record."""
    data = {name: getattr(record, name) for name in fields_of(record)}
    data.update(slug=record.slug, version=str(record.version), sources="\n".join(record.sources or []),
                geometry=geometry_text(record))
    if isinstance(record, Project):
        data.update(partners="\n".join(record.partners or []), forum_session=record.forum_session_id,
                    forum_recommendation=record.forum_recommendation or "", sites=[s.id for s in record.sites],
                    association=records.owner_id(record),
                    partner_associations=[link.association_id for link in record.links if link.role == "partner"])
    elif isinstance(record, Site):
        data["association"] = record.proposed_by_association_id
    return data


def fields_of(record) -> tuple[str, ...]:
    """Return the columns a record's form writes as they are typed."""
    if isinstance(record, Project):
        return PROJECT_FIELDS
    return ASSOCIATION_FIELDS if isinstance(record, Association) else SITE_FIELDS


def unique_slug(session: Session, model, wanted: str, fallback: str) -> str:
    """Return `wanted` (or `fallback`) made unique among `model`'s slugs by a number at its end."""
    base = wanted or fallback
    slug, n = base, 1
    while session.query(model.id).filter(model.slug == slug).first() is not None:
        n += 1
        slug = f"{base[:75]}-{n}"
    return slug


def apply(session: Session, user_id: int, record, form, geom: BaseGeometry | None, sites: list[Site],
          read_version: int | None) -> None:
    """Write the form into `record` (new or read at `read_version`), recorded as `user_id`'s change.

    Raise StaleRecord when the record changed since it was read; the transaction is then to be rolled back.
    """
    history.act_as(session, user_id)
    if read_version is not None and record.version != read_version:
        raise StaleRecord()
    for name in fields_of(record):
        value = getattr(form, name).data
        setattr(record, name, value.strip() or None if isinstance(value, str) and name not in (
            "status", "category", "coord_confidence", "protection_status", "condition") else value)
    record.sources = forms.lines(form.sources.data)
    record.geom = from_shape(geom, srid=SRID) if geom is not None else None
    if isinstance(record, Project):
        record.partners = forms.lines(form.partners.data)
        record.forum_session_id = form.forum_session.data
        record.forum_recommendation = form.forum_recommendation.data or None
        record.sites = sites
        records.set_links(record, form.association.data, list(form.partner_associations.data or []))
    elif isinstance(record, Site):
        record.kind = vocab.CATEGORIES[record.category].kind
    try:
        session.flush()
    except StaleDataError:
        raise StaleRecord() from None
