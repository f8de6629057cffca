"""Uploading photos of sites and projects, serving them by their checked type, and their review."""

from __future__ import annotations

import re

from flask import (Blueprint, Flask, abort, current_app, flash, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from PIL import Image
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from .. import db, moderation, params
from ..accounts.policy import can
from ..catalogue.models import SLUG_PATTERN, Project
from ..errors import HeritageMapError, InvalidParameter, NotFound, TooLarge
from ..events.access import editable_associations, require
from ..events.queries import associations_by_id
from ..i18n import localized
from ..moderation import ReviewForm
from . import images, queries, storage
from .models import EXTENSIONS, Photo

bp = Blueprint("photos", __name__)
LAYERS = ("sites", "projects")


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo (JPEG, PNG or WebP)"), validators=[FileRequired(_l("Choose a photo to upload."))])
    alt_en = StringField(_l("Alt text (English)"), validators=[Optional(), Length(max=300)])
    alt_fr = StringField(_l("Alt text (French)"), validators=[Optional(), Length(max=300)])
    alt_ar = StringField(_l("Alt text (Arabic)"), validators=[Optional(), Length(max=300)])
    association_id = SelectField(_l("Uploaded for"), coerce=int)

    def validate(self, extra_validators=None) -> bool:
        """Check the fields, and that the photo is described in at least one language."""
        ok = super().validate(extra_validators)
        if not any((self[f"alt_{code}"].data or "").strip() for code in ("en", "fr", "ar")):
            self.alt_en.errors.append(_l("Describe the photo for people who cannot see it, in at least one "
                                         "language."))
            ok = False
        return ok


def _associations_for(record, layer: str) -> list[int]:
    """Return the associations the person may upload a photo of `record` for (policy: "edit")."""
    s = db.session()
    mine = editable_associations(s, current_user)
    if layer == "projects":
        linked = {link.association_id for link in record.links}
        return [aid for aid in mine if aid in linked]
    return mine


def _record_readable(record, layer: str) -> bool:
    """Return whether the person may see `record` (published, or a draft they read)."""
    if record.publication_status == "published":
        return True
    ids = [link.association_id for link in record.links] if isinstance(record, Project) else [None]
    return any(can(current_user, "read_drafts", aid) for aid in ids)


def _upload(layer: str, slug: str):
    """Show the upload form for one record, or take a photo for it."""
    s = db.session()
    record = queries.record(s, layer, slug)
    if not _record_readable(record, layer):
        raise NotFound(f"no {layer[:-1]} called {slug!r}")
    choices = _associations_for(record, layer)
    if not choices:
        abort(403, description=_("You may add photos only for the associations you edit for."))
    form = PhotoForm()
    form.association_id.choices = [SelectChoice(a.id, localized(a, "name")) for a in associations_by_id(s, choices)]
    if not form.is_submitted():
        return render_template("photos/upload.html", form=form, record=record, layer=layer)
    valid = form.validate_on_submit()
    encoded, status = None, 400
    if form.photo.data:
        limit = current_app.config["PHOTO_MAX_BYTES"]
        data = form.photo.data.stream.read(limit + 1)
        try:
            if len(data) > limit:
                raise TooLarge(_("The photo is over %(mb)s MB; send a smaller one.",
                                        mb=f"{limit / 1_000_000:g}"))
            encoded = images.process(data, current_app.config["PHOTO_MAX_PIXELS"])
        except HeritageMapError as exc:
            form.photo.errors = [*form.photo.errors, exc.message]
            status = exc.status
    if not valid or encoded is None:
        return render_template("photos/upload.html", form=form, record=record, layer=layer), status
    require(current_user, "edit", form.association_id.data)
    uploads = current_app.config["UPLOADS_DIR"]
    file_name, thumb_name = storage.save(uploads, encoded)
    try:
        photo = Photo(site_id=record.id if layer == "sites" else None,
                      project_id=record.id if layer == "projects" else None,
                      association_id=form.association_id.data, uploaded_by=current_user.id,
                      media_type=encoded.media_type, file_name=file_name, thumb_name=thumb_name,
                      width=encoded.width, height=encoded.height, publication_status="submitted",
                      **{f"alt_{c}": (form[f"alt_{c}"].data or "").strip() or None for c in ("en", "fr", "ar")})
        s.add(photo)
        s.commit()
    except BaseException:
        s.rollback()
        storage.remove(uploads, file_name, thumb_name)  # no file without its record
        raise
    flash(_("The photo is uploaded; it is public once a moderator publishes it."))
    # A draft record has no public page to go back to: the form again, for the next photo.
    return redirect(url_for(f"web.{layer[:-1]}", slug=slug) if record.publication_status == "published"
                    else request.path)


@bp.route("/sites/<slug:slug>/photos/new", methods=["GET", "POST"])
@login_required
def upload_site_photo(slug: str):
    """Upload a photo of a site, for one of the associations the person edits for."""
    return _upload("sites", slug)


@bp.route("/projects/<slug:slug>/photos/new", methods=["GET", "POST"])
@login_required
def upload_project_photo(slug: str):
    """Upload a photo of a project, for one of its associations the person edits for."""
    return _upload("projects", slug)


@bp.get("/photos/<name>")
def file(name: str):
    """Serve a photo or its thumbnail by its generated name, as its checked type, never as a page."""
    try:
        path = storage.path_of(current_app.config["UPLOADS_DIR"], name)
    except ValueError:
        raise NotFound("no such photo") from None
    photo, public = queries.by_file_name(db.session(), name)
    if not public and not can(current_user, "read_drafts", photo.association_id):
        raise NotFound("no such photo")
    if not path.is_file():
        raise NotFound("no such photo")
    thumb = name == photo.thumb_name
    response = send_file(path, mimetype=photo.media_type, as_attachment=False, conditional=True,
                         download_name=f"photo-{photo.id}{'-thumb' if thumb else ''}.{EXTENSIONS[photo.media_type]}",
                         max_age=None)
    # Ask again each time (a withdrawn photo stops being served at once); drafts stay out of shared caches.
    response.headers["Cache-Control"] = "public, no-cache" if public else "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def photo_json(photo: Photo) -> dict:
    """Return a public photo as the map's popups read it."""
    return {"url": url_for("photos.file", name=photo.file_name),
            "thumbnail": url_for("photos.file", name=photo.thumb_name),
            "width": photo.width, "height": photo.height,
            "alt_en": photo.alt_en, "alt_fr": photo.alt_fr, "alt_ar": photo.alt_ar}


@bp.get("/api/photos")
def api():
    """The public photos of one site or project: `layer` (sites, projects) and `slug`."""
    params.known_only(request.args, {"layer", "slug"})
    layer = params.choice(request.args, "layer", LAYERS)
    slug = request.args.get("slug", "")
    if layer is None or not slug:
        raise InvalidParameter("give layer (sites or projects) and slug")
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise InvalidParameter(f"slug must be lowercase letters, digits and hyphens (got {slug!r})")
    photos = queries.public_of(db.session(), layer, slug)
    return jsonify({"photos": [photo_json(p) for p in photos]})


@bp.get("/photos/review")
@login_required
def review_queue():
    """The photos waiting for a moderator."""
    require(current_user, "review")
    return render_template("photos/review.html", photos=queries.submitted(db.session()), form=ReviewForm())


@bp.post("/photos/<int:photo_id>/review")
@login_required
def review(photo_id: int):
    """Publish a photo, send it back with a comment, or withdraw it."""
    require(current_user, "review")
    s = db.session()
    photo = queries.get(s, photo_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400, description="; ".join(e for errors in form.errors.values() for e in errors))
    moderation.move(photo, form.action.data, form.comment.data)
    s.commit()
    flash(_("The photo is now %(state)s.", state=moderation.LABELS[photo.publication_status]))
    return redirect(url_for("photos.review_queue"))


def init_app(app: Flask) -> None:
    """Register the photo routes and set Pillow's decompression-bomb limit from the settings."""
    # Process-wide, as Pillow keeps it: every app of a process reads the same settings.
    Image.MAX_IMAGE_PIXELS = app.config["PHOTO_MAX_PIXELS"]
    app.register_blueprint(bp)
