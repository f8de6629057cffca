"""Event pages for the public, forms for associations' editors, and publish / request-changes for moderators."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_datetime
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from .. import db, moderation
from ..accounts.policy import can
from ..editing.history import act_as
from ..catalogue.models import SRID
from ..errors import NotFound, keep_form_on_outage
from ..i18n import localized
from . import ical, queries
from .access import editable_associations, readable, require
from ..moderation import ActionForm, ReviewForm
from .forms import KIND_LABELS, LOCAL, EventForm, local
from .models import Event

bp = Blueprint("events", __name__)
# The fields of the form that are the event's own columns, compared when two people edit at once.
TEXT_FIELDS = ("kind", "title_en", "title_fr", "title_ar", "description_en", "description_fr", "description_ar")


@bp.app_template_filter("taroudant_time")
def taroudant_time(value: dt.datetime, fmt: str = "EEEE d MMMM y, HH:mm") -> str:
    """Format a stored time as Taroudant's wall-clock time in the interface language."""
    return format_datetime(value, fmt, tzinfo=LOCAL, locale=get_locale())


@bp.app_template_global()
def event_kind(kind: str) -> str:
    """Return the label of an event kind."""
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_global()
def events_by_time(events: list[Event]) -> tuple[list[Event], list[Event]]:
    """Return (upcoming, past) of `events`, for the lists on site and association pages."""
    return queries.split_by_time(events, now())


def now() -> dt.datetime:
    """Return the current time, aware."""
    return dt.datetime.now(dt.timezone.utc)


@bp.get("/events")
def index():
    """Published events: upcoming (and running) first, soonest first; then past ones, latest first."""
    upcoming, past = queries.split_by_time(queries.public(db.session()), now())
    return render_template("events/index.html", upcoming=upcoming, past=past)


@bp.get("/events.ics")
def feed():
    """Every published event as an iCalendar feed."""
    return ics(queries.public(db.session()), _("Taroudant Heritage Map: events"))


@bp.get("/associations/<slug:slug>/events.ics")
def association_feed(slug: str):
    """One association's published events as an iCalendar feed."""
    s = db.session()
    association = queries.association_by_slug(s, slug)
    return ics(queries.public(s, association_id=association.id),
               _("%(name)s: events", name=localized(association, "name")))


def ics(events: list[Event], name: str) -> Response:
    """Answer `events` as a text/calendar file."""
    body = ical.calendar(events, name, lambda e: url_for("events.event", event_id=e.id, _external=True),
                         event_kind)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": "inline; filename=events.ics", "Cache-Control": "public, no-cache"})


@bp.get("/events/<int:event_id>")
def event(event_id: int):
    """One event; a draft only for those who read its association's drafts."""
    record = queries.get(db.session(), event_id)
    public = record.publication_status == "published" and record.association.publication_status == "published"
    if not public and not can(current_user, "read_drafts", record.association_id):
        raise NotFound(f"no event {event_id}")
    point = to_shape(record.geom) if record.geom is not None else None
    return render_template("events/event.html", event=record, point=point, public=public,
                           may_edit=can(current_user, "edit", record.association_id),
                           may_read_history=can(current_user, "read_drafts", record.association_id),
                           may_review=can(current_user, "review"), action_form=ActionForm(), review_form=ReviewForm())


@bp.get("/events/manage")
@login_required
def manage():
    """The events of the associations the person edits for, in every state, with the moderator's comments."""
    s = db.session()
    ids = editable_associations(s, current_user)
    if not ids:
        abort(403, description=_("You edit for no association yet."))
    return render_template("events/manage.html", events=queries.of_associations(s, ids),
                           action_form=ActionForm())


