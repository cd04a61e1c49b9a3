"""The .ics attachments and the feed, parsed back with icalendar."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import override_settings
from icalendar import Calendar

from notifications import calendar as feeds
from notifications.tests.conftest import mailed
from projects import services
from projects.models import Membership
from projects.tests.factories import LabFactory

pytestmark = pytest.mark.django_db
SYDNEY = ZoneInfo("Australia/Sydney")


def attached(message) -> Calendar:
    [(_name, content, _mimetype)] = message.attachments
    return Calendar.from_ical(content)


def slot_at(start: datetime):
    return LabFactory(room="CSSE 2.01", start=start, end=start + timedelta(minutes=15))


@override_settings(TIME_ZONE="Australia/Sydney")
def test_the_invitation_has_the_right_local_time_on_both_sides_of_a_dst_change(
    committed, team, bob, dana
):
    # Sydney leaves daylight saving on Sunday 4 April 2027 at 03:00. (A
    # coordinator books: fixed dates stay bookable whenever the test runs.)
    before = slot_at(datetime(2027, 4, 3, 10, 0, tzinfo=SYDNEY))  # AEDT, UTC+11
    after = slot_at(datetime(2027, 4, 5, 10, 0, tzinfo=SYDNEY))  # AEST, UTC+10
    committed(services.lab_book, user=dana, project=team, lab=before)
    committed(services.lab_book, user=dana, project=team, lab=after)

    booked, moved = (attached(message) for message in mailed(bob))
    for calendar, day, offset in ((booked, 3, 11), (moved, 5, 10)):
        [event] = calendar.events
        start = event.start
        assert start.tzinfo.key == "Australia/Sydney"  # TZID from TIME_ZONE
        assert (start.day, start.hour, start.minute) == (day, 10, 0)
        assert start.utcoffset() == timedelta(hours=offset)
        assert event.end - start == timedelta(minutes=15)
        assert [tz.tz_name for tz in calendar.timezones] == ["Australia/Sydney"]
        assert str(event["LOCATION"]) == "CSSE 2.01"


def test_a_move_keeps_the_uid_and_raises_the_sequence_and_a_release_cancels_it(
    committed, team, alice, bob
):
    first, second = LabFactory(), LabFactory()
    committed(services.lab_book, user=alice, project=team, lab=first)
    committed(services.lab_book, user=alice, project=team, lab=second)
    committed(services.lab_release, user=alice, project=team)

    booked, moved, released = (attached(m) for m in mailed(bob))
    assert [c["METHOD"] for c in (booked, moved, released)] == [
        "REQUEST",
        "REQUEST",
        "CANCEL",
    ]
    events = [c.events[0] for c in (booked, moved, released)]
    assert len({str(e["UID"]) for e in events}) == 1
    assert [e.sequence for e in events] == [0, 1, 2]
    assert str(events[2]["STATUS"]) == "CANCELLED"
    # The cancellation names the slot it cancels.
    assert events[2].start == events[1].start
    assert str(events[0]["ATTENDEE"]) == f"mailto:{bob.email}"
    assert str(events[0]["ORGANIZER"]).startswith("mailto:")


def test_booking_again_after_a_release_is_a_new_event(committed, team, alice, bob):
    committed(services.lab_book, user=alice, project=team, lab=LabFactory())
    committed(services.lab_release, user=alice, project=team)
    committed(services.lab_book, user=alice, project=team, lab=LabFactory())

    first, cancelled, again = (attached(m).events[0] for m in mailed(bob))
    assert str(first["UID"]) == str(cancelled["UID"]) != str(again["UID"])
    assert again.sequence == 0


def test_dissolving_cancels_the_event(committed, team, alice, bob):
    committed(services.lab_book, user=alice, project=team, lab=LabFactory())
    committed(services.project_dissolve, user=alice, project=team)

    booked, dissolved = (attached(m) for m in mailed(bob))
    assert dissolved["METHOD"] == "CANCEL"
    assert str(dissolved.events[0]["UID"]) == str(booked.events[0]["UID"])
    assert dissolved.events[0].sequence == 1


def test_the_feed_lists_a_students_slot_and_every_slot_for_a_coordinator(
    team, alice, bob, charlie, dana
):
    from projects.tests.factories import make_team

    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)
    other = make_team(charlie)
    services.lab_book(user=charlie, project=other, lab=LabFactory())

    mine = Calendar.from_ical(feeds.feed_calendar(bob))
    every = Calendar.from_ical(feeds.feed_calendar(dana))

    [event] = mine.events
    assert event.start == lab.start
    assert "presents" in str(event["SUMMARY"])
    assert len(every.events) == 2
    assert mine["X-WR-CALNAME"] == "Pair-Up: my presentation"


def test_the_feed_shows_the_description_as_the_team_edits_it(team, alice, bob):
    services.lab_book(user=alice, project=team, lab=LabFactory())
    [before] = Calendar.from_ical(feeds.feed_calendar(bob)).events

    services.project_update(user=alice, project=team, description="Weather station")

    [after] = Calendar.from_ical(feeds.feed_calendar(bob)).events
    assert "“Weather station”" in str(after["SUMMARY"])
    assert str(after["UID"]) == str(before["UID"])
    assert after.sequence == before.sequence + 1


def test_editing_the_description_without_a_slot_makes_no_event(team, alice, bob):
    services.project_update(user=alice, project=team, description="Weather station")

    assert Calendar.from_ical(feeds.feed_calendar(bob)).events == []


def _rename_on_the_profile_page(client, bob, dana):
    client.force_login(bob)
    client.post("/accounts/profile/", {"preferred_name": "Bobby", "email": bob.email})


def _rename_through_the_api(client, bob, dana):
    from accounts.tests.api_helpers import ApiClient

    ApiClient(bob).patch("/me", {"preferred_name": "Bobby"})


def _rename_by_the_roster(client, bob, dana):
    from accounts.roster import student_import_row

    student_import_row(
        student_number=bob.username,
        first_name="Robert",
        last_name="Baker",
        email=bob.email,
        preferred_name="Bobby",
    )


def _rename_in_the_admin(client, bob, dana):
    from accounts.services import user_admin_save

    bob.first_name, bob.preferred_name = "Robert", "Bobby"
    user_admin_save(actor=dana, user=bob, changed=["first_name", "preferred_name"])


@pytest.mark.parametrize(
    "rename",
    [
        _rename_on_the_profile_page,
        _rename_through_the_api,
        _rename_by_the_roster,
        _rename_in_the_admin,
    ],
)
def test_renaming_a_member_leaves_the_event_current_as_its_title_names_no_one(
    rename, client, team, alice, bob, dana
):
    # The title names the team by number ("Team 5"), not by its members, so
    # a rename has nothing to refresh. If the title ever shows names, each
    # rename must refresh it (as project_update does the description).
    from notifications.models import SlotEvent

    services.lab_book(user=alice, project=team, lab=LabFactory())
    before = SlotEvent.objects.get(project=team)
    feed = feeds.calendar_feed_regenerate(user=bob)
    path = urlsplit(feeds.feed_url(feed)).path

    rename(client, bob, dana)

    bob.refresh_from_db()
    assert bob.display_name == "Bobby"
    after = SlotEvent.objects.get(project=team)
    assert (
        after.summary
        == before.summary
        == (f"Pair-Up: Team {team.pk} presents “A robot that sorts lab kits”")
    )
    assert after.sequence == before.sequence
    [event] = Calendar.from_ical(client.get(path).content).events
    assert str(event["SUMMARY"]) == after.summary
    assert event.sequence == after.sequence


def test_a_member_removed_and_added_back_gets_an_invitation_newer_than_the_cancel(
    committed, team, alice, bob, dana
):
    # A calendar ignores a REQUEST whose SEQUENCE is no higher than the
    # CANCEL it already holds for the UID.
    committed(services.lab_book, user=alice, project=team, lab=LabFactory())
    membership = Membership.objects.get(user=bob)
    committed(services.membership_remove, actor=dana, membership=membership)
    committed(services.membership_add, actor=dana, project=team, student=bob)

    booked, removed, added = (attached(m).events[0] for m in mailed(bob))
    assert [str(c["METHOD"]) for c in (attached(m) for m in mailed(bob))] == [
        "REQUEST",
        "CANCEL",
        "REQUEST",
    ]
    assert len({str(e["UID"]) for e in (booked, removed, added)}) == 1
    assert booked.sequence < removed.sequence < added.sequence
    [listed] = Calendar.from_ical(feeds.feed_calendar(bob)).events
    assert listed.sequence == added.sequence


# After the slot: the presentation happened -------------------------------


def _dissolve_by_a_member(alice, bob, dana, team):
    services.project_dissolve(user=alice, project=team)


def _dissolve_by_a_coordinator(alice, bob, dana, team):
    services.project_dissolve(user=dana, project=team, via="admin")


def _remove_every_member(alice, bob, dana, team):
    # The last member out dissolves the team.
    for student in (bob, alice):
        membership = Membership.objects.get(user=student)
        services.membership_remove(actor=dana, membership=membership)


def _release_by_a_coordinator(alice, bob, dana, team):
    services.lab_release(user=dana, project=team, via="admin")


@pytest.mark.parametrize(
    "end_it",
    [
        _dissolve_by_a_member,
        _dissolve_by_a_coordinator,
        _remove_every_member,
        _release_by_a_coordinator,
    ],
)
def test_after_the_slot_started_no_cancel_is_sent_and_the_feeds_keep_the_event(
    end_it, committed, team, alice, bob, dana
):
    import time_machine

    lab = LabFactory()
    committed(services.lab_book, user=alice, project=team, lab=lab)
    [booked] = Calendar.from_ical(feeds.feed_calendar(bob)).events

    mail.outbox.clear()
    with time_machine.travel(lab.start + timedelta(minutes=20), tick=False):
        committed(end_it, alice, bob, dana, team)

        # Told, but no calendar file strikes out what already happened.
        assert mail.outbox
        for message in mail.outbox:
            assert message.attachments == [], message.subject
            assert "calendar" not in message.body
        # Each feed keeps the presentation as it happened.
        for user in (alice, bob, dana):
            [kept] = Calendar.from_ical(feeds.feed_calendar(user)).events
            assert str(kept["UID"]) == str(booked["UID"])
            assert kept.sequence == booked.sequence
            assert str(kept["STATUS"]) == "CONFIRMED"
            assert kept.start == lab.start


def test_a_member_removed_after_the_slot_keeps_it_and_gets_no_cancel(
    committed, team, alice, bob, dana
):
    import time_machine

    lab = LabFactory()
    committed(services.lab_book, user=alice, project=team, lab=lab)
    with time_machine.travel(lab.start + timedelta(minutes=20), tick=False):
        membership = Membership.objects.get(user=bob)
        committed(services.membership_remove, actor=dana, membership=membership)

        *_, removed = mailed(bob)
        assert removed.attachments == []
        for user in (alice, bob):
            [kept] = Calendar.from_ical(feeds.feed_calendar(user)).events
            assert str(kept["STATUS"]) == "CONFIRMED"


def test_a_team_released_after_its_slot_books_a_new_event_and_keeps_the_old(
    committed, team, alice, bob, dana
):
    import time_machine

    first = LabFactory()
    committed(services.lab_book, user=alice, project=team, lab=first)
    with time_machine.travel(first.start + timedelta(minutes=20), tick=False):
        committed(services.lab_release, user=dana, project=team, via="admin")
        later = LabFactory(start=first.start + timedelta(days=1))
        committed(services.lab_book, user=dana, project=team, lab=later)

        *_, booked_again = mailed(bob)
        [event] = attached(booked_again).events
        assert event.start == later.start  # a new event, not the old one moved
        assert event.sequence == 0
        events = Calendar.from_ical(feeds.feed_calendar(bob)).events
        assert [e.start for e in events] == [first.start, later.start]


def test_a_team_moved_off_a_started_slot_gets_a_new_event_and_keeps_the_old(
    committed, team, alice, bob, dana
):
    """A coordinator moves a team on from a slot that has started (they
    present again later): the past presentation isn't moved in anyone's
    calendar, and the new slot comes as an invitation of its own."""
    import time_machine

    first = LabFactory()
    committed(services.lab_book, user=alice, project=team, lab=first)
    [booked] = Calendar.from_ical(feeds.feed_calendar(bob)).events
    with time_machine.travel(first.start + timedelta(minutes=20), tick=False):
        later = LabFactory(start=first.start + timedelta(days=1))
        committed(services.lab_book, user=dana, project=team, lab=later)

        *_, moved = mailed(bob)
        [event] = attached(moved).events
        assert str(event["UID"]) != str(booked["UID"])
        assert (event.start, event.sequence) == (later.start, 0)
        for user in (alice, bob):
            kept, new = Calendar.from_ical(feeds.feed_calendar(user)).events
            assert str(kept["UID"]) == str(booked["UID"])
            assert (kept.start, kept.sequence) == (first.start, booked.sequence)
            assert str(kept["STATUS"]) == "CONFIRMED"
            assert str(new["UID"]) == str(event["UID"])


def test_a_member_added_after_the_slot_started_gets_no_invitation_to_it(
    committed, alice, charlie, dana
):
    """A newcomer didn't present: no REQUEST puts a past presentation in
    their calendar (their feed lists their team's slot, as it does for
    every member)."""
    import time_machine

    from projects.tests.factories import make_team

    team = make_team(alice)
    lab = LabFactory()
    committed(services.lab_book, user=alice, project=team, lab=lab)
    with time_machine.travel(lab.start + timedelta(minutes=20), tick=False):
        committed(services.membership_add, actor=dana, project=team, student=charlie)

        [added] = mailed(charlie)
        assert added.attachments == []
        assert "calendar" not in added.body
