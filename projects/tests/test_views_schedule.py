from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from projects import services
from projects.models import BookingWindow
from projects.tests.factories import (
    LabFactory,
    StudentFactory,
    lab_starting_in,
    local_at,
    make_team,
)

SCHEDULE = reverse("projects:schedule")
PRINT = reverse("projects:schedule_print")
pytestmark = pytest.mark.django_db


def publish(dana):
    window = BookingWindow.get()
    window.schedule_published = True
    services.booking_window_update(
        actor=dana, window=window, fields=["schedule_published"]
    )


@pytest.fixture
def two_bookings(alice, charlie, team):
    mine = LabFactory(room="Lab A", start=local_at(3, 10))
    theirs = LabFactory(room="Lab B", start=mine.start - timedelta(hours=1))
    services.lab_book(user=alice, project=team, lab=mine)
    other = make_team(charlie, description="Charlie's compiler", lab=theirs)
    return mine, theirs, other


def test_unpublished_schedule_shows_only_my_team(client, bob, team, two_bookings):
    mine, _, _ = two_bookings
    client.force_login(bob)

    response = client.get(SCHEDULE)

    assert response.status_code == 200
    assert [row["lab"] for row in response.context["rows"]] == [mine]
    body = response.content.decode()
    assert f"Team {team.pk}: Alice, Bob" in body
    assert "Charlie's compiler" not in body
    assert "not published yet" in body


def test_published_schedule_shows_everyone_by_time(
    client, bob, dana, team, two_bookings
):
    mine, theirs, other = two_bookings
    publish(dana)
    client.force_login(bob)

    response = client.get(SCHEDULE)

    rows = response.context["rows"]
    assert [row["lab"] for row in rows] == [theirs, mine]
    assert rows[0]["team_name"] == f"Team {other.pk}: Charlie"
    assert rows[0]["description"] == "Charlie's compiler"
    assert rows[1]["mine"] is True


def test_coordinator_sees_every_booking_before_publishing(client, dana, two_bookings):
    client.force_login(dana)

    response = client.get(SCHEDULE)

    assert len(response.context["rows"]) == 2
    assert all(row["team_name"] for row in response.context["rows"])


def test_student_without_a_booking_sees_an_empty_schedule(
    client, alice, team, two_bookings
):
    loner = StudentFactory()
    make_team(loner)
    client.force_login(loner)

    response = client.get(SCHEDULE)

    assert response.context["rows"] == []
    assert "No booked slots to show yet." in response.content.decode()


def test_schedule_links_a_printable_sheet_per_room_and_day(client, bob, two_bookings):
    mine, _, _ = two_bookings
    client.force_login(bob)

    response = client.get(SCHEDULE)

    day = timezone.localtime(mine.start).date()
    assert response.context["sheets"] == [(day, "Lab A")]
    assert f"{PRINT}?room=Lab%20A&amp;day={day.isoformat()}" in (
        response.content.decode()
    )


def test_printable_sheet_lists_every_slot_of_the_room_and_day(
    client, bob, charlie, team, two_bookings
):
    mine, _, _ = two_bookings
    free = LabFactory(room="Lab A", start=mine.start + timedelta(minutes=30))
    LabFactory(room="Lab A", start=mine.start + timedelta(days=1))
    client.force_login(charlie)
    day = timezone.localtime(mine.start).date().isoformat()

    response = client.get(PRINT, {"room": "Lab A", "day": day})

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row["lab"] for row in rows] == [mine, free]
    body = response.content.decode()
    assert "Taken" in body  # not published: Charlie doesn't see Alice's team
    assert "Alice" not in body.split("<main", 1)[1]
    assert "projects/print.css" in body


def test_printable_sheet_includes_slots_already_started(client, dana):
    started = lab_starting_in(-10, room="Lab C")
    client.force_login(dana)
    day = timezone.localtime(started.start).date().isoformat()

    response = client.get(PRINT, {"room": "Lab C", "day": day})

    assert [row["lab"] for row in response.context["rows"]] == [started]


@pytest.mark.parametrize(
    "params", [{}, {"room": "Lab A"}, {"room": "Nowhere", "day": "2026-05-20"}]
)
def test_printable_sheet_needs_a_known_room_and_day(client, bob, two_bookings, params):
    client.force_login(bob)

    assert client.get(PRINT, params).status_code == 404


@pytest.mark.parametrize("url", [SCHEDULE, PRINT])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.url == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("url", [SCHEDULE, PRINT])
def test_wrong_method_gets_405(client, bob, url):
    client.force_login(bob)

    assert client.post(url).status_code == 405


def test_schedule_costs_the_same_queries_as_bookings_grow(
    client, dana, django_assert_num_queries
):
    client.force_login(dana)
    make_team(StudentFactory(), StudentFactory(), lab=LabFactory())
    # session, user, coordinator group, window, my project's id (for the
    # shared team-name rule), slots with teams, members, the bell's unread count
    with django_assert_num_queries(8):
        client.get(SCHEDULE)
    for _ in range(5):
        make_team(StudentFactory(), StudentFactory(), lab=LabFactory())
    with django_assert_num_queries(8):
        response = client.get(SCHEDULE)
    assert len(response.context["rows"]) == 6
