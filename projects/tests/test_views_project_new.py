import pytest
from django.test import override_settings
from django.urls import reverse

from projects import services
from projects.models import BookingWindow, Invitation, Lab, Membership, Project
from projects.tests.factories import (
    LabFactory,
    StudentFactory,
    lab_starting_in,
    make_team,
)
from projects.tests.helpers import messages_of

URL = reverse("projects:project_new")
pytestmark = pytest.mark.django_db


def close_window(dana, **fields):
    window = BookingWindow.get()
    for name, value in fields.items():
        setattr(window, name, value)
    services.booking_window_update(actor=dana, window=window, fields=list(fields))


def test_free_student_creates_project_with_slot_and_invitation(client, alice, bob):
    lab = LabFactory()
    client.force_login(alice)
    assert not Project.objects.exists()

    response = client.post(
        URL, {"description": "  Line follower  ", "lab": lab.pk, "partner": "20000002"}
    )

    assert response.status_code == 302
    assert response.url == reverse("projects:project_mine")
    project = Membership.objects.get(user=alice).project
    assert project.description == "Line follower"
    lab.refresh_from_db()
    assert lab.project == project
    invitation = Invitation.objects.get(invitee=bob)
    assert invitation.project == project
    assert invitation.status == Invitation.Status.PENDING
    assert "Invitation sent to Bob (20000002)." in messages_of(response)[0]


def test_project_without_slot_or_partner_is_enough(client, alice):
    client.force_login(alice)

    response = client.post(URL, {"description": "Solo work", "lab": "", "partner": ""})

    assert response.status_code == 302
    project = Membership.objects.get(user=alice).project
    assert project.lab is None
    assert not Invitation.objects.exists()


def test_form_offers_only_bookable_slots(client, alice, charlie, team):
    free = LabFactory()
    taken = LabFactory()
    services.lab_book(user=alice, project=team, lab=taken)
    lab_starting_in(30)  # inside the cut-off
    LabFactory(is_open=False)
    client.force_login(charlie)

    response = client.get(URL)

    choices = [str(pk) for pk, _ in response.context["form"].fields["lab"].choices]
    assert choices == ["", str(free.pk)]


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={URL}"


def test_member_is_redirected_to_my_project(client, alice, team):
    client.force_login(alice)

    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == reverse("projects:project_mine")
    assert messages_of(response) == ["You already have a project."]


def test_wrong_method_gets_405(client, alice):
    client.force_login(alice)

    assert client.put(URL).status_code == 405


def test_empty_description_shows_error_and_keeps_what_was_typed(client, alice, bob):
    client.force_login(alice)

    response = client.post(URL, {"description": "", "partner": "20000002"})

    assert response.status_code == 200
    form = response.context["form"]
    assert "description" in form.errors
    assert 'value="20000002"' in response.content.decode()
    assert not Project.objects.exists()
    assert not Invitation.objects.exists()


def test_too_long_description_is_refused(client, alice):
    client.force_login(alice)

    response = client.post(URL, {"description": "x" * 65})

    assert response.status_code == 200
    assert "description" in response.context["form"].errors
    assert not Project.objects.exists()


def test_slot_taken_meanwhile_shows_reason_and_creates_nothing(client, alice, charlie):
    lab = LabFactory()
    other = make_team(charlie)
    services.lab_book(user=charlie, project=other, lab=lab)
    client.force_login(alice)

    response = client.post(URL, {"description": "Late", "lab": lab.pk})

    assert response.status_code == 200
    assert response.context["form"].errors["lab"] == [
        "That slot is no longer available. Please pick another one."
    ]
    assert 'value="Late"' in response.content.decode()
    assert not Membership.objects.filter(user=alice).exists()
    lab.refresh_from_db()
    assert lab.project == other


def test_unknown_partner_shows_reason_and_creates_nothing(client, alice):
    client.force_login(alice)

    response = client.post(URL, {"description": "Robots", "partner": "29999999"})

    assert response.status_code == 200
    assert response.context["form"].errors["partner"] == [
        "No student with the number '29999999' was found."
    ]
    assert not Project.objects.exists()


def test_partner_who_already_has_a_project_is_refused(client, charlie, team):
    client.force_login(charlie)

    response = client.post(URL, {"description": "Robots", "partner": "20000001"})

    assert response.status_code == 200
    assert "Alice already has a project." in response.context["form"].errors["partner"]
    assert not Membership.objects.filter(user=charlie).exists()


def test_team_changes_closed_refuses_and_creates_nothing(client, alice, dana):
    close_window(dana, team_changes_open=False)
    client.force_login(alice)

    response = client.post(URL, {"description": "Robots"})

    assert response.status_code == 200
    assert "Team changes are closed." in response.context["form"].non_field_errors()
    assert not Project.objects.exists()


def test_booking_closed_refuses_the_slot_and_creates_nothing(client, alice, dana):
    lab = LabFactory()
    close_window(dana, booking_open=False)
    client.force_login(alice)

    response = client.post(URL, {"description": "Robots", "lab": lab.pk})

    assert response.status_code == 200
    assert response.context["form"].errors["lab"] == ["Booking is closed."]
    assert "Booking is closed at the moment." in response.content.decode()
    assert not Project.objects.exists()
    assert not Lab.objects.filter(project__isnull=False).exists()


@override_settings(PAIRUP_TEAM_SIZE=1)
def test_with_teams_of_one_the_form_offers_no_partner(client, alice):
    client.force_login(alice)

    response = client.get(URL)

    assert response.status_code == 200
    assert "partner" not in response.context["form"].fields
    body = response.content.decode()
    assert 'name="partner"' not in body
    assert "invite a partner" not in body
    assert "find a partner</a> first" not in body
    assert "Teams in this unit have one member" in body


@override_settings(PAIRUP_TEAM_SIZE=1)
def test_with_teams_of_one_a_project_is_created_alone(client, alice):
    client.force_login(alice)

    response = client.post(URL, {"description": "Robots"})

    assert response.status_code == 302
    assert messages_of(response) == ["Your project was created."]
    assert Project.objects.get().member_list() == [alice]


@override_settings(PAIRUP_TEAM_SIZE=1)
def test_with_teams_of_one_a_posted_partner_is_refused_and_nothing_made(
    client, alice, bob
):
    # A form loaded before the unit went to teams of one still sends it.
    client.force_login(alice)

    response = client.post(URL, {"description": "Robots", "partner": bob.username})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Teams in this unit have one member: there is no partner to invite."
    ]
    assert response.context["form"]["description"].value() == "Robots"
    assert not Project.objects.exists()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_coordinator_is_sent_to_the_coordinator_page(client, dana, method):
    # As from /projects/mine/: not the 403 page ("ask your unit coordinator").
    client.force_login(dana)

    response = getattr(client, method)(URL, {"description": "Staff project"})

    assert response.status_code == 302
    assert response.url == reverse("projects:coordinator")
    assert messages_of(response) == [
        "Coordinators don't have a project; the coordinator page shows the "
        "unit's teams."
    ]
    assert not Project.objects.exists()


def test_staff_who_are_not_coordinators_get_the_403_page(client):
    client.force_login(StudentFactory(username="tutor", is_staff=True))

    response = client.post(URL, {"description": "Staff project"})

    assert response.status_code == 403
    assert not Project.objects.exists()
