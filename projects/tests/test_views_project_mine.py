import re

import pytest
from django.test import override_settings
from django.urls import reverse

from projects import services
from projects.models import Invitation, Membership, Project
from projects.tests.factories import (
    LabFactory,
    StudentFactory,
    lab_starting_in,
    make_team,
)
from projects.tests.helpers import messages_of, set_window

MINE = reverse("projects:project_mine")
INVITE = reverse("projects:project_invite")
RELEASE = reverse("projects:project_release")
DISSOLVE = reverse("projects:project_dissolve")
pytestmark = pytest.mark.django_db


# /projects/mine/ ----------------------------------------------------------


def test_member_sees_members_slot_and_pending_invitations(client, alice, charlie):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    services.invitation_send(user=alice, project=project, invitee_number="20000003")
    client.force_login(alice)

    response = client.get(MINE)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Alice (20000001)" in body
    assert response.context["project"] == project
    assert [i.invitee for i in response.context["outgoing"]] == [charlie]
    assert "Australia/Perth" in body
    assert reverse("projects:project_release") in body


@pytest.mark.parametrize("url", [MINE, RELEASE, DISSOLVE])
def test_free_student_is_sent_to_new_project(client, charlie, url):
    client.force_login(charlie)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == reverse("projects:project_new")
    assert messages_of(response) == ["You don't have a project yet. Create one first."]


NO_PROJECT_FOR_COORDINATORS = (
    "Coordinators don't have a project; the coordinator page shows the unit's teams."
)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", MINE),
        ("post", MINE),
        ("post", INVITE),
        ("get", RELEASE),
        ("post", RELEASE),
        ("get", DISSOLVE),
        ("post", DISSOLVE),
    ],
)
def test_a_coordinator_is_sent_to_the_coordinator_page(client, dana, method, url):
    # Not the 403 page, which tells them to "ask your unit coordinator".
    client.force_login(dana)

    response = getattr(client, method)(url, {"partner": "20000003"})

    assert response.status_code == 302
    assert response.url == reverse("projects:coordinator")
    assert messages_of(response) == [NO_PROJECT_FOR_COORDINATORS]
    assert not Project.objects.exists()
    assert not Invitation.objects.exists()


def test_a_superuser_is_sent_to_the_coordinator_page(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(admin)

    response = client.get(MINE)

    assert response.status_code == 302
    assert response.url == reverse("projects:coordinator")


@pytest.mark.parametrize("url", [MINE, INVITE, RELEASE, DISSOLVE])
def test_staff_who_are_not_coordinators_get_the_403_page(client, url):
    # The coordinator page would refuse them too: no detour.
    client.force_login(StudentFactory(username="tutor", is_staff=True))

    response = client.post(url) if url == INVITE else client.get(url)

    assert response.status_code == 403
    assert messages_of(response) == []


@override_settings(PAIRUP_TEAM_SIZE=1)
def test_with_teams_of_one_no_invitation_is_offered(client, alice):
    project = make_team(alice)
    client.force_login(alice)

    response = client.get(MINE)

    assert response.status_code == 200
    body = response.content.decode()
    assert f'action="{INVITE}"' not in body
    assert "Members (1 of 1)" in body
    assert "Your team is full." in body
    assert project.invitations.count() == 0


def test_a_slot_that_has_passed_is_not_said_to_start_within_the_cutoff(
    client, alice, dana
):
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(-120))
    client.force_login(alice)

    response = client.get(MINE)

    body = response.content.decode()
    assert "starts within the cut-off" not in body
    assert "Your team's slot has passed." in body
    assert reverse("projects:project_release") not in body


@pytest.mark.parametrize("url", [MINE, INVITE, RELEASE, DISSOLVE])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("url", [MINE, RELEASE, DISSOLVE])
def test_wrong_method_gets_405(client, alice, team, url):
    client.force_login(alice)

    assert client.put(url).status_code == 405


def test_member_edits_the_description(client, bob, team):
    client.force_login(bob)
    assert team.description == "A robot that sorts lab kits"

    response = client.post(MINE, {"description": "A robot that tidies"})

    assert response.status_code == 302
    assert response.url == MINE
    team.refresh_from_db()
    assert team.description == "A robot that tidies"
    assert messages_of(response) == ["The description was saved."]


def test_bad_description_shows_error_and_changes_nothing(client, alice, team):
    client.force_login(alice)

    response = client.post(MINE, {"description": "y" * 70})

    assert response.status_code == 200
    assert "description" in response.context["edit_form"].errors
    assert "y" * 70 in response.content.decode()
    team.refresh_from_db()
    assert team.description == "A robot that sorts lab kits"


# /projects/mine/invite/ ---------------------------------------------------


