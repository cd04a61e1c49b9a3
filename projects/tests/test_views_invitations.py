import pytest
from django.urls import reverse

from projects import services
from projects.models import BookingWindow, Invitation, Membership
from projects.tests.factories import StudentFactory, make_team
from projects.tests.helpers import messages_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(alice, bob):
    project = make_team(alice)
    return services.invitation_send(
        user=alice, project=project, invitee_number=bob.username
    )


def url(action, invitation_id):
    return reverse(f"projects:invitation_{action}", args=[invitation_id])


def test_invitee_accepts_and_joins_the_team(client, bob, invitation):
    client.force_login(bob)
    assert not Membership.objects.filter(user=bob).exists()

    response = client.post(url("accept", invitation.pk))

    assert response.status_code == 302
    assert response.url == reverse("home")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert Membership.objects.get(user=bob).project == invitation.project
    assert messages_of(response) == [f"You joined Team {invitation.project_id}."]


def test_invitee_declines(client, bob, invitation):
    client.force_login(bob)

    response = client.post(url("decline", invitation.pk))

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED
    assert not Membership.objects.filter(user=bob).exists()
    assert messages_of(response) == ["You declined the invitation from Alice."]


def test_member_cancels(client, alice, invitation):
    client.force_login(alice)

    response = client.post(
        url("cancel", invitation.pk), {"next": reverse("projects:project_mine")}
    )

    assert response.status_code == 302
    assert response.url == reverse("projects:project_mine")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED
    assert messages_of(response) == ["The invitation to Bob was cancelled."]


@pytest.mark.parametrize(
    ("action", "who"),
    [
        ("accept", "charlie"),
        ("decline", "charlie"),
        ("cancel", "charlie"),
        ("accept", "alice"),  # the inviter is not the invitee
        ("decline", "alice"),
        ("cancel", "bob"),  # the invitee is not a member of the project
    ],
)
def test_anyone_else_gets_404_and_nothing_changes(
    client, request, invitation, action, who
):
    client.force_login(request.getfixturevalue(who))

    response = client.post(url(action, invitation.pk))

    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
def test_missing_invitation_gets_404(client, bob, action):
    client.force_login(bob)

    assert client.post(url(action, 999)).status_code == 404


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
def test_get_gets_405(client, bob, invitation, action):
    client.force_login(bob)

    assert client.get(url(action, invitation.pk)).status_code == 405
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
def test_anonymous_is_sent_to_sign_in(client, invitation, action):
    target = url(action, invitation.pk)

    response = client.post(target)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={target}"


def test_accepting_an_answered_invitation_says_why(client, bob, invitation):
    services.invitation_decline(user=bob, invitation=invitation)
    client.force_login(bob)

    response = client.post(url("accept", invitation.pk))

    assert response.status_code == 302
    assert messages_of(response) == ["This invitation is no longer pending."]
    assert not Membership.objects.filter(user=bob).exists()


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_answering_after_the_team_was_dissolved_says_why(
    client, alice, bob, invitation, action
):
    """Rule 5: dissolving cancels the invitation; a stale page's button
    redirects back with the reason (not a 404), naming only the team's
    number, which the invitee saw."""
    team = invitation.project_id
    services.project_dissolve(user=alice, project=invitation.project)
    client.force_login(bob)

    response = client.post(url(action, invitation.pk))

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert messages_of(response) == [
        f"This invitation is no longer pending: Team {team} was dissolved."
    ]
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED
    assert not Membership.objects.filter(user=bob).exists()


def test_the_inviter_cancelling_after_dissolving_says_why(client, alice, invitation):
    team = invitation.project_id
    services.project_dissolve(user=alice, project=invitation.project)
    client.force_login(alice)

    response = client.post(url("cancel", invitation.pk))

    assert response.status_code == 302
    assert messages_of(response) == [
        f"This invitation is no longer pending: Team {team} was dissolved."
    ]


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
def test_a_dissolved_teams_invitation_is_still_nobody_elses(
    client, alice, charlie, invitation, action
):
    services.project_dissolve(user=alice, project=invitation.project)
    client.force_login(charlie)

    assert client.post(url(action, invitation.pk)).status_code == 404


def test_accepting_while_in_another_team_says_why(client, bob, charlie, invitation):
    make_team(charlie, bob)  # cancels Alice's invitation to Bob
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED
    client.force_login(bob)

    response = client.post(url("accept", invitation.pk))

    assert messages_of(response) == ["This invitation is no longer pending."]
    assert Membership.objects.get(user=bob).project.member_list()[0] == charlie


def test_accepting_into_a_full_team_says_why(client, alice, bob):
    project = make_team(alice)
    late = StudentFactory()
    first = services.invitation_send(
        user=alice, project=project, invitee_number="20000002"
    )
    second = services.invitation_send(
        user=alice, project=project, invitee_number=late.username
    )
    # Accepting the first fills the team and cancels the second.
    services.invitation_accept(user=bob, invitation=first)
    client.force_login(late)

    response = client.post(url("accept", second.pk))

    assert response.status_code == 302
    assert messages_of(response) == ["This invitation is no longer pending."]
    assert not Membership.objects.filter(user=late).exists()
    assert project.memberships.count() == 2


def test_accept_follows_only_a_same_site_next(client, bob, invitation):
    client.force_login(bob)

    response = client.post(
        url("accept", invitation.pk), {"next": "//evil.example/steal"}
    )

    assert response.url == reverse("home")


def test_accepting_while_team_changes_are_closed_says_why(
    client, bob, dana, invitation
):
    window = BookingWindow.get()
    window.team_changes_open = False
    services.booking_window_update(
        actor=dana, window=window, fields=["team_changes_open"]
    )
    client.force_login(bob)

    response = client.post(url("accept", invitation.pk))

    assert response.status_code == 302
    assert messages_of(response) == ["Team changes are closed."]
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    assert not Membership.objects.filter(user=bob).exists()
