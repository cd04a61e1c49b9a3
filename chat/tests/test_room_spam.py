"""Room spam (issue 14, item 8): opening rooms is limited per user, empty
rooms nobody joins are pruned, coordinators close or delete rooms."""

import importlib
from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from chat import services
from chat.models import Message, Room
from chat.services import (
    room_delete,
    room_mark_joined,
    room_open,
    room_update,
    rooms_prune,
)
from chat.tests.conftest import expect_close, joined, open_socket

pytestmark = pytest.mark.django_db

TWO_AN_HOUR = override_settings(PAIRUP_ROOM_OPEN_RATE=(2, 3600))


def age(room: Room, **delta) -> Room:
    """Make the room created and last joined that long ago."""
    then = timezone.now() - timedelta(**delta)
    Room.objects.filter(pk=room.pk).update(created_at=then, last_joined_at=then)
    room.refresh_from_db()
    return room


# The limit -----------------------------------------------------------------


def test_the_default_limit_is_five_rooms_an_hour(settings):
    assert settings.PAIRUP_ROOM_OPEN_RATE == (5, 3600)


@TWO_AN_HOUR
def test_a_student_opens_rooms_up_to_the_limit_then_is_told_how_long_to_wait(
    alice,
):
    room_open(name="One", user=alice)
    room_open(name="Two", user=alice)

    with pytest.raises(ValidationError) as refused:
        room_open(name="Three", user=alice)

    assert refused.value.code == "rate_limited"
    assert 1 <= refused.value.params["retry_after"] <= 3600
    message = refused.value.messages[0]
    assert "2 per hour" in message
    assert "Try again in" in message
    assert not Room.objects.filter(slug="three").exists()


@TWO_AN_HOUR
def test_going_to_a_room_that_exists_is_free(alice):
    for _ in range(5):
        _room, created = room_open(name="Lobby", user=alice)
        assert not created
    room_open(name="One", user=alice)
    _room, created = room_open(name="one", user=alice)  # the same slug
    assert not created

    _, created = room_open(name="Two", user=alice)

    assert created


@TWO_AN_HOUR
def test_the_limit_is_per_user_and_coordinators_are_not_limited(alice, bob, dana):
    room_open(name="One", user=alice)
    room_open(name="Two", user=alice)

    assert room_open(name="Three", user=bob)[1]
    for n in range(5):
        assert room_open(name=f"Staff {n}", user=dana)[1]


@override_settings(PAIRUP_ROOM_OPEN_RATE=None)
def test_off_means_no_limit(alice):
    for n in range(8):
        assert room_open(name=f"Room {n}", user=alice)[1]


@TWO_AN_HOUR
def test_the_room_page_form_says_how_long_to_wait_with_429(client, alice):
    client.force_login(alice)
    client.post("/chat/", {"name": "One"})
    client.post("/chat/", {"name": "Two"})

    response = client.post("/chat/", {"name": "Three"})

    assert response.status_code == 429
    text = " ".join(response.text.split())
    assert "You have opened as many rooms as you may (2 per hour)" in text
    assert "minutes" in text
    assert 'value="Three"' in text  # what was typed stays
    assert not Room.objects.filter(slug="three").exists()


# Last joined ---------------------------------------------------------------


def test_opening_a_rooms_page_marks_it_joined_at_most_hourly(
    client, alice, lobby, django_assert_num_queries
):
    client.force_login(alice)
    age(lobby, minutes=30)
    recent = lobby.last_joined_at

    with django_assert_num_queries(4):  # session, user, room, the bell: no update
        client.get("/chat/lobby/")
    lobby.refresh_from_db()
    assert lobby.last_joined_at == recent

    age(lobby, minutes=61)
    with django_assert_num_queries(5):  # ... and the one UPDATE
        client.get("/chat/lobby/")
    lobby.refresh_from_db()
    assert timezone.now() - lobby.last_joined_at < timedelta(minutes=1)


def test_room_mark_joined_leaves_a_fresh_mark(lobby):
    age(lobby, minutes=5)
    before = lobby.last_joined_at

    room_mark_joined(room=lobby)

    lobby.refresh_from_db()
    assert lobby.last_joined_at == before