def test_member_invites_a_free_student(client, alice, charlie):
    project = make_team(alice)
    client.force_login(alice)
    assert not Invitation.objects.exists()

    response = client.post(INVITE, {"partner": " 20000003 "})

    assert response.status_code == 302
    assert response.url == MINE
    invitation = Invitation.objects.get()
    assert (invitation.project, invitation.invitee) == (project, charlie)
    assert invitation.status == Invitation.Status.PENDING
    assert messages_of(response) == ["Invitation sent to Charlie (20000003)."]


def test_invite_needs_post(client, alice):
    make_team(alice)
    client.force_login(alice)

    assert client.get(INVITE).status_code == 405


def test_invite_of_unknown_number_shows_the_form_with_the_reason(client, alice):
    make_team(alice)
    client.force_login(alice)

    response = client.post(INVITE, {"partner": "29999999"})

    assert response.status_code == 200
    assert response.context["invite_form"].errors["partner"] == [
        "No student with the number '29999999' was found."
    ]
    assert 'value="29999999"' in response.content.decode()
    assert not Invitation.objects.exists()


def _form_action(body: str, field: str, page: str) -> str:
    """Where the page's form with `field` posts (a browser's rule: no action,
    or an empty one, posts to the page itself)."""
    for form in re.findall(r"<form\b[^>]*>.*?</form>", body, flags=re.S):
        if f'name="{field}"' in form:
            action = re.search(r'action="([^"]*)"', form.split(">", 1)[0])
            return action.group(1) if action and action.group(1) else page
    raise AssertionError(f"no form with {field}")


def test_after_a_refused_invitation_the_description_form_still_saves(client, alice):
    # The refused invitation re-renders the page at /projects/mine/invite/:
    # the description form must not post there (it would ask for a partner
    # and drop the new description).
    project = make_team(alice, description="Old")
    client.force_login(alice)
    refused = client.post(INVITE, {"partner": "29999999"})
    action = _form_action(refused.content.decode(), "description", INVITE)

    response = client.post(action, {"description": "New"})

    assert response.status_code == 302
    assert messages_of(response) == ["The description was saved."]
    project.refresh_from_db()
    assert project.description == "New"


def test_full_team_cannot_invite(client, alice, charlie, team):
    client.force_login(alice)

    response = client.post(INVITE, {"partner": "20000003"})

    assert response.status_code == 200
    assert response.context["invite_form"].errors["partner"] == [
        "Your team is already full."
    ]
    assert not Invitation.objects.filter(invitee=charlie).exists()


def test_invite_from_search_redirects_back_with_the_reason(client, alice, bob, team):
    member = StudentFactory()
    solo = make_team(member)
    client.force_login(member)
    back = "/students/?q=al"

    response = client.post(INVITE, {"partner": "20000001", "next": back})

    assert response.status_code == 302
    assert response.url == back
    assert messages_of(response) == ["Alice already has a project."]
    assert not Invitation.objects.filter(project=solo).exists()


def test_invite_ignores_a_foreign_next(client, alice, charlie):
    make_team(alice)
    client.force_login(alice)

    response = client.post(
        INVITE, {"partner": "20000003", "next": "https://evil.example/"}
    )

    assert response.url == MINE
    assert Invitation.objects.filter(invitee=charlie).exists()


# /projects/mine/release/ --------------------------------------------------


def test_release_asks_for_confirmation_first(client, alice):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    client.force_login(alice)

    response = client.get(RELEASE)

    assert response.status_code == 200
    assert "Release your lab slot?" in response.content.decode()
    project.refresh_from_db()
    assert project.lab == lab


@pytest.mark.parametrize("booking_open", [True, False])
def test_release_page_is_never_offered_for_a_slot_that_has_passed(
    client, alice, dana, booking_open
):
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(-30))
    set_window(booking_open=booking_open)
    client.force_login(alice)

    response = client.get(RELEASE)

    assert response.status_code == 302
    assert response.url == MINE
    project.refresh_from_db()
    assert project.lab is not None


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("booking_open", [True, False])
def test_releasing_a_slot_that_has_started_says_so(
    client, alice, dana, booking_open, method
):
    """Not "starts within the cut-off", nor "Booking is closed." as if it
    could be released once booking opens: it can't, ever."""
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(-30))
    set_window(booking_open=booking_open)
    client.force_login(alice)

    response = getattr(client, method)(RELEASE)

    assert response.status_code == 302
    assert messages_of(response) == [
        "Your team's slot has started, so it can no longer be changed."
    ]
    project.refresh_from_db()
    assert project.lab is not None


def test_member_releases_the_slot(client, alice):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    client.force_login(alice)

    response = client.post(RELEASE)

    assert response.status_code == 302
    assert response.url == MINE
    project.refresh_from_db()
    assert project.lab is None
    assert messages_of(response)[0].startswith("You released ")


