"""The admin calls itself Pair-Up, not "Django administration"."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_admin_index_says_pair_up(client, dana):
    client.force_login(dana)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "<title>Run the unit | Pair-Up admin</title>" in response.text
    assert '<a href="/admin/">Pair-Up</a>' in response.text
    assert "Django administration" not in response.text
    assert "Django site admin" not in response.text


def test_the_admin_sign_in_page_says_pair_up(client):
    response = client.get("/admin/login/")

    assert "Pair-Up" in response.text
    assert "Django administration" not in response.text


# Coordinators only --------------------------------------------------------


@pytest.fixture
def tutor(make_student):
    """Staff outside the Coordinators group, given every model permission
    (say, through a "Tutors" group a superuser made)."""
    from django.contrib.auth.models import Permission

    tutor = make_student(username="tutor", is_staff=True)
    tutor.user_permissions.set(Permission.objects.all())
    return tutor


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/chat/message/",
        "/admin/chat/room/",
        "/admin/chat/mute/",
        "/admin/accounts/apitoken/",
        "/admin/accounts/user/",
        "/admin/auth/group/",
        "/admin/axes/accessattempt/",
        "/admin/projects/project/",
        "/admin/notifications/notification/",
    ],
)
def test_staff_outside_the_coordinators_group_are_sent_to_the_sign_in(
    client, tutor, url
):
    client.force_login(tutor)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"/admin/login/?next={url}"


def test_a_team_rooms_messages_are_not_shown_to_staff_outside_the_group(
    client, tutor, team
):
    from chat.models import Message, Room

    room = Room.objects.get(project=team)
    Message.objects.create(
        room=room, author=team.memberships.first().user, text="secret"
    )
    client.force_login(tutor)

    response = client.get("/admin/chat/message/", follow=True)

    assert "secret" not in response.text
    assert "You are authenticated as tutor" in response.text


def test_staff_outside_the_group_cannot_add_themselves_to_it(client, tutor):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="Coordinators")
    client.force_login(tutor)

    client.post(f"/admin/auth/group/{group.pk}/change/", {"name": group.name})
    client.post(
        f"/admin/accounts/user/{tutor.pk}/change/",
        {"username": "tutor", "groups": [group.pk], "is_staff": "on"},
    )

    assert not tutor.groups.exists()


def test_a_superuser_outside_the_group_gets_in(client, make_student):
    boss = make_student(username="boss", is_staff=True, is_superuser=True)
    client.force_login(boss)

    assert client.get("/admin/chat/message/").status_code == 200
