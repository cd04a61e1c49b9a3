"""iCalendar (RFC 5545) for bookings: email attachments and the feed.

Times are written in the unit's TIME_ZONE (`TZID=...`) with its VTIMEZONE,
so calendars show the right wall time on both sides of a DST change. An
email's calendar is an iTIP message (RFC 5546): METHOD:REQUEST when a slot
is booked or moved, METHOD:CANCEL when it is released or the team
dissolved, always with the event's one UID and a rising SEQUENCE, so a
calendar updates or removes the one event.
"""

from datetime import date, datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, Timezone, vCalAddress

PRODID = "-//Pair-Up//Lab bookings//EN"
REQUEST = "REQUEST"
CANCEL = "CANCEL"


def event_data(event, *, method: str) -> dict:
    """Return a SlotEvent as plain data (JSON-safe, for a task's arguments)."""
    return {
        "uid": event.uid,
        "sequence": event.sequence,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "room": event.room,
        "summary": event.summary,
        "method": method,
    }


def _organizer() -> vCalAddress:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    organizer = vCalAddress(f"mailto:{address or 'pairup@localhost'}")
    organizer.params["CN"] = name or settings.PAIRUP_UNIT_NAME
    return organizer


def _vevent(data: dict, tz: ZoneInfo, *, stamp: datetime, cancelled: bool) -> Event:
    event = Event()
    event.add("uid", data["uid"])
    event.add("sequence", data["sequence"])
    event.add("dtstamp", stamp)
    event.add("dtstart", datetime.fromisoformat(data["start"]).astimezone(tz))
    event.add("dtend", datetime.fromisoformat(data["end"]).astimezone(tz))
    event.add("summary", data["summary"])
    event.add("location", data["room"])
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    return calendar


@lru_cache(maxsize=128)
def _vtimezone(tzid: str, first_date: date, last_date: date) -> bytes | None:
    """The VTIMEZONE of `tzid` over these dates, computed once per range:
    icalendar takes about 80 ms per zone and range, which the ballot's run
    would pay per booking (a thousand teams, a few distinct days)."""
    try:
        return Timezone.from_tzid(
            tzid, first_date=first_date, last_date=last_date
        ).to_ical()
    except ValueError:
        return None  # a zone icalendar doesn't know is left out, as before


def _add_timezone(calendar: Calendar, events: list[dict]) -> None:
    """Add the VTIMEZONE of TIME_ZONE, covering the events' years only
    (as `Calendar.add_missing_timezones`, from a cache)."""
    if not events:
        return
    starts = [datetime.fromisoformat(data["start"]) for data in events]
    ends = [datetime.fromisoformat(data["end"]) for data in events]
    first_date = (min(starts) - timedelta(days=366)).date()
    last_date = (max(ends) + timedelta(days=366)).date()
    position = len(calendar.timezones)
    for tzid in sorted(calendar.get_missing_tzids()):
        ical = _vtimezone(tzid, first_date, last_date)
        if ical is not None:
            calendar.subcomponents.insert(position, Timezone.from_ical(ical))
            position += 1


def message(data: dict, *, attendee: str, attendee_name: str = "") -> str:
    """Return an iTIP message for one attendee: REQUEST or CANCEL."""
    tz = ZoneInfo(settings.TIME_ZONE)
    method = data["method"]
    calendar = _calendar()
    calendar.add("method", method)
    event = _vevent(data, tz, stamp=timezone.now(), cancelled=method == CANCEL)
    event.add("organizer", _organizer())
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["CN"] = attendee_name or attendee
    guest.params["ROLE"] = "REQ-PARTICIPANT"
    guest.params["PARTSTAT"] = "ACCEPTED"
    guest.params["RSVP"] = "FALSE"
    event.add("attendee", guest)
    calendar.add_component(event)
    _add_timezone(calendar, [data])
    return calendar.to_ical().decode()


def feed(events: list[dict], *, name: str) -> str:
    """Return a subscribable calendar of the given events (METHOD:PUBLISH)."""
    tz = ZoneInfo(settings.TIME_ZONE)
    calendar = _calendar()
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    # Ask subscribers to look again every hour (RFC 7986, and Outlook's own).
    calendar.add(
        "refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"}
    )
    calendar.add("x-published-ttl", "PT1H")
    stamp = timezone.now()
    for data in events:
        calendar.add_component(_vevent(data, tz, stamp=stamp, cancelled=False))
    _add_timezone(calendar, events)
    return calendar.to_ical().decode()
