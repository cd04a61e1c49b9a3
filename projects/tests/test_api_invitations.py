import pytest

from accounts.tests.api_helpers import ApiClient, assert_error
from accounts.tests.factories import StudentFactory
from projects import services
from projects.api import InvitationOut
from projects.models import BookingWindow, Invitation, Membership
from projects.tests.factories import make_team


@pytest.fixture
def window(db):
    return BookingWindow.get()


@pytest.fixture
def invitation(alice, charlie, window):
    """Alice's solo project invites Charlie."""
    project = make_team(alice)
    return services.invitation_send(
        user=alice, project=project, invitee_number=charlie.username
    )


# GET /me/invitations -------------------------------------------------------------


def test_invitations_list_incoming_and_outgoing(alice, charlie, invitation):
    incoming = ApiClient(charlie).get("/me/invitations").json()
    outgoing = ApiClient(alice).get("/me/invitations").json()

    assert [i["id"] for i in incoming["incoming"]] == [invitation.pk]
    assert incoming["outgoing"] == []
    assert incoming["incoming"][0]["inviter"]["display_name"] == "Alice"
    assert [i["id"] for i in outgoing["outgoing"]] == [invitation.pk]
    assert outgoing["incoming"] == []


def test_invitations_list_only_pending_ones(charlie, invitation):
    services.invitation_decline(user=charlie, invitation=invitation)

    body = ApiClient(charlie).get("/me/invitations").json()

    assert body == {"incoming": [], "outgoing": []}


def test_anonymous_invitations_get_401(client, window):
    assert_error(client.get("/api/v1/me/invitations"), 401)


# POST /me/project/invitations ------------------------------------------------------


def test_member_invites_a_free_student(alice, charlie, window):
    project = make_team(alice)

    response = ApiClient(alice).post(
        "/me/project/invitations", {"partner": charlie.username}
    )

    assert response.status_code == 201
    invitation = Invitation.objects.get()
    assert response.json()["id"] == invitation.pk
    assert (invitation.project, invitation.invitee, invitation.status) == (
        project,
        charlie,
        "pending",
    )


def test_inviting_an_unknown_number_gets_400(alice, window):
    make_team(alice)

    body = assert_error(
        ApiClient(alice).post("/me/project/invitations", {"partner": "99999999"}), 400
    )

    assert "partner" in body["errors"]
    assert not Invitation.objects.exists()


def test_inviting_yourself_gets_400(alice, window):
    make_team(alice)

    response = ApiClient(alice).post(
        "/me/project/invitations", {"partner": alice.username}
    )

    assert_error(response, 400)
    assert not Invitation.objects.exists()


def test_inviting_twice_gets_409(alice, charlie, invitation):
    response = ApiClient(alice).post(
        "/me/project/invitations", {"partner": charlie.username}
    )

    assert_error(response, 409, "duplicate")
    assert Invitation.objects.count() == 1


def test_inviting_a_student_with_a_project_gets_409(alice, bob, window):
    make_team(alice)
    make_team(bob)

    response = ApiClient(alice).post(
        "/me/project/invitations", {"partner": bob.username}
    )

    assert_error(response, 409, "taken")
    assert not Invitation.objects.exists()


def test_inviting_into_a_full_team_gets_409(alice, bob, charlie, window):
    make_team(alice, bob)

    response = ApiClient(alice).post(
        "/me/project/invitations", {"partner": charlie.username}
    )

    body = assert_error(response, 409, "team_full")
    assert body["detail"] == "Your team is already full."
    assert not Invitation.objects.filter(invitee=charlie).exists()


def test_inviting_while_team_changes_are_closed_gets_409(alice, charlie, window):
    make_team(alice)
    window.team_changes_open = False
    window.save()

    response = ApiClient(alice).post(
        "/me/project/invitations", {"partner": charlie.username}
    )

    assert_error(response, 409, "team_changes_closed")
    assert not Invitation.objects.exists()


def test_inviting_without_a_project_gets_409(charlie, alice, window):
    response = ApiClient(charlie).post(
        "/me/project/invitations", {"partner": alice.username}
    )

    assert_error(response, 409, "no_project")


def test_anonymous_invite_gets_401(client, window):
    response = client.post(
        "/api/v1/me/project/invitations",
        '{"partner": "20000001"}',
        content_type="application/json",
    )

    assert_error(response, 401)


# POST /invitations/{id}/accept ------------------------------------------------------


def test_invitee_accepts_and_joins_the_team(alice, charlie, invitation):
    response = ApiClient(charlie).post(f"/invitations/{invitation.pk}/accept")

    assert response.status_code == 200
    assert response.json()["id"] == invitation.project_id
    invitation.refresh_from_db()
    assert invitation.status == "accepted"
    assert Membership.objects.get(user=charlie).project_id == invitation.project_id


def test_accepting_into_a_full_team_gets_409(alice, bob, charlie, invitation):
    services.invitation_send(
        user=alice, project=invitation.project, invitee_number=bob.username
    )
    bobs = Invitation.objects.get(invitee=bob)
    services.invitation_accept(user=bob, invitation=bobs)

    response = ApiClient(charlie).post(f"/invitations/{invitation.pk}/accept")

    # Filling the team cancelled Charlie's invitation (rule 7).
    assert_error(response, 409, "not_pending")
    assert not Membership.objects.filter(user=charlie).exists()


