"""A photo of a site or a project: the re-encoded file's generated names, its checked type and its alt text."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts import models as _accounts  # noqa: F401 (photos.uploaded_by refers to its users table)
from ..catalogue import vocab
from ..catalogue.models import Base, Project, Site, Timestamped, one_of

# The types a photo is stored and served as, by the format Pillow read (never by the uploaded name).
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class Photo(Timestamped, Base):
    """One photo of one site or one project; public when both it and its record are published."""

    __tablename__ = "photos"
    __table_args__ = (
        one_of("publication_status", vocab.PUBLICATION_STATES),
        one_of("media_type", tuple(EXTENSIONS)),
        CheckConstraint("(site_id IS NULL) <> (project_id IS NULL)", name="one_record"),
        CheckConstraint("coalesce(alt_en, '') <> '' OR coalesce(alt_fr, '') <> '' OR coalesce(alt_ar, '') <> ''",
                        name="has_alt"),
        # Generated names only: a hex token and the type's extension, nothing that could leave the folder.
        CheckConstraint("file_name ~ '^[0-9a-f]{32}\\.(jpg|png|webp)$'", name="file_name_format"),
        CheckConstraint("thumb_name ~ '^[0-9a-f]{32}-thumb\\.(jpg|png|webp)$'", name="thumb_name_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # The association the uploader acted for (None: an admin); its editors answer for the photo.
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id", ondelete="SET NULL"))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    media_type: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(60), unique=True)
    thumb_name: Mapped[str] = mapped_column(String(60), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    alt_ar: Mapped[str | None] = mapped_column(Text)
    alt_fr: Mapped[str | None] = mapped_column(Text)
    alt_en: Mapped[str | None] = mapped_column(Text)
    # An upload is a submission: a moderator publishes it (or asks for changes) like any record.
    publication_status: Mapped[str] = mapped_column(String(20), default="submitted")
    review_comment: Mapped[str | None] = mapped_column(Text)

    site: Mapped[Site | None] = relationship()
    project: Mapped[Project | None] = relationship()