def _form(s, ids: list[int], formdata=None, **data) -> EventForm:
    """Return the event form with its choices: the associations the person edits for, the published sites."""
    form = EventForm(formdata=formdata, **data) if formdata is not None else EventForm(**data)
    form.association_id.choices = [SelectChoice(a.id, localized(a, "name"))
                                   for a in queries.associations_by_id(s, ids)]
    form.site_id.choices = [SelectChoice("", _("— none: at the point below —"))] + [
        SelectChoice(site.id, localized(site, "name")) for site in queries.sites_to_choose(s)]
    return form


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def new():
    """Announce an event, as a draft, for one of the associations the person edits for."""
    s = db.session()
    ids = editable_associations(s, current_user)
    if not ids:
        abort(403, description=_("You edit for no association yet."))
    form = _form(s, ids)
    if not form.is_submitted():
        form.association_id.data = ids[0]
    keep_form_on_outage(lambda message: (render_template("events/form.html", form=form, event=None,
                                                         unsaved=message), 503))
    if form.validate_on_submit():
        require(current_user, "edit", form.association_id.data)  # the choices allow only these; said again
        act_as(s, current_user.id)  # the history names who announced it
        record = Event(association_id=form.association_id.data, publication_status="draft")
        _apply(form, record)
        s.add(record)
        s.commit()
        flash(_("The event is saved as a draft. Submit it when it is ready for review."))
        return redirect(url_for("events.event", event_id=record.id))
    return render_template("events/form.html", form=form, event=None), 400 if form.errors else 200


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int):
    """Edit an event of an association the person edits for; a stale version is refused, nothing lost."""
    s = db.session()
    record = queries.get(s, event_id)
    if not readable(current_user, record, record.association_id):
        raise NotFound(f"no event {event_id}")
    require(current_user, "edit", record.association_id)
    ids = editable_associations(s, current_user)
    if request.method == "GET":
        form = _form(s, ids, **_values(record))
        return render_template("events/form.html", form=form, event=record)
    form = _form(s, ids, formdata=request.form)
    keep_form_on_outage(lambda message: (render_template("events/form.html", form=form,
                                                         event=queries.get(db.session(), event_id),
                                                         unsaved=message), 503))
    if not form.validate_on_submit():
        return render_template("events/form.html", form=form, event=record), 400
    require(current_user, "edit", form.association_id.data)
    if str(record.version) != (form.version.data or ""):
        return _conflict(form, record)
    act_as(s, current_user.id)
    _apply(form, record)
    if record.publication_status in ("published", "submitted"):
        # A change is reviewed again before it is public: nothing unreviewed reaches the public.
        record.publication_status = "draft"
    try:
        s.commit()
    except StaleDataError:
        s.rollback()
        return _conflict(form, queries.get(s, event_id))
    flash(_("The event is saved."))
    return redirect(url_for("events.event", event_id=record.id))


def _conflict(form: EventForm, record: Event):
    """Show the form again as typed, with what the other person saved meanwhile; the next save overrides it."""
    saved = _values(record)
    changed = [(form[name].label.text, saved[name], form[name].data) for name in saved
               if name != "version" and saved[name] != form[name].data]
    form.version.data = str(record.version)
    return render_template("events/form.html", form=form, event=record, conflict=changed), 409


def _values(record: Event) -> dict:
    """Return the form's values for a stored event."""
    point = to_shape(record.geom) if record.geom is not None else None
    values = {name: getattr(record, name) for name in TEXT_FIELDS}
    values.update(association_id=record.association_id, site_id=record.site_id,
                  starts_at=local(record.starts_at), ends_at=local(record.ends_at),
                  lon=point.x if point else None, lat=point.y if point else None, version=str(record.version))
    return values


def _apply(form: EventForm, record: Event) -> None:
    """Copy the checked form onto the event."""
    for name in TEXT_FIELDS:
        value = form[name].data
        setattr(record, name, value.strip() or None if isinstance(value, str) and name != "kind" else value)
    record.association_id = form.association_id.data
    record.site_id = form.site_id.data
    record.starts_at, record.ends_at = form.local_times()
    point = form.point()
    record.geom = from_shape(point, srid=SRID) if point is not None else None


@bp.post("/events/<int:event_id>/submit")
@login_required
def submit(event_id: int):
    """Submit an event for review."""
    s = db.session()
    record = queries.get(s, event_id)
    if not readable(current_user, record, record.association_id):
        raise NotFound(f"no event {event_id}")
    require(current_user, "submit", record.association_id)
    if not ActionForm().validate_on_submit():
        abort(400, description=_("The form has expired; reload the page and try again."))
    act_as(s, current_user.id)
    moderation.move(record, "submit")
    s.commit()
    flash(_("The event is submitted; a moderator will review it."))
    return redirect(url_for("events.event", event_id=record.id))


@bp.get("/events/review")
@login_required
def review_queue():
    """The events waiting for a moderator, and the published ones they may withdraw."""
    require(current_user, "review")
    return render_template("events/review.html", events=queries.submitted(db.session()), form=ReviewForm())


@bp.post("/events/<int:event_id>/review")
@login_required
def review(event_id: int):
    """Publish an event, send it back with a comment, or withdraw it."""
    require(current_user, "review")
    s = db.session()
    record = queries.get(s, event_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400, description="; ".join(e for errors in form.errors.values() for e in errors))
    act_as(s, current_user.id)
    moderation.move(record, form.action.data, form.comment.data)
    s.commit()
    flash(_("The event is now %(state)s.", state=moderation.LABELS[record.publication_status]))
    return redirect(url_for("events.review_queue"))