@pytest.mark.parametrize("method", ["get", "post"])
def test_release_while_booking_closed_is_refused(client, alice, dana, method):
    # The confirm page (GET) says so before it offers the button.
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    set_window(dana, booking_open=False)
    client.force_login(alice)

    response = getattr(client, method)(RELEASE)

    assert response.status_code == 302
    assert response.url == MINE
    assert messages_of(response) == ["Booking is closed."]
    project.refresh_from_db()
    assert project.lab == lab


@pytest.mark.parametrize("method", ["get", "post"])
def test_release_inside_the_cutoff_is_refused(client, alice, dana, method):
    lab = lab_starting_in(30)
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab)
    client.force_login(alice)

    response = getattr(client, method)(RELEASE)

    assert response.status_code == 302
    assert "can no longer be changed" in messages_of(response)[0]
    project.refresh_from_db()
    assert project.lab == lab


def test_release_without_a_slot_says_so(client, alice, team):
    client.force_login(alice)

    response = client.post(RELEASE)

    assert response.status_code == 302
    assert messages_of(response) == ["Your team has no slot to release."]


# /projects/mine/dissolve/ -------------------------------------------------


def test_dissolve_page_says_what_will_happen(client, alice, charlie):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    services.invitation_send(user=alice, project=project, invitee_number="20000003")
    client.force_login(alice)

    response = client.get(DISSOLVE)

    body = response.content.decode()
    assert response.status_code == 200
    assert "free to start or join another project" in body
    assert "release your lab slot" in body
    assert "cancel 1 pending invitation" in body
    assert "chat room and its whole history" in body
    assert Project.objects.filter(pk=project.pk).exists()


def test_dissolve_page_does_not_promise_to_release_a_slot_that_has_passed(
    client, alice, dana
):
    """A team whose slot has passed may dissolve (rule 5), but there is
    nothing left to release for booking: the page says so."""
    project = make_team(alice)
    lab = lab_starting_in(-30)
    services.lab_book(user=dana, project=project, lab=lab)
    client.force_login(alice)

    response = client.get(DISSOLVE)

    body = response.content.decode()
    assert response.status_code == 200
    assert "release your lab slot" not in body
    effects = re.search(r'data-testid="dissolve-effects">(.*?)</ul>', body, re.S)
    assert "has passed, so there is nothing to release" in effects.group(1)


def test_member_dissolves_the_project(client, alice, bob, charlie):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    services.invitation_send(user=alice, project=project, invitee_number="20000002")
    client.force_login(alice)

    response = client.post(DISSOLVE)

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Membership.objects.filter(user=alice).exists()
    lab.refresh_from_db()
    assert getattr(lab, "project", None) is None
    assert not Invitation.objects.filter(
        invitee=bob, status=Invitation.Status.PENDING
    ).exists()
    assert messages_of(response) == [
        f"Team {project.pk} was dissolved. You are free to start again."
    ]


@pytest.mark.parametrize("method", ["get", "post"])
def test_dissolve_while_team_changes_closed_is_refused(
    client, alice, bob, dana, team, method
):
    # The confirm page (GET) says so before it offers the button.
    set_window(dana, team_changes_open=False)
    client.force_login(bob)

    response = getattr(client, method)(DISSOLVE)

    assert response.status_code == 302
    assert response.url == MINE
    assert messages_of(response) == ["Team changes are closed."]
    assert Membership.objects.filter(project=team).count() == 2


def test_the_project_page_says_why_it_cant_be_dissolved_instead_of_offering_it(
    client, alice, dana
):
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(30))
    client.force_login(alice)

    inside_cutoff = client.get(MINE).content.decode()
    set_window(dana, team_changes_open=False)
    closed = client.get(MINE).content.decode()
    confirm = client.get(DISSOLVE)

    assert "be dissolved: ask your coordinator" in inside_cutoff
    assert "Team changes are closed." in closed
    for body in (inside_cutoff, closed):
        assert f'href="{DISSOLVE}"' not in body
    assert confirm.status_code == 302
    assert Project.objects.filter(pk=project.pk).exists()


def test_the_project_page_offers_dissolving_while_team_changes_are_open(client, alice):
    make_team(alice, lab=LabFactory())
    client.force_login(alice)

    body = client.get(MINE).content.decode()

    assert f'href="{DISSOLVE}"' in body
    assert 'data-testid="dissolve-refusal"' not in body


def test_project_page_links_to_the_team_room(client, bob, team):
    client.force_login(bob)

    body = client.get(reverse("projects:project_mine")).content.decode()

    assert f'href="/chat/team-{team.pk}/" data-testid="team-room-link"' in body
    assert client.get(f"/chat/team-{team.pk}/").status_code == 200