def test_the_migration_sets_last_joined_from_created(lobby):
    migration = importlib.import_module("chat.migrations.0004_room_closed_last_joined")
    then = timezone.now() - timedelta(days=200)
    Room.objects.filter(pk=lobby.pk).update(created_at=then)

    migration.last_joined_from_created(apps, None)

    lobby.refresh_from_db()
    assert lobby.last_joined_at == then


# Pruning -------------------------------------------------------------------


@pytest.fixture
def rooms(alice, lobby):
    from projects.tests.factories import make_team

    stale = age(room_open(name="Stale")[0], days=121)
    talked = age(room_open(name="Talked")[0], days=121)
    Message.objects.create(room=talked, author=alice, text="kept for the record")
    recent = age(room_open(name="Recent")[0], days=119)
    age(lobby, days=400)
    team_room = Room.objects.get(project=make_team(alice))
    age(team_room, days=400)
    closed = age(room_open(name="Closed Stale")[0], days=200)
    Room.objects.filter(pk=closed.pk).update(closed=True)
    return {"stale": stale, "talked": talked, "recent": recent, "closed": closed}


def test_prune_deletes_only_empty_public_rooms_not_joined_for_the_days(rooms, lobby):
    deleted = rooms_prune(days=120)

    assert sorted(room.slug for room in deleted) == ["closed-stale", "stale"]
    remaining = set(Room.objects.values_list("slug", flat=True))
    assert {"talked", "recent", "lobby"} <= remaining
    assert "stale" not in remaining
    assert Room.objects.filter(project__isnull=False).exists()


def test_prune_rooms_command_reports_and_dry_run_deletes_nothing(rooms):
    out = StringIO()
    call_command("prune_rooms", "--dry-run", stdout=out)

    assert "Would delete 2 empty room(s) not joined for 120 days." in out.getvalue()
    assert "stale (Stale), last joined" in out.getvalue()
    assert Room.objects.filter(slug="stale").exists()

    out = StringIO()
    call_command("prune_rooms", "--days", "150", stdout=out)

    assert "Deleted 1 empty room(s) not joined for 150 days." in out.getvalue()
    assert "closed-stale (Closed Stale)" in out.getvalue()
    assert Room.objects.filter(slug="stale").exists()
    assert not Room.objects.filter(slug="closed-stale").exists()


def test_prune_rooms_says_one_day_not_one_days(rooms):
    out = StringIO()
    call_command("prune_rooms", "--dry-run", "--days", "1", stdout=out)

    assert "not joined for 1 day." in out.getvalue()


def test_a_room_joined_while_pruning_stays_and_is_not_reported_deleted(
    rooms, monkeypatch
):
    """Someone opens "Stale" between the list and the delete: it stays, and
    the coordinator isn't told it went."""
    from django.db.models.query import QuerySet

    delete = QuerySet.delete

    def joined_first(queryset):
        Room.objects.filter(slug="stale").update(last_joined_at=timezone.now())
        return delete(queryset)

    monkeypatch.setattr(QuerySet, "delete", joined_first)
    deleted = rooms_prune(days=120)

    assert [room.slug for room in deleted] == ["closed-stale"]
    assert Room.objects.filter(slug="stale").exists()


def test_prune_rooms_refuses_zero_days():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("prune_rooms", "--days", "0")


@pytest.mark.parametrize("days", ["36501", "1000000"])
def test_prune_rooms_refuses_more_days_than_a_century(days):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at most 36500"):
        call_command("prune_rooms", "--days", days)


# Closing and deleting ------------------------------------------------------


@pytest.fixture
def closed_room(dana):
    room, _ = room_open(name="Spam")
    return room_update(actor=dana, room=room, name=room.name, closed=True)


def test_a_closed_room_page_says_a_coordinator_closed_it_with_410(
    client, alice, closed_room
):
    client.force_login(alice)

    response = client.get("/chat/spam/")

    assert response.status_code == 410
    assert "This room was closed by a coordinator." in response.text
    assert client.get("/chat/spam/history/").status_code == 404


