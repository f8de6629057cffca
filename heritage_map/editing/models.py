"""The review steps of records and the history of their changes (written by a trigger, migration 0010)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..accounts import models as _accounts  # noqa: F401 (users, whom reviews and revisions name)
from ..catalogue.models import Base

REVIEW_ACTIONS = ("submitted", "changes_requested", "published", "unpublished")


class Review(Base):
    """One step of a record's review: submitted, changes requested (with the comment), published, unpublished."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(f"action IN ({', '.join(repr(a) for a in REVIEW_ACTIONS)})", name="action"),
        Index("ix_reviews_table_name", "table_name", "record_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(63))
    record_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Revision(Base):
    """One insert, update or delete of a tracked record: who, when, the fields changed, the row after it."""

    __tablename__ = "revisions"
    __table_args__ = (
        CheckConstraint("operation IN ('insert', 'update', 'delete')", name="operation"),
        Index("ix_revisions_table_name", "table_name", "record_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(63))
    record_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    operation: Mapped[str] = mapped_column(String(10))
    version: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[dict] = mapped_column(JSONB)  # field → {"old": …, "new": …}, geometries as GeoJSON
    row: Mapped[dict | None] = mapped_column(JSONB)  # the whole row after the change (None after a delete)
