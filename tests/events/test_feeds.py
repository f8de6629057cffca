"""Event pages and iCalendar feeds: only published events, everywhere, with stable UIDs."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import datetime as dt

from icalendar import Calendar

from tests.factories import make_association, make_event, make_site


def feed(client, path="/events.ics") -> Calendar:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def vevents(cal: Calendar) -> dict[str, object]:
    return {str(c["summary"]): c for c in cal.walk("VEVENT")}


def test_the_feed_holds_published_events_with_uid_times_url_and_place(client, session):
    a = make_association(session)
    site = make_site(session, slug="feed-site", name_en="Feed gate")
    event = make_event(session, a, title_en="Guided walk", kind="guided_visit", site_id=site.id, geom=None,
                       description_en="Along the ramparts")
    events = vevents(feed(client))
    item = events["Guided walk"]
    session.refresh(event)
    assert str(item["uid"]) == f"{event.uid}@taroudant-heritage-map"
    assert item.decoded("dtstart") == event.starts_at
    assert item.decoded("dtend") == event.ends_at
    assert item.decoded("dtstart").utcoffset() == dt.timedelta(0)  # written in UTC
    assert item.decoded("dtstamp") == event.updated_at.replace(microsecond=0)
    assert item.decoded("last-modified") == event.updated_at.replace(microsecond=0)
    assert str(item["url"]) == f"http://localhost/events/{event.id}"
    assert str(item["location"]) == "Feed gate"
    assert item["geo"].latitude == 30.47 and item["geo"].longitude == -8.877
    assert "Along the ramparts" in str(item["description"])
    assert "Guided visit" in item["categories"].to_ical().decode()


def test_the_uid_stays_the_same_when_the_event_changes(client, session):
    event = make_event(session, make_association(session), title_en="Before")
    first = str(vevents(feed(client))["Before"]["uid"])
    event.title_en = "After"
    session.flush()
    assert str(vevents(feed(client))["After"]["uid"]) == first


def test_drafts_submitted_and_withdrawn_events_appear_in_no_feed_nor_page(client, session):
    a = make_association(session)
    make_event(session, a, title_en="Public one")
    hidden = [make_event(session, a, title_en=f"Hidden {state}", publication_status=state)
              for state in ("draft", "submitted", "changes_requested", "withdrawn")]
    assert set(vevents(feed(client))) == {"Public one"}
    assert set(vevents(feed(client, "/associations/test-association/events.ics"))) == {"Public one"}
    for path in ("/events", "/associations/test-association", "/events.ics"):
        body = client.get(path).get_data(as_text=True)
        assert "Public one" in body
        assert "Hidden" not in body, path
    for event in hidden:
        assert client.get(f"/events/{event.id}").status_code == 404


def test_events_of_an_unpublished_association_are_not_public(client, session):
    a = make_association(session, slug="draft-association", publication_status="draft")
    event = make_event(session, a, title_en="Of a draft association")
    assert "Of a draft association" not in client.get("/events.ics").get_data(as_text=True)
    assert client.get(f"/events/{event.id}").status_code == 404
    assert client.get("/associations/draft-association/events.ics").status_code == 404


def test_the_association_feed_holds_only_that_associations_events(client, session):
    a = make_association(session)
    b = make_association(session, slug="other-association", name_en="Other")
    make_event(session, a, title_en="Ours")
    make_event(session, b, title_en="Theirs")
    assert set(vevents(feed(client, "/associations/test-association/events.ics"))) == {"Ours"}
    assert set(vevents(feed(client, "/associations/other-association/events.ics"))) == {"Theirs"}


def test_the_events_page_lists_upcoming_first_and_past_apart(client, session):
    a = make_association(session)
    now = dt.datetime.now(dt.timezone.utc)
    make_event(session, a, title_en="Later one", starts_at=now + dt.timedelta(days=20),
               ends_at=now + dt.timedelta(days=20, hours=2))
    make_event(session, a, title_en="Sooner one", starts_at=now + dt.timedelta(days=2),
               ends_at=now + dt.timedelta(days=2, hours=2))
    make_event(session, a, title_en="Old one", starts_at=now - dt.timedelta(days=30),
               ends_at=now - dt.timedelta(days=30) + dt.timedelta(hours=2))
    body = client.get("/events").get_data(as_text=True)
    upcoming, past = body.split("Past events", 1)
    assert upcoming.index("Sooner one") < upcoming.index("Later one")
    assert "Old one" not in upcoming and "Old one" in past


def test_the_event_page_shows_taroudant_time_and_escapes_text(client, session):
    a = make_association(session)
    # 10:30 in Taroudant, whatever offset the installed tz data gives Morocco in 2027.
    start = dt.datetime(2027, 6, 5, 10, 30, tzinfo=ZoneInfo("Africa/Casablanca")).astimezone(dt.timezone.utc)
    event = make_event(session, a, title_en="<script>alert(1)</script>", starts_at=start,
                       ends_at=start + dt.timedelta(hours=2))
    body = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert "Saturday 5 June 2027, 10:30" in body


def test_during_ramadan_taroudant_time_is_utc(app):
    from heritage_map.events.views import taroudant_time

    with app.test_request_context():
        # Morocco sets its clocks back to UTC for Ramadan (in 2027: 7 February to 14 March).
        assert taroudant_time(dt.datetime(2027, 3, 6, 9, 30, tzinfo=dt.timezone.utc)) == "Saturday 6 March 2027, 09:30"


def test_published_events_show_on_their_site_page(client, session):
    a = make_association(session)
    site = make_site(session, slug="events-site")
    make_event(session, a, title_en="At the site", site_id=site.id)
    make_event(session, a, title_en="Draft at the site", site_id=site.id, publication_status="draft")
    body = client.get("/sites/events-site").get_data(as_text=True)
    assert "At the site" in body and "Draft at the site" not in body


def test_an_unknown_association_feed_is_a_404(client):
    assert client.get("/associations/no-such-association/events.ics").status_code == 404


def test_an_association_page_lists_upcoming_events_before_past_ones(client, session):
    a = make_association(session)
    now = dt.datetime.now(dt.timezone.utc)
    make_event(session, a, title_en="Coming walk")
    make_event(session, a, title_en="Gone walk", starts_at=now - dt.timedelta(days=9),
               ends_at=now - dt.timedelta(days=9) + dt.timedelta(hours=1))
    body = client.get("/associations/test-association").get_data(as_text=True)
    assert body.index("Coming walk") < body.index("Past events") < body.index("Gone walk")
