import re

import pytest
from django.urls import reverse

from projects.tests.factories import CoordinatorFactory, StudentFactory, make_team

SEARCH = reverse("projects:student_search")
INVITE = reverse("projects:project_invite")
pytestmark = pytest.mark.django_db


def results(response):
    return [student.username for student in response.context["results"]]


def test_looking_students_come_first_and_are_marked(client, alice):
    StudentFactory(username="20000011", first_name="Sam", last_name="Adams")
    StudentFactory(
        username="20000012",
        first_name="Sam",
        last_name="Zane",
        looking_for_partner=True,
    )
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "sam"})

    assert response.status_code == 200
    assert results(response) == ["20000012", "20000011"]
    assert "Looking for a partner" in response.content.decode()


def test_free_looking_students_come_before_looking_ones_in_a_solo_project(
    client, alice
):
    StudentFactory(username="20000011", first_name="Sam", last_name="Adams")
    solo = StudentFactory(
        username="20000012",
        first_name="Sam",
        last_name="Baker",
        looking_for_partner=True,
    )
    make_team(solo)
    StudentFactory(
        username="20000013",
        first_name="Sam",
        last_name="Zane",
        looking_for_partner=True,
    )
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "sam"})

    assert results(response) == ["20000013", "20000012", "20000011"]


def test_search_matches_number_and_preferred_name(client, alice):
    StudentFactory(username="20004242", first_name="Robert", preferred_name="Bobby")
    client.force_login(alice)

    assert results(client.get(SEARCH, {"q": "4242"})) == ["20004242"]
    assert results(client.get(SEARCH, {"q": "bobb"})) == ["20004242"]


def test_coordinators_are_never_listed(client, alice):
    CoordinatorFactory(username="samcoord", first_name="Sam")
    StudentFactory(first_name="Sam")
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "sam"})

    assert "samcoord" not in results(response)
    assert len(results(response)) == 1


def test_one_character_is_not_enough(client, alice):
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "a"})

    assert response.status_code == 200
    assert response.context["results"] == []
    assert response.context["form"].errors["q"] == ["Type at least 2 characters."]


def test_at_most_50_results(client, alice):
    StudentFactory.create_batch(55, last_name="Many")
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "many"})

    assert len(results(response)) == 50
    assert "the first 50" in response.content.decode()


def test_free_and_teamed_students_are_told_apart_with_invite_buttons(
    client, alice, bob, charlie
):
    make_team(alice)
    make_team(bob)
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "2000000"})

    body = response.content.decode()
    assert response.context["can_invite"] is True
    rows = {row.split('"')[0]: row for row in body.split('data-student="')[1:]}
    assert "In a team" in rows["20000002"]
    assert INVITE not in rows["20000002"]
    assert "Free" in rows["20000003"]
    assert INVITE in rows["20000003"]
    assert 'name="next" value="/students/?q=2000000"' in rows["20000003"]
    assert INVITE not in rows["20000001"]  # not yourself


def test_a_student_already_invited_shows_invited_with_a_cancel_not_invite(
    client, alice, bob, charlie
):
    from projects import services

    project = make_team(alice)
    invitation = services.invitation_send(
        user=alice, project=project, invitee_number="20000003"
    )
    make_team(bob)  # Bob's team invites no one: Alice's invitation is hers
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "2000000"})

    rows = {
        row.split('"')[0]: row
        for row in response.content.decode().split('data-student="')[1:]
    }
    cancel = reverse("projects:invitation_cancel", args=[invitation.pk])
    assert 'data-testid="invited">Invited<' in rows["20000003"]
    assert cancel in rows["20000003"]
    assert INVITE not in rows["20000003"]
    client.force_login(bob)
    assert cancel not in client.get(SEARCH, {"q": "2000000"}).content.decode()

    client.force_login(alice)
    cancelled = client.post(cancel, {"next": "/students/?q=2000000"})

    assert cancelled.url == "/students/?q=2000000"
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"


def test_no_invite_buttons_without_a_project_with_room(client, alice, charlie, team):
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "charlie"})

    assert results(response) == ["20000003"]
    assert response.context["can_invite"] is False
    assert INVITE not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(SEARCH)

    assert response.url == f"{reverse('login')}?next={SEARCH}"


def test_wrong_method_gets_405(client, alice):
    client.force_login(alice)

    assert client.post(SEARCH).status_code == 405


def test_search_costs_the_same_queries_for_more_results(
    client, alice, django_assert_num_queries
):
    make_team(alice)
    StudentFactory(last_name="Many")
    client.force_login(alice)
    # session, user, results, my project, its members, the bell's unread count
    with django_assert_num_queries(6):
        client.get(SEARCH, {"q": "many"})
    StudentFactory.create_batch(30, last_name="Many")
    with django_assert_num_queries(6):
        response = client.get(SEARCH, {"q": "many"})
    assert len(response.context["results"]) == 31


@pytest.mark.parametrize(
    "user",
    [
        lambda: CoordinatorFactory(username="dana"),
        lambda: StudentFactory(username="tutor", is_staff=True),
    ],
    ids=["coordinator", "staff outside the group"],
)
def test_search_is_for_students_only(client, alice, user):
    client.force_login(user())

    response = client.get(SEARCH, {"q": "Alice"})

    assert response.status_code == 403
    assert "20000001" not in response.content.decode()


def test_a_free_student_is_told_to_start_a_project_to_invite(client, alice, charlie):
    client.force_login(charlie)

    response = client.get(SEARCH, {"q": "alice"})

    hint = re.search(r'<p [^>]*data-testid="invite-hint".*?</p>', response.text, re.S)
    assert results(response) == ["20000001"]
    assert INVITE not in response.text
    assert hint is not None
    assert f'href="{reverse("projects:project_new")}"' in hint[0]
    assert "partner" in hint[0]


def test_a_member_gets_no_start_a_project_hint(client, alice, bob, team):
    StudentFactory(username="20000011", first_name="Sam")
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "sam"})

    assert 'data-testid="invite-hint"' not in response.text
