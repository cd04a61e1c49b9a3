"""Reads behind the socket's connect and the pages, with their query budgets."""

import pytest
from django.http import Http404

from chat.models import Message, Room
from chat.selectors import message_history, room_get_for_user, team_room_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(alice, bob):
    from projects.tests.factories import make_team

    return make_team(alice, bob)


def test_public_room_costs_one_query(alice, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert room_get_for_user(user=alice, slug="lobby").slug == "lobby"


def test_team_room_for_member(alice, team, django_assert_num_queries):
    # project, its members, the room
    with django_assert_num_queries(3):
        room = room_get_for_user(user=alice, slug=f"team-{team.pk}")
    assert room.project_id == team.pk


def test_team_room_for_coordinator(dana, team, django_assert_num_queries):
    # project, its members, the coordinator's group, the room
    with django_assert_num_queries(4):
        room = room_get_for_user(user=dana, slug=f"team-{team.pk}")
    assert room.project_id == team.pk


@pytest.mark.parametrize("slug", ["team-{pk}", "team-999999", "nowhere", "team-x"])
def test_outsider_gets_404_whatever_exists(charlie, team, slug):
    with pytest.raises(Http404):
        room_get_for_user(user=charlie, slug=slug.format(pk=team.pk))


def test_anonymous_and_inactive_users_get_404(alice):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        room_get_for_user(user=AnonymousUser(), slug="lobby")
    alice.is_active = False
    with pytest.raises(Http404):
        room_get_for_user(user=alice, slug="lobby")


def test_history_preloads_authors(alice, bob, django_assert_num_queries):
    lobby = Room.objects.get(slug="lobby")
    for n in range(5):
        Message.objects.create(room=lobby, author=alice if n % 2 else bob, text="x")
    with django_assert_num_queries(1):
        names = [m.author.display_name for m in message_history(room=lobby)]
    assert names == ["Bob", "Alice", "Bob", "Alice", "Bob"]


def test_team_room_link_for_member_and_none_for_free_student(alice, charlie, team):
    assert team_room_for_user(user=alice).slug == f"team-{team.pk}"
    assert team_room_for_user(user=charlie) is None
