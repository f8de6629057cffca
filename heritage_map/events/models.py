"""An event an association announces: when (timestamptz), where (a site or a point) and what."""

from __future__ import annotations

import datetime as dt
import uuid

from geoalchemy2 import WKBElement
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalogue import vocab
from ..catalogue.models import Association, Base, Site, Timestamped, geometry, one_of

# What associations announce; "other" for what fits none of these.
EVENT_KINDS = ("training", "awareness_campaign", "clean_up", "guided_visit", "other")
# Events happen in Taroudant: times are typed and shown in its zone, stored as timestamptz.
TIMEZONE = "Africa/Casablanca"


class Event(Timestamped, Base):
    """An activity of one association, public once a moderator publishes it."""

    __tablename__ = "events"
    __table_args__ = (
        one_of("kind", EVENT_KINDS), one_of("publication_status", vocab.PUBLICATION_STATES),
        CheckConstraint("ends_at >= starts_at", name="times_ordered"),
        # A place: a site, or a point of its own.
        CheckConstraint("site_id IS NOT NULL OR geom IS NOT NULL", name="has_place"),
        CheckConstraint("geom IS NULL OR (ST_GeometryType(geom) = 'ST_Point' AND ST_IsValid(geom))",
                        name="geom_shape"),
        CheckConstraint("coalesce(title_en, '') <> '' OR coalesce(title_fr, '') <> '' OR coalesce(title_ar, '') <> ''",
                        name="has_title"),
        Index("ix_events_geom", "geom", postgresql_using="gist"),
        Index("ix_events_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The iCalendar UID: stable for the event's life, unique across calendars.
    uid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, server_default=text("gen_random_uuid()"))
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title_ar: Mapped[str | None] = mapped_column(Text)
    title_fr: Mapped[str | None] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(Text)
    description_ar: Mapped[str | None] = mapped_column(Text)
    description_fr: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    publication_status: Mapped[str] = mapped_column(String(20), default="draft")
    review_comment: Mapped[str | None] = mapped_column(Text)  # the moderator's last word, when changes are asked
    # Optimistic locking: an UPDATE names the version it read and bumps it; a stale one updates nothing.
    version: Mapped[int] = mapped_column(Integer)
    geom: Mapped[WKBElement | None] = geometry(nullable=True, geometry_type="POINT")

    association: Mapped[Association] = relationship()
    site: Mapped[Site | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