def test_a_closed_room_leaves_the_list_and_its_name_cannot_be_reopened(
    client, alice, closed_room
):
    client.force_login(alice)

    listing = client.get("/chat/")
    response = client.post("/chat/", {"name": "SPAM"})

    assert 'href="/chat/spam/"' not in listing.text
    assert response.status_code == 200
    assert "This room was closed by a coordinator." in response.text
    with pytest.raises(ValidationError) as refused:
        room_open(name="spam", user=alice)
    assert refused.value.code == "closed"


def test_reopening_a_closed_room_lets_people_in_again(client, alice, dana, closed_room):
    room_update(actor=dana, room=closed_room, name="Spam", closed=False)
    client.force_login(alice)

    assert client.get("/chat/spam/").status_code == 200


def test_only_coordinators_close_or_delete_rooms(alice, lobby):
    with pytest.raises(PermissionDenied):
        room_update(actor=alice, room=lobby, name="Lobby", closed=True)
    with pytest.raises(PermissionDenied):
        room_delete(actor=alice, room=lobby)
    lobby.refresh_from_db()
    assert not lobby.closed


def test_a_team_room_cannot_be_closed(dana, alice):
    from projects.tests.factories import make_team

    room = Room.objects.get(project=make_team(alice))

    with pytest.raises(ValidationError):
        room_update(actor=dana, room=room, name=room.name, closed=True)


def test_closing_closes_the_open_sockets_after_commit(
    dana, lobby, monkeypatch, django_capture_on_commit_callbacks
):
    closed = []
    monkeypatch.setattr(services.broadcast, "room_close", closed.append)

    with django_capture_on_commit_callbacks(execute=True):
        room_update(actor=dana, room=lobby, name="Lobby", closed=True)
        assert closed == []  # not before the commit

    assert closed == [lobby.pk]


# ... in the admin ----------------------------------------------------------


@pytest.fixture
def coordinator_client(client, dana):
    client.force_login(dana)
    return client


def test_coordinator_closes_rooms_with_the_admin_action(
    coordinator_client, alice, django_capture_on_commit_callbacks, monkeypatch
):
    from projects.tests.factories import make_team

    spam, _ = room_open(name="Spam")
    team_room = Room.objects.get(project=make_team(alice))
    closed = []
    monkeypatch.setattr(services.broadcast, "room_close", closed.append)

    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator_client.post(
            "/admin/chat/room/",
            {
                "action": "close_rooms",
                "_selected_action": [str(spam.pk), str(team_room.pk)],
            },
            follow=True,
        )

    assert response.status_code == 200
    assert "1 room(s) closed" in response.text
    assert "1 team room(s) skipped" in response.text
    spam.refresh_from_db()
    team_room.refresh_from_db()
    assert spam.closed and not team_room.closed
    assert closed == [spam.pk]


def test_coordinator_closes_a_room_from_its_change_form(coordinator_client, lobby):
    response = coordinator_client.post(
        f"/admin/chat/room/{lobby.pk}/change/", {"name": "Lobby", "closed": "on"}
    )

    assert response.status_code == 302
    lobby.refresh_from_db()
    assert lobby.closed


def test_coordinator_deletes_a_room_through_the_service(
    coordinator_client, monkeypatch
):
    spam, _ = room_open(name="Spam")
    calls = []
    real = services.room_delete

    def spy(**kwargs):
        calls.append(kwargs["room"].pk)
        real(**kwargs)

    monkeypatch.setattr("chat.admin.room_delete", spy)

    response = coordinator_client.post(
        f"/admin/chat/room/{spam.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert calls == [spam.pk]
    assert not Room.objects.filter(pk=spam.pk).exists()


# ... and the sockets -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_closing_a_room_closes_its_sockets_with_4404_and_refuses_new_ones(
    alice, dana
):
    room, _ = await sync_to_async(room_open)(name="Spam")
    socket = await joined(alice, "spam")

    await sync_to_async(room_update)(actor=dana, room=room, name="Spam", closed=True)

    await expect_close(socket, 4404)
    again, connected = await open_socket(alice, "spam")
    assert connected is False
    await again.disconnect()