def test_accepting_while_in_a_project_gets_409(alice, charlie, invitation):
    make_team(charlie)

    response = ApiClient(charlie).post(f"/invitations/{invitation.pk}/accept")

    # Creating a project cancelled the invitations to Charlie (rule 7).
    assert_error(response, 409, "not_pending")
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"


def test_accepting_a_declined_invitation_gets_409(charlie, invitation):
    services.invitation_decline(user=charlie, invitation=invitation)

    response = ApiClient(charlie).post(f"/invitations/{invitation.pk}/accept")

    body = assert_error(response, 409, "not_pending")
    assert body["detail"] == "This invitation is no longer pending."


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_answering_a_dissolved_teams_invitation_gets_409(
    alice, charlie, invitation, action
):
    team = invitation.project_id
    services.project_dissolve(user=alice, project=invitation.project)

    response = ApiClient(charlie).post(f"/invitations/{invitation.pk}/{action}")

    body = assert_error(response, 409, "not_pending")
    assert body["detail"] == (
        f"This invitation is no longer pending: Team {team} was dissolved."
    )
    assert not Membership.objects.filter(user=charlie).exists()


def test_cancelling_a_dissolved_teams_invitation_gets_409(alice, invitation):
    services.project_dissolve(user=alice, project=invitation.project)

    response = ApiClient(alice).post(f"/invitations/{invitation.pk}/cancel")

    assert_error(response, 409, "not_pending")


def test_a_dissolved_teams_invitation_still_reads_as_its_schema(alice, invitation):
    team = invitation.project_id
    services.project_dissolve(user=alice, project=invitation.project)
    invitation.refresh_from_db()

    out = InvitationOut.from_orm(invitation).dict()

    assert (out["project_id"], out["description"], out["status"]) == (
        team,
        "",
        "cancelled",
    )


def test_accepting_while_team_changes_are_closed_gets_409(charlie, invitation, window):
    window.team_changes_open = False
    window.save()

    response = ApiClient(charlie).post(f"/invitations/{invitation.pk}/accept")

    assert_error(response, 409, "team_changes_closed")
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert not Membership.objects.filter(user=charlie).exists()


def test_outsider_accepting_gets_404(bob, invitation):
    response = ApiClient(bob).post(f"/invitations/{invitation.pk}/accept")

    assert_error(response, 404, "not_found")
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_inviter_cannot_accept_their_own_invitation(alice, invitation):
    assert_error(ApiClient(alice).post(f"/invitations/{invitation.pk}/accept"), 404)


def test_accepting_a_missing_invitation_gets_404(charlie, window):
    assert_error(ApiClient(charlie).post("/invitations/999/accept"), 404)


def test_anonymous_accept_gets_401(client, invitation):
    assert_error(client.post(f"/api/v1/invitations/{invitation.pk}/accept"), 401)
    invitation.refresh_from_db()
    assert invitation.status == "pending"


# POST /invitations/{id}/decline -------------------------------------------------------


def test_invitee_declines(charlie, invitation):
    response = ApiClient(charlie).post(f"/invitations/{invitation.pk}/decline")

    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    invitation.refresh_from_db()
    assert invitation.status == "declined"


def test_declining_twice_gets_409(charlie, invitation):
    api = ApiClient(charlie)
    api.post(f"/invitations/{invitation.pk}/decline")

    assert_error(api.post(f"/invitations/{invitation.pk}/decline"), 409, "not_pending")


def test_outsider_declining_gets_404(bob, invitation):
    assert_error(ApiClient(bob).post(f"/invitations/{invitation.pk}/decline"), 404)
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_anonymous_decline_gets_401(client, invitation):
    assert_error(client.post(f"/api/v1/invitations/{invitation.pk}/decline"), 401)


# POST /invitations/{id}/cancel ---------------------------------------------------------


def test_member_cancels_an_invitation(alice, invitation):
    response = ApiClient(alice).post(f"/invitations/{invitation.pk}/cancel")

    assert response.status_code == 200
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"


def test_cancelling_an_answered_invitation_gets_409(alice, charlie, invitation):
    services.invitation_decline(user=charlie, invitation=invitation)

    response = ApiClient(alice).post(f"/invitations/{invitation.pk}/cancel")

    assert_error(response, 409, "not_pending")
    invitation.refresh_from_db()
    assert invitation.status == "declined"


def test_invitee_cannot_cancel(charlie, invitation):
    assert_error(ApiClient(charlie).post(f"/invitations/{invitation.pk}/cancel"), 404)


def test_outsider_cancelling_gets_404(invitation):
    outsider = StudentFactory()

    assert_error(ApiClient(outsider).post(f"/invitations/{invitation.pk}/cancel"), 404)
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_anonymous_cancel_gets_401(client, invitation):
    assert_error(client.post(f"/api/v1/invitations/{invitation.pk}/cancel"), 401)
