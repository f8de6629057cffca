"""Events that associations announce, and photos of sites and projects

Events: kind, per-language title and description, start and end as timestamptz (typed in
Africa/Casablanca), a place (a site or a point), the owning association, a publication status
(new ones are drafts), the moderator's last comment, a version for optimistic locking and a
UUID for the iCalendar UID. Photos: one site or one project, the generated names of the
re-encoded file and its thumbnail, the checked type, alt text, and their own publication status.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATES = "'draft', 'submitted', 'changes_requested', 'published', 'withdrawn'"


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)]


def _fk(column: str, table: str, owner: str, ondelete: str, nullable: bool = True) -> sa.Column:
    return sa.Column(column, sa.Integer, sa.ForeignKey(f"{table}.id", ondelete=ondelete,
                                                       name=f"fk_{owner}_{column}_{table}"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.Uuid, server_default=sa.text("gen_random_uuid()"), nullable=False),
        _fk("association_id", "associations", "events", "CASCADE", nullable=False),
        _fk("site_id", "sites", "events", "RESTRICT"),
        sa.Column("kind", sa.String(30), nullable=False),
        *(sa.Column(f"{field}_{lang}", sa.Text) for field in ("title", "description") for lang in ("ar", "fr", "en")),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("publication_status", sa.String(20), nullable=False),
        sa.Column("review_comment", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
        *_timestamps(),
        sa.CheckConstraint("kind IN ('training', 'awareness_campaign', 'clean_up', 'guided_visit', 'other')",
                           name="ck_events_kind"),
        sa.CheckConstraint(f"publication_status IN ({STATES})", name="ck_events_publication_status"),
        sa.CheckConstraint("ends_at >= starts_at", name="ck_events_times_ordered"),
        sa.CheckConstraint("site_id IS NOT NULL OR geom IS NOT NULL", name="ck_events_has_place"),
        sa.CheckConstraint("geom IS NULL OR (ST_GeometryType(geom) = 'ST_Point' AND ST_IsValid(geom))",
                           name="ck_events_geom_shape"),
        sa.CheckConstraint("coalesce(title_en, '') <> '' OR coalesce(title_fr, '') <> '' "
                           "OR coalesce(title_ar, '') <> ''", name="ck_events_has_title"),
        sa.UniqueConstraint("uid", name="uq_events_uid"),
    )
    op.create_index("ix_events_geom", "events", ["geom"], postgresql_using="gist")
    op.create_index("ix_events_starts_at", "events", ["starts_at"])
    op.create_index("ix_events_association_id", "events", ["association_id"])
    op.create_index("ix_events_site_id", "events", ["site_id"])

    op.create_table(
        "photos",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("site_id", "sites", "photos", "CASCADE"),
        _fk("project_id", "projects", "photos", "CASCADE"),
        _fk("association_id", "associations", "photos", "SET NULL"),
        _fk("uploaded_by", "users", "photos", "SET NULL"),
        sa.Column("media_type", sa.String(20), nullable=False),
        sa.Column("file_name", sa.String(60), nullable=False),
        sa.Column("thumb_name", sa.String(60), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        *(sa.Column(f"alt_{lang}", sa.Text) for lang in ("ar", "fr", "en")),
        sa.Column("publication_status", sa.String(20), nullable=False),
        sa.Column("review_comment", sa.Text),
        *_timestamps(),
        sa.CheckConstraint(f"publication_status IN ({STATES})", name="ck_photos_publication_status"),
        sa.CheckConstraint("media_type IN ('image/jpeg', 'image/png', 'image/webp')", name="ck_photos_media_type"),
        sa.CheckConstraint("(site_id IS NULL) <> (project_id IS NULL)", name="ck_photos_one_record"),
        sa.CheckConstraint("coalesce(alt_en, '') <> '' OR coalesce(alt_fr, '') <> '' OR coalesce(alt_ar, '') <> ''",
                           name="ck_photos_has_alt"),
        sa.CheckConstraint("file_name ~ '^[0-9a-f]{32}\\.(jpg|png|webp)$'", name="ck_photos_file_name_format"),
        sa.CheckConstraint("thumb_name ~ '^[0-9a-f]{32}-thumb\\.(jpg|png|webp)$'",
                           name="ck_photos_thumb_name_format"),
        sa.UniqueConstraint("file_name", name="uq_photos_file_name"),
        sa.UniqueConstraint("thumb_name", name="uq_photos_thumb_name"),
    )
    op.create_index("ix_photos_site_id", "photos", ["site_id"])
    op.create_index("ix_photos_project_id", "photos", ["project_id"])


def downgrade() -> None:
    op.drop_table("photos")
    op.drop_table("events")
