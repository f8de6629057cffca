"""Editing pages: dashboards, the project and site forms, the moderators' queue, history and restores."""

from __future__ import annotations

import json

from flask import (Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from .. import db
from ..accounts import policy
from ..catalogue import queries, vocab
from ..catalogue.geometry import SHAPES
from ..catalogue.models import Association
from ..errors import Conflict, InvalidGeometry, InvalidParameter, NotFound, keep_form_on_outage
from ..events import queries as event_queries
from ..events.models import Event
from . import diff, footprint, forms, history, records, saving, workflow

bp = Blueprint("editing", __name__)


@bp.app_context_processor
def editing_links() -> dict:
    """Give pages `editing_links(kind, record)` (the history and edit links the person may follow) and
    `has_dashboard(person)` (whether the account navigation links /dashboard)."""

    def links(kind: str, record) -> dict:
        if not current_user.is_authenticated:
            return {}
        owner = records.owner_id(record)
        found = {}
        if policy.can_read_record(current_user, owner):
            found["history"] = url_for("editing.record_history", kind=kind, slug=record.slug)
        if kind in workflow.REVIEWED and policy.can_edit_record(current_user, owner):
            found["edit"] = url_for(f"editing.edit_{kind[:-1]}", slug=record.slug)
        return found

    def has_dashboard(person) -> bool:
        # Approved members of an association, moderators and admins have something on /dashboard.
        return policy.can(person, "review") or bool(policy.association_ids(person, "read_drafts"))

    return {"editing_links": links, "has_dashboard": has_dashboard}


def wants_json() -> bool:
    """Tell whether the request came from a script (JSON in or JSON asked for)."""
    return request.is_json or request.accept_mimetypes.best == "application/json"


def editable_associations(s) -> list[Association]:
    """Return the associations the signed-in person may edit for, by name."""
    everyone = s.scalars(select(Association).order_by(Association.name_en, Association.slug))
    return [a for a in everyone if policy.can(current_user, "edit", a.id)]


def load_for_edit(s, kind: str, slug: str):
    """Return the record to edit; a record the person may not even read is not found, one they may read is 403."""
    record = records.get(s, kind, slug)
    owner = records.owner_id(record)
    if record.publication_status != "published" and not policy.can_read_record(current_user, owner):
        raise NotFound(f"no record called {slug!r}")
    policy.ensure(policy.can_edit_record(current_user, owner), _("This record belongs to another association."))
    return record


def load_for_reading(s, kind: str, slug: str):
    """Return a record whose drafts and history the person may read, else raise NotFound."""
    record = records.get(s, kind, slug)
    if not policy.can_read_record(current_user, records.owner_id(record)):
        raise NotFound(f"no record called {slug!r}")
    return record


@bp.get("/dashboard")
@login_required
def dashboard():
    """The signed-in person's associations, each with its records by state; moderators see the queue's size."""
    s = db.session()
    mine = editable_associations(s)
    if len(mine) == 1:
        return redirect(url_for("editing.association_dashboard", slug=mine[0].slug))
    waiting = len(workflow.queue(s)) if policy.can(current_user, "review") else None
    return render_template("editing/dashboards.html", associations=mine, waiting=waiting)


@bp.get("/dashboard/<slug:slug>")
@login_required
def association_dashboard(slug: str):
    """One association's projects, proposed sites and events by state, with counts and the moderator's last comment."""
    s = db.session()
    association = records.association(s, slug)
    if not policy.can(current_user, "read_drafts", association.id):
        raise NotFound(f"no association called {slug!r}")
    grouped = workflow.association_records(s, association.id)
    comments = {(kind, r.id): workflow.last_comment(s, kind, r.id)
                for kind, states in grouped.items() for rows in states.values() for r in rows}
    comments[("associations", association.id)] = workflow.last_comment(s, "associations", association.id)
    events = workflow.by_state(event_queries.of_associations(s, [association.id]))
    return render_template("editing/dashboard.html", association=association, grouped=grouped, comments=comments,
                           events=events, states=workflow.DASHBOARD_STATES,
                           may_edit=policy.can(current_user, "edit", association.id))


def max_vertices() -> int:
    """Return the most vertices a geometry drawn or uploaded here may have (HERITAGE_MAP_EDIT_MAX_VERTICES)."""
    return current_app.config["EDIT_MAX_VERTICES"]


def read_footprint(form, required: bool, record=None, shapes: tuple[str, ...] = SHAPES):
    """Return the form's checked footprint (None when none and none is required); errors go to the field.

    A record's geometry sent back as it was stored is kept as it is: the checks are for what people draw,
    and a seed site beyond the province (the Souss's mouth) stays editable.
    """
    upload = form.footprint_file.data
    if record is not None and record.geom is not None and not getattr(upload, "filename", "") \
            and form.geometry.data == saving.geometry_text(record):
        return to_shape(record.geom), None
    try:
        if upload is not None and getattr(upload, "filename", ""):
            result = footprint.from_file(upload, shapes, max_vertices())
        elif form.geometry.data and form.geometry.data.strip():
            result = footprint.from_text(form.geometry.data, shapes, max_vertices())
        elif required:
            raise InvalidGeometry(_("draw the site on the map, or upload a file"))
        else:
            return None, None
    except (InvalidGeometry, InvalidParameter) as exc:
        form.geometry.errors = [*form.geometry.errors, exc.message]
        return None, None
    form.geometry.data = result.geojson  # kept, drawn, on the page shown again
    return result.geom, result.notice


def render_form(kind: str, form, record, status: int = 200, **extra):
    """Render a project's or a site's form with what it holds, its linked sites, a conflict or a repair notice."""
    s = db.session()
    linked = records.sites_by_id(s, list(form.sites.data or []), form.association.data,
                                 policy.can(current_user, "review")) if kind == "projects" else []
    return render_template(f"editing/{kind[:-1]}_form.html", form=form, record=record, linked=linked,
                           moves=workflow.allowed_moves(current_user, record) if record else [],
                           tile_url=current_app.config["TILE_URL"],
                           tile_attribution=current_app.config["TILE_ATTRIBUTION"],
                           max_vertices=max_vertices(), vocab=vocab, conflict=extra.pop("conflict", None),
                           notice=extra.pop("notice", None), unsaved=extra.pop("unsaved", None)), status


def edit(kind: str, slug: str | None):
    """Show and save the form of a project, a site (new when `slug` is None) or an association's profile."""
    s = db.session()
    record = load_for_edit(s, kind, slug) if slug else None
    moderator = policy.can(current_user, "review")
    if record is not None and record.publication_status == "submitted" and not moderator:
        raise Conflict(_("This record waits for a moderator's review: it can be edited again once reviewed."))
    form = FORMS[kind](data=saving.initial(record) if record and request.method == "GET" else None)
    if kind == "projects":
        form.set_choices(queries.forum_sessions(s), records.published_associations(s), editable_associations(s))
    elif kind == "sites":
        form.set_choices(editable_associations(s), moderator)
    if record is not None and kind != "associations":
        # the owner stays the owner: this form does not move a record between associations
        form.association.choices = [(records.owner_id(record), "")]
        form.association.data = records.owner_id(record)
    if request.method == "GET":
        if record is None and request.args.get("association"):
            chosen = records.association(s, request.args["association"])
            form.association.data = chosen.id
        return render_form(kind, form, record)

    keep_form_on_outage(lambda message, slug=slug: render_form(
        kind, form, load_for_edit(db.session(), kind, slug) if slug else None, unsaved=message))
    history.act_as(s, current_user.id)
    valid = form.validate()
    owner = form.association.data if record is None else records.owner_id(record)
    if record is None:
        policy.ensure(policy.can_edit_record(current_user, owner), _("You may not add records for this association."))
    if kind == "associations" and valid and form.typed_seat():
        form.geometry.data = form.typed_seat()  # typed coordinates win over the point drawn
    geom, notice = read_footprint(form, required=kind == "sites", record=record,
                                  shapes=SEAT_SHAPES if kind == "associations" else SHAPES)
    if not valid or form.geometry.errors or notice:
        if notice:  # a repaired shape is shown to be looked at, then saved
            notice = notice + " " + _("Check it on the map, then save again.")
        return render_form(kind, form, record, 200 if notice and valid and not form.geometry.errors else 400,
                           notice=notice)
    sites = records.sites_by_id(s, list(form.sites.data or []), owner, moderator) if kind == "projects" else []
    model = records.model_of(kind)
    new = record is None
    if new:
        slug = saving.unique_slug(s, model, form.slug.data or forms.slugify(form.title()), kind[:-1])
        record = model(slug=slug, publication_status="draft", sample=False)
        if kind == "sites":
            record.proposed_by_association_id = owner
            record.kind = vocab.CATEGORIES[form.category.data].kind
        s.add(record)
    read_version = int(form.version.data) if not new and form.version.data else None
    if record.publication_status == "published" and not moderator:
        # An editor's change is reviewed before the public sees it; in the same write as the change, so
        # that the history's last published version is the one the public saw.
        record.publication_status = "draft"
    try:
        saving.apply(s, current_user.id, record, form, geom, sites, read_version)
    except saving.StaleRecord:
        s.rollback()
        record = load_for_edit(s, kind, slug)
        changed = diff.rows(history.changes_since(s, kind, record.id, read_version or 0))
        form.version.data = str(record.version)  # saving again now is a choice made knowing the changes
        return render_form(kind, form, record, 409, conflict=changed)
    if request.form.get("then") == "submit":
        workflow.move(s, current_user, kind, record, "submit")
    s.commit()
    flash(_("Saved: %(state)s.", state=record.publication_status.replace("_", " ")))
    return redirect(after_saving(s, kind, record, moderator))


FORMS = {"projects": forms.ProjectForm, "sites": forms.SiteForm, "associations": forms.AssociationForm}
SEAT_SHAPES = ("Point",)  # an association's seat is one place


def after_saving(s, kind: str, record, moderator: bool) -> str:
    """Return where to go once a record is saved: its form, or its dashboard while it waits for review."""
    owner = records.owner_id(record)
    if record.publication_status == "submitted" and not moderator and owner is not None:
        return url_for("editing.association_dashboard", slug=s.get(Association, owner).slug)
    return url_for(f"editing.edit_{kind[:-1]}", slug=record.slug)


@bp.route("/edit/projects/new", methods=["GET", "POST"])
@login_required
def new_project():
    """A new project for one of the person's associations, drawn on the map."""
    return edit("projects", None)


@bp.route("/edit/projects/<slug:slug>", methods=["GET", "POST"])
@login_required
def edit_project(slug: str):
    """Edit a project: every field, its sites, partners and footprint."""
    return edit("projects", slug)


@bp.route("/edit/sites/new", methods=["GET", "POST"])
@login_required
def new_site():
    """Propose a new heritage or environmental site; it enters review like a project."""
    return edit("sites", None)


@bp.route("/edit/sites/<slug:slug>", methods=["GET", "POST"])
@login_required
def edit_site(slug: str):
    """Edit a proposed site (or, for moderators, any site)."""
    return edit("sites", slug)


@bp.route("/edit/associations/<slug:slug>", methods=["GET", "POST"])
@login_required
def edit_association(slug: str):
    """Edit an association's profile (its editors, policy "edit"): names, descriptions, themes, contact, seat."""
    return edit("associations", slug)


@bp.post("/edit/<kind>/<slug:slug>/submit")
@login_required
def submit(kind: str, slug: str):
    """Send a draft (or a record sent back) to the moderators; a form post or a JSON request."""
    if kind not in workflow.REVIEWED:
        raise NotFound(f"no kind of record called {kind!r}")
    s = db.session()
    record = load_for_edit(s, kind, slug)
    history.act_as(s, current_user.id)
    workflow.move(s, current_user, kind, record, "submit")
    s.commit()
    if wants_json():
        return jsonify({"slug": record.slug, "publication_status": record.publication_status})
    flash(_("Submitted for review."))
    return redirect(after_saving(s, kind, record, policy.can(current_user, "review")))


@bp.get("/edit/site-search")
@login_required
def site_search():
    """Sites whose name in any language holds `q`: published ones and the association's own (JSON)."""
    q = (request.args.get("q") or "").strip()
    if len(q) > 100:
        raise InvalidParameter(_("the search is too long (at most 100 characters)"))
    association_id = request.args.get("association", type=int)
    if association_id is not None and not policy.can(current_user, "read_drafts", association_id):
        association_id = None  # another association's drafts are never offered
    found = records.search_sites(db.session(), q, association_id, policy.can(current_user, "review")) if q else []
    return jsonify([{"id": site.id, "slug": site.slug, "name_en": site.name_en, "name_fr": site.name_fr,
                     "name_ar": site.name_ar, "category": site.category,
                     "publication_status": site.publication_status} for site in found])


@bp.post("/edit/geometry")
@login_required
def check_geometry():
    """Check a drawn or uploaded geometry as a save would: the GeoJSON to draw and any repair notice (JSON)."""
    if request.files.get("file"):
        result = footprint.from_file(request.files["file"], SHAPES, max_vertices())
    else:
        doc = request.get_json(silent=True)
        if doc is None:
            raise InvalidParameter(_("send a GeoJSON geometry as the JSON body, or a file (field 'file')"))
        result = footprint.from_text(json.dumps(doc), SHAPES, max_vertices())
    return jsonify({"geometry": json.loads(result.geojson), "notice": result.notice})


@bp.get("/review")
@login_required
def review_queue():
    """The moderators' queue: every submitted project and site, oldest first."""
    policy.ensure(policy.can(current_user, "review"), _("Only moderators review submissions."))
    return render_template("editing/queue.html", items=workflow.queue(db.session()))


@bp.route("/review/<kind>/<slug:slug>", methods=["GET", "POST"])
@login_required
def review(kind: str, slug: str):
    """One submission: old and new geometry on a map, a field-by-field diff; publish or request changes."""
    policy.ensure(policy.can(current_user, "review"), _("Only moderators review submissions."))
    if kind not in workflow.REVIEWED:
        raise NotFound(f"no kind of record called {kind!r}")
    s = db.session()
    record = records.get(s, kind, slug)
    if request.method == "POST":
        payload = request.get_json(silent=True) if request.is_json else request.form
        keep_form_on_outage(lambda message: review_page(db.session(), kind, records.get(db.session(), kind, slug),
                                                        typed_comment=(payload or {}).get("comment"),
                                                        unsaved=message))
        history.act_as(s, current_user.id)
        workflow.move(s, current_user, kind, record, (payload or {}).get("action", ""),
                      (payload or {}).get("comment", ""))
        s.commit()
        if wants_json():
            return jsonify({"slug": record.slug, "publication_status": record.publication_status})
        flash(_("Done: %(state)s.", state=record.publication_status.replace("_", " ")))
        return redirect(url_for("editing.review_queue"))
    return review_page(s, kind, record)


def review_page(s, kind: str, record, **extra):
    """Render a submission's review page: its diff, both geometries and the moves the moderator may make."""
    before = history.last_published(s, kind, record.id)
    now = history.current_row(s, kind, record.id)
    return render_template("editing/review.html", kind=kind, record=record, fields=diff.compare(
        before.row if before else {}, now), old_geometry=history.geometry_of(before.row if before else None),
        new_geometry=history.geometry_of(now), moves=workflow.allowed_moves(current_user, record),
        comment=workflow.last_comment(s, kind, record.id), tile_url=current_app.config["TILE_URL"],
        tile_attribution=current_app.config["TILE_ATTRIBUTION"], **extra), 200


@bp.get("/history/<kind>/<slug:slug>")
@login_required
def record_history(kind: str, slug: str):
    """Every recorded change of a record: who, when, which fields, old and new values."""
    record = load_for_reading(db.session(), kind, slug)
    return show_history(kind, record, url_for("editing.restore", kind=kind, slug=slug))


@bp.get("/history/events/<int:event_id>")
@login_required
def event_history(event_id: int):
    """Every recorded change of an event (addressed by its id, as the events pages do)."""
    record = load_event_for_reading(db.session(), event_id)
    return show_history("events", record, url_for("editing.restore_event", event_id=event_id))


def load_event_for_reading(s, event_id: int) -> Event:
    """Return an event whose history the person may read (its association's drafts), else raise NotFound."""
    record = s.get(Event, event_id)
    if record is None or not policy.can_read_record(current_user, record.association_id):
        raise NotFound(f"no event {event_id}")
    return record


def show_history(kind: str, record, restore_url: str):
    """Render a record's revisions, newest first, with the restore buttons for admins."""
    s = db.session()
    entries = [(revision, name, diff.rows(revision.changes))
               for revision, name in history.revisions(s, kind, record.id)]
    return render_template("editing/history.html", kind=kind, record=record, entries=entries,
                           restore_url=restore_url, may_restore=policy.can(current_user, "restore"))


@bp.post("/history/<kind>/<slug:slug>/restore")
@login_required
def restore(kind: str, slug: str):
    """Put a record back as an earlier revision left it (admins); the restore is itself recorded."""
    policy.ensure(policy.can(current_user, "restore"), _("Only admins restore earlier versions."))
    record = load_for_reading(db.session(), kind, slug)
    return restore_revision(kind, record.id, url_for("editing.record_history", kind=kind, slug=slug))


@bp.post("/history/events/<int:event_id>/restore")
@login_required
def restore_event(event_id: int):
    """Put an event back as an earlier revision left it (admins); the restore is itself recorded."""
    policy.ensure(policy.can(current_user, "restore"), _("Only admins restore earlier versions."))
    load_event_for_reading(db.session(), event_id)
    return restore_revision("events", event_id, url_for("editing.event_history", event_id=event_id))


def restore_revision(kind: str, record_id: int, back: str):
    """Restore the revision the form names, as the signed-in person, and go back to the history."""
    s = db.session()
    revision_id = request.form.get("revision", type=int)
    if revision_id is None:
        raise InvalidParameter(_("say which revision to restore"))
    history.act_as(s, current_user.id)
    history.restore(s, kind, record_id, revision_id)
    s.commit()
    flash(_("Restored revision %(id)s.", id=revision_id))
    return redirect(back)
