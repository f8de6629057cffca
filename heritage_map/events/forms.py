"""The event form: what an editor types, checked field by field (errors go next to their field)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from shapely import Point
from wtforms import DateTimeLocalField, FloatField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from ..catalogue.geometry import SERVED_EXTENT, check
from ..errors import InvalidGeometry
from .models import EVENT_KINDS, TIMEZONE

KIND_LABELS = {"training": _l("Training"), "awareness_campaign": _l("Awareness campaign"),
               "clean_up": _l("Clean-up"), "guided_visit": _l("Guided visit"), "other": _l("Other")}
LANGUAGES = (("en", _l("English")), ("fr", _l("French")), ("ar", _l("Arabic")))
LOCAL = ZoneInfo(TIMEZONE)


def _int_or_none(value):
    """Coerce a select's value to an id, the empty choice to None."""
    return int(value) if value not in (None, "", "None") else None


class EventForm(FlaskForm):
    association_id = SelectField(_l("Association"), coerce=int)
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, KIND_LABELS[k]) for k in EVENT_KINDS])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200)])
    title_fr = StringField(_l("Title (French)"), validators=[Optional(), Length(max=200)])
    title_ar = StringField(_l("Title (Arabic)"), validators=[Optional(), Length(max=200)])
    description_en = TextAreaField(_l("Description (English)"), validators=[Optional(), Length(max=5000)])
    description_fr = TextAreaField(_l("Description (French)"), validators=[Optional(), Length(max=5000)])
    description_ar = TextAreaField(_l("Description (Arabic)"), validators=[Optional(), Length(max=5000)])
    starts_at = DateTimeLocalField(_l("Starts (Taroudant time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(_l("Give the day and time it starts."))])
    ends_at = DateTimeLocalField(_l("Ends (Taroudant time)"), format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired(_l("Give the day and time it ends."))])
    site_id = SelectField(_l("At a site"), coerce=_int_or_none)
    lon = FloatField(_l("Or at a point: longitude"), validators=[Optional()])
    lat = FloatField(_l("latitude"), validators=[Optional()])
    version = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        """Check every field, then what fields say together: a title, times in order, a place inside the province."""
        ok = super().validate(extra_validators)
        if not any((getattr(self, f"title_{code}").data or "").strip() for code, _ in LANGUAGES):
            self.title_en.errors.append(_l("Give a title in at least one language."))
            ok = False
        if self.starts_at.data and self.ends_at.data and self.ends_at.data < self.starts_at.data:
            self.ends_at.errors.append(_l("The end comes before the start."))
            ok = False
        has_lon, has_lat = self.lon.data is not None, self.lat.data is not None
        if has_lon != has_lat:
            (self.lat if has_lon else self.lon).errors.append(_l("Give both longitude and latitude, or neither."))
            ok = False
        elif has_lon:
            message = point_problem(self.lon.data, self.lat.data)
            if message:
                self.lon.errors.append(message)
                ok = False
        elif self.site_id.data is None and not self.site_id.errors:
            self.site_id.errors.append(_l("Choose a site, or give the point where it takes place."))
            ok = False
        return ok

    def point(self) -> Point | None:
        """Return the point typed, if any (checked by validate)."""
        return Point(self.lon.data, self.lat.data) if self.lon.data is not None else None

    def local_times(self) -> tuple[dt.datetime, dt.datetime]:
        """Return the start and end as aware datetimes in Taroudant's zone."""
        return self.starts_at.data.replace(tzinfo=LOCAL), self.ends_at.data.replace(tzinfo=LOCAL)


def point_problem(lon: float, lat: float) -> str | None:
    """Return why (lon, lat) cannot be an event's place, or None when it is inside Taroudant province.

    >>> point_problem(-8.877, 30.47) is None
    True
    >>> point_problem(30.47, -8.877)
    'coordinates outside Morocco (lon -17.5..-0.9, lat 20.5..36.0): first at 30.47, -8.877; are longitude and latitude swapped, or is the CRS wrong?'
    >>> str(point_problem(-7.6, 33.6))  # Casablanca
    'The point is outside Taroudant province (longitude -10.0 to -7.5, latitude 29.9 to 31.2).'
    """
    try:
        check(Point(lon, lat), allowed=("Point",))
    except InvalidGeometry as exc:
        return exc.message
    west, south, east, north = SERVED_EXTENT
    if not (west <= lon <= east and south <= lat <= north):
        return str(_l("The point is outside Taroudant province (longitude %(w)s to %(e)s, latitude %(s)s to %(n)s).",
                      w=west, e=east, s=south, n=north))
    return None


def local(value: dt.datetime) -> dt.datetime:
    """Return a stored time as Taroudant's wall-clock time, without zone, for the form's fields."""
    return value.astimezone(LOCAL).replace(tzinfo=None)
