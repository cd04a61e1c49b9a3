from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from chat.models import Message, Mute, Room
from chat.services import (
    message_delete,
    message_post,
    message_post_many,
    mute_lift,
    mute_set,
    room_open,
)
from chat.tests.conftest import frames_sent

pytestmark = pytest.mark.django_db


# Rooms ------------------------------------------------------------------


def test_room_open_slugifies_the_name():
    room, created = room_open(name="  Études & Co  ")
    assert created is True
    assert (room.slug, room.name) == ("etudes-co", "Études & Co")


def test_room_open_returns_the_existing_room():
    first, _ = room_open(name="Study")
    again, created = room_open(name="STUDY")
    assert created is False
    assert again.pk == first.pk


@pytest.mark.parametrize("name", ["Team A", "teamwork", "TEAM-5", "", "x" * 41, "%%"])
def test_room_open_refuses_bad_or_reserved_names(name):
    before = Room.objects.count()
    with pytest.raises(ValidationError):
        room_open(name=name)
    assert Room.objects.count() == before


def test_every_new_team_gets_its_room_and_loses_it_with_its_history(alice, bob):
    from projects.services import project_dissolve
    from projects.tests.factories import make_team

    team = make_team(alice, bob)
    room = Room.objects.get(project=team)
    assert (room.slug, room.name) == (f"team-{team.pk}", f"Team {team.pk}")
    Message.objects.create(room=room, author=alice, text="bye")
    project_dissolve(user=alice, project=team)
    assert not Room.objects.filter(pk=room.pk).exists()
    assert not Message.objects.filter(room_id=room.pk).exists()


def test_room_group_is_built_from_the_id(lobby):
    from chat.broadcast import room_group

    assert room_group(lobby.pk) == f"room-{lobby.pk}"


# Messages ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_message_post_stores_then_broadcasts_after_commit(alice, lobby, published):
    message = message_post(author=alice, room=lobby, text="  hi  ")
    assert Message.objects.get(pk=message.pk).text == "hi"
    assert frames_sent(published) == [
        {
            "type": "message",
            "id": message.pk,
            "author": "Alice",
            "author_id": alice.pk,
            "staff": False,
            "text": "hi",
            "sent_at": timezone.localtime(message.sent_at)
            .replace(microsecond=0)
            .isoformat(),
        }
    ]


def test_message_post_broadcasts_nothing_before_commit(alice, lobby, published):
    # The test's transaction never commits here.
    message_post(author=alice, room=lobby, text="hi")
    assert frames_sent(published) == []


def test_a_message_of_emoji_joined_by_zero_width_joiners_is_not_blank(alice, lobby):
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert message_post(author=alice, room=lobby, text=family).text == family


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        (" \n\t ", "empty"),
        ("\u200b", "empty"),  # a zero-width space: an empty bubble
        ("\u200d\ufeff \u3164", "empty"),  # a joiner, a BOM, a Hangul filler
        ("x" * 1001, "too_long"),
        ("a\x00b", "bad_request"),
        (None, "bad_request"),
    ],
)
def test_message_post_refuses_bad_text(alice, lobby, text, code):
    with pytest.raises(ValidationError) as caught:
        message_post(author=alice, room=lobby, text=text)
    assert caught.value.code == code
    assert not Message.objects.exists()


def test_message_length_counts_code_points_after_trimming(alice, lobby):
    text = "😀" * 1000
    assert message_post(author=alice, room=lobby, text=f" {text} ").text == text


@override_settings(PAIRUP_CHAT_RATE=(2, 10))
def test_rate_limit_gives_retry_after_until_the_window_ends(alice, lobby):
    with mock.patch("pairup.ratelimit.time.time", return_value=1003.5):
        message_post(author=alice, room=lobby, text="1")
        message_post(author=alice, room=lobby, text="2")
        with pytest.raises(ValidationError) as caught:
            message_post(author=alice, room=lobby, text="3")
    assert caught.value.code == "rate_limited"
    assert caught.value.params["retry_after"] == 7  # window 1000-1010
    with mock.patch("pairup.ratelimit.time.time", return_value=1010.1):
        message_post(author=alice, room=lobby, text="next window")
    assert Message.objects.count() == 3


@override_settings(PAIRUP_CHAT_RATE=(1, 10))
def test_rate_limit_is_per_user(alice, bob, lobby):
    message_post(author=alice, room=lobby, text="a")
    message_post(author=bob, room=lobby, text="b")
    with pytest.raises(ValidationError):
        message_post(author=alice, room=lobby, text="a again")


def test_expired_mute_no_longer_applies(alice, dana, lobby):
    mute_set(actor=dana, user=alice, until=timezone.now() + timedelta(minutes=5))
    with pytest.raises(ValidationError) as caught:
        message_post(author=alice, room=lobby, text="hi")
    assert caught.value.code == "muted"
    Mute.objects.filter(user=alice).update(until=timezone.now() - timedelta(seconds=1))
    assert message_post(author=alice, room=lobby, text="hi").pk


def test_message_delete_needs_a_coordinator(alice, lobby):
    message = Message.objects.create(room=lobby, author=alice, text="x")
    with pytest.raises(PermissionDenied):
        message_delete(actor=alice, message=message)
    assert Message.objects.filter(pk=message.pk).exists()


# Mutes ------------------------------------------------------------------


def test_mute_set_and_lift(alice, dana):
    until = timezone.now() + timedelta(days=1)
    mute = mute_set(actor=dana, user=alice, until=until, reason="spam")
    assert (mute.until, mute.reason, mute.created_by) == (until, "spam", dana)
    assert Mute.objects.active().filter(user=alice).exists()
    mute_set(actor=dana, user=alice)  # changed to "until lifted"
    assert Mute.objects.get(user=alice).until is None
    assert mute_lift(actor=dana, user=alice) is True
    assert not Mute.objects.filter(user=alice).exists()
    assert mute_lift(actor=dana, user=alice) is False


def test_mute_end_must_be_in_the_future(alice, dana):
    with pytest.raises(ValidationError):
        mute_set(actor=dana, user=alice, until=timezone.now() - timedelta(minutes=1))
    assert not Mute.objects.exists()


def test_students_cannot_mute(alice, bob):
    with pytest.raises(PermissionDenied):
        mute_set(actor=alice, user=bob)
    with pytest.raises(PermissionDenied):
        mute_lift(actor=alice, user=bob)
    assert not Mute.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_message_post_many_stores_the_good_posts_and_returns_each_refusal(
    alice, bob, dana, lobby, published, django_assert_num_queries
):
    other, _ = room_open(name="Other")
    mute_set(actor=dana, user=bob)
    posts = [
        (alice, lobby, " one "),
        (bob, lobby, "muted"),
        (alice, other, "two"),
        (alice, lobby, ""),
        (alice, lobby, "three"),
    ]
    # the mutes, the rooms still there, then BEGIN, one INSERT for all, COMMIT
    with django_assert_num_queries(5):
        results = message_post_many(posts=posts)
    assert [getattr(r, "code", "stored") for r in results] == [
        "stored",
        "muted",
        "stored",
        "empty",
        "stored",
    ]
    assert list(Message.objects.values_list("text", flat=True)) == [
        "one",
        "two",
        "three",
    ]
    assert [
        (room_id, [f["text"] for f in event["frames"]], event["history_changed"])
        for room_id, event in published
    ] == [
        (lobby.pk, ["one", "three"], True),
        (other.pk, ["two"], True),
    ]
    assert [f["id"] for f in published[0][1]["frames"]] == [
        results[0].pk,
        results[4].pk,
    ]
