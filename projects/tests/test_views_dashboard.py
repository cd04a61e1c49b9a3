from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from projects import services
from projects.models import Lab
from projects.tests.factories import (
    LabFactory,
    StudentFactory,
    lab_starting_in,
    make_team,
)

HOME = reverse("home")
pytestmark = pytest.mark.django_db


def test_signed_out_visitor_sees_the_landing_page(client):
    response = client.get(HOME)

    assert response.status_code == 200
    assert "dashboard" not in response.content.decode()
    assert reverse("login") in response.content.decode()


def test_free_student_sees_invitations_with_answer_buttons(client, alice, bob):
    project = make_team(alice)
    invitation = services.invitation_send(
        user=alice, project=project, invitee_number=bob.username
    )
    client.force_login(bob)

    response = client.get(HOME)

    body = response.content.decode()
    assert response.context["project"] is None
    assert list(response.context["incoming"]) == [invitation]
    assert "You don't have a project yet." in body
    assert reverse("projects:invitation_accept", args=[invitation.pk]) in body
    assert reverse("projects:invitation_decline", args=[invitation.pk]) in body
    assert reverse("projects:project_new") in body


def test_member_sees_partner_slot_and_sent_invitations(client, alice, bob, charlie):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    invitation = services.invitation_send(
        user=alice, project=project, invitee_number=charlie.username
    )
    client.force_login(alice)

    response = client.get(HOME)

    body = response.content.decode()
    assert response.context["project"] == project
    assert list(response.context["outgoing"]) == [invitation]
    assert reverse("projects:invitation_cancel", args=[invitation.pk]) in body
    assert "Partner:" in body and "none yet" in body
    assert reverse("projects:student_search") in body  # next step: find a partner


def test_partner_sees_the_slot_the_other_booked(client, alice, bob, team):
    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)
    client.force_login(bob)

    response = client.get(HOME)

    body = response.content.decode()
    assert [m.username for m in response.context["partners"]] == ["20000001"]
    assert "Alice (20000001)" in body
    local = timezone.localtime(lab.start)
    assert f"{local:%H:%M}" in body
    assert "Australia/Perth" in body


def test_a_slot_that_has_passed_is_not_a_next_step(client, alice, dana):
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(-120))
    client.force_login(alice)

    response = client.get(HOME)

    steps = response.content.decode().split('data-testid="next-steps"')[1]
    steps = steps.split("</ul>")[0]
    assert "Present at" not in steps
    assert "Your team's slot" in steps and "has passed" in steps


def test_dashboard_costs_the_same_queries_for_10_and_1000_slots(
    client, alice, bob, django_assert_num_queries
):
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)

    def add_labs(first, count):
        Lab.objects.bulk_create(
            Lab(
                room="Big hall",
                start=start + timedelta(minutes=20 * i),
                end=start + timedelta(minutes=20 * i + 15),
            )
            for i in range(first, first + count)
        )

    add_labs(0, 10)
    project = make_team(alice, lab=Lab.objects.first())
    services.invitation_send(user=alice, project=project, invitee_number=bob.username)
    make_team(StudentFactory(), lab=Lab.objects.last())
    client.force_login(alice)

    # session, user, my project (+ lab), its members, the booking window (is
    # there a ballot?), invitations to me, invitations from my project, the
    # bell's unread count
    with django_assert_num_queries(8):
        client.get(HOME)
    add_labs(10, 990)
    with django_assert_num_queries(8):
        response = client.get(HOME)

    assert response.status_code == 200


def test_wrong_method_gets_405(client, alice):
    client.force_login(alice)

    assert client.post(HOME).status_code == 405


def test_dashboard_links_to_the_team_room(client, alice, team):
    client.force_login(alice)

    body = client.get(reverse("home")).content.decode()

    assert f'href="/chat/team-{team.pk}/" data-testid="team-room-link"' in body
    assert client.get(f"/chat/team-{team.pk}/").status_code == 200


def test_free_student_dashboard_has_no_team_room_link(client, charlie):
    client.force_login(charlie)

    assert "team-room-link" not in client.get(reverse("home")).content.decode()


def next_steps(response) -> str:
    body = response.content.decode()
    start = body.index('data-testid="next-steps"')
    return body[start : body.index("</ul>", start)]


def test_with_team_changes_closed_the_next_steps_offer_no_team_change(
    client, alice, charlie
):
    from projects.tests.helpers import set_window

    make_team(alice)
    set_window(team_changes_open=False)

    client.force_login(charlie)
    free = next_steps(client.get(HOME))
    client.force_login(alice)
    solo = next_steps(client.get(HOME))

    assert "Team changes are closed, so you can't start or join" in free
    assert reverse("projects:project_new") not in free
    assert "Team changes are closed, so you can't invite a partner now." in solo
    for steps in (free, solo):
        assert reverse("projects:student_search") not in steps


def test_with_team_changes_open_the_next_steps_offer_them(client, alice, charlie):
    make_team(alice)

    client.force_login(charlie)
    free = next_steps(client.get(HOME))
    client.force_login(alice)
    solo = next_steps(client.get(HOME))

    assert reverse("projects:project_new") in free
    assert reverse("projects:student_search") in solo
    assert "closed" not in free + solo


def project_card(response) -> str:
    body = response.content.decode()
    start = body.index('data-testid="dashboard"')
    return body[start : body.index('aria-labelledby="next-heading"', start)]


def test_coordinator_dashboard_has_no_project_card_but_links_to_the_unit(
    client, dana, django_assert_num_queries
):
    client.force_login(dana)

    # session, user, my project (none), the booking window, the Coordinators
    # group check, the bell's unread count (staff are never invited)
    with django_assert_num_queries(6):
        response = client.get(HOME)

    assert "Invitations to you" not in response.content.decode()
    card = project_card(response)
    assert "My project" not in card
    assert "You don't have a project yet." not in card
    assert 'data-testid="dashboard-coordinator"' in card
    assert reverse("projects:coordinator") in card
    assert reverse("admin:index") in card


def test_staff_outside_the_group_get_no_project_card(client):
    client.force_login(StudentFactory(username="tutor", is_staff=True))

    card = project_card(client.get(HOME))

    assert "My project" not in card
    assert "You don't have a project yet." not in card
    assert "dashboard-coordinator" not in card
    assert "Invitations to you" not in card
