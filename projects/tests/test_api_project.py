import pytest
from django.test import override_settings

from accounts.tests.api_helpers import ApiClient, assert_error
from projects.models import (
    BookingRecord,
    BookingWindow,
    Invitation,
    Membership,
    Project,
)
from projects.tests.factories import LabFactory, lab_starting_in, make_team


@pytest.fixture
def window(db):
    return BookingWindow.get()


def close_team_changes(window):
    window.team_changes_open = False
    window.save()


# GET /me/project ---------------------------------------------------------------


def test_member_sees_the_project_with_partner_and_slot(alice, bob, window):
    lab = LabFactory()
    project = make_team(alice, bob, description="Robots", lab=lab)

    response = ApiClient(bob).get("/me/project")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == project.pk
    assert body["name"] == f"Team {project.pk}: Alice, Bob"
    assert body["description"] == "Robots"
    assert [m["username"] for m in body["members"]] == [alice.username, bob.username]
    assert body["lab"]["id"] == lab.pk


def test_free_student_gets_404_for_my_project(charlie, window):
    assert_error(ApiClient(charlie).get("/me/project"), 404, "not_found")


def test_anonymous_my_project_gets_401(client, window):
    assert_error(client.get("/api/v1/me/project"), 401)


# POST /me/project ----------------------------------------------------------------


def test_free_student_creates_a_project(alice, window):
    assert not Project.objects.exists()

    response = ApiClient(alice).post("/me/project", {"description": "  Robots  "})

    assert response.status_code == 201
    project = Project.objects.get()
    assert response.json()["id"] == project.pk
    assert project.description == "Robots"
    assert project.member_list() == [alice]


def test_create_with_a_slot_and_a_partner_books_and_invites(alice, bob, window):
    lab = LabFactory()

    response = ApiClient(alice).post(
        "/me/project",
        {"description": "Robots", "lab": lab.pk, "partner": bob.username},
    )

    assert response.status_code == 201
    project = Project.objects.get()
    assert project.lab == lab
    invitation = Invitation.objects.get()
    assert (invitation.invitee, invitation.status) == (bob, "pending")
    assert BookingRecord.objects.get().via == "api"


def test_create_with_bad_fields_gets_400_with_each_field_and_creates_nothing(
    alice, window
):
    response = ApiClient(alice).post(
        "/me/project", {"description": "x" * 65, "partner": "99999999"}
    )

    body = assert_error(response, 400, "invalid")
    assert set(body["errors"]) == {"description", "partner"}
    assert "64 characters" in body["errors"]["description"][0]
    assert not Project.objects.exists()
    assert not Membership.objects.exists()


@override_settings(PAIRUP_TEAM_SIZE=1)
def test_with_teams_of_one_a_partner_gets_400_and_creates_nothing(alice, bob, window):
    # The input is to blame (no partner can ever join), not the state of
    # things: 400 like any bad field, not 409.
    response = ApiClient(alice).post(
        "/me/project", {"description": "Robots", "partner": bob.username}
    )

    body = assert_error(response, 400, "invalid")
    assert body["errors"] == {
        "partner": [
            "Teams in this unit have one member: there is no partner to invite."
        ]
    }
    assert not Project.objects.exists()
    assert not Membership.objects.exists()
    assert not Invitation.objects.exists()


@override_settings(PAIRUP_TEAM_SIZE=1)
def test_with_teams_of_one_a_project_without_a_partner_is_created(alice, window):
    response = ApiClient(alice).post("/me/project", {"description": "Robots"})

    assert response.status_code == 201
    assert Project.objects.get().member_list() == [alice]


def test_create_without_a_description_gets_400(alice, window):
    body = assert_error(ApiClient(alice).post("/me/project", {}), 400)

    assert "description" in body["errors"]
    assert not Project.objects.exists()


def test_create_with_a_missing_slot_gets_400(alice, window):
    body = assert_error(
        ApiClient(alice).post("/me/project", {"description": "R", "lab": 424242}),
        400,
    )

    assert body["errors"] == {"lab": ["No such slot."]}
    assert not Project.objects.exists()


def test_create_with_a_taken_slot_gets_409_and_creates_nothing(alice, charlie, window):
    lab = LabFactory()
    make_team(alice, lab=lab)

    response = ApiClient(charlie).post(
        "/me/project", {"description": "Mine", "lab": lab.pk}
    )

    body = assert_error(response, 409, "slot_taken")
    assert "lab" in body["errors"]
    assert Project.objects.count() == 1


def test_create_with_a_slot_inside_the_cut_off_gets_409(alice, window):
    lab = lab_starting_in(10)

    response = ApiClient(alice).post("/me/project", {"description": "R", "lab": lab.pk})

    assert_error(response, 409, "slot_cutoff")
    assert not Project.objects.exists()


def test_member_creating_another_project_gets_409(alice, window):
    make_team(alice)

    response = ApiClient(alice).post("/me/project", {"description": "Second"})

    assert_error(response, 409, "already_member")
    assert Project.objects.count() == 1


def test_create_while_team_changes_are_closed_gets_409(alice, window):
    close_team_changes(window)

    response = ApiClient(alice).post("/me/project", {"description": "R"})

    body = assert_error(response, 409, "team_changes_closed")
    assert body["detail"] == "Team changes are closed."
    assert not Project.objects.exists()


def test_coordinator_cannot_create_a_project(dana, window):
    assert_error(ApiClient(dana).post("/me/project", {"description": "R"}), 403)
    assert not Project.objects.exists()


def test_anonymous_create_gets_401(client, window):
    response = client.post(
        "/api/v1/me/project", '{"description": "R"}', content_type="application/json"
    )

    assert_error(response, 401)
    assert not Project.objects.exists()


def test_malformed_json_gets_400(alice, window):
    response = ApiClient(alice).client.post(
        "/api/v1/me/project",
        "{not json",
        content_type="application/json",
        headers=ApiClient(alice).headers,
    )

    assert_error(response, 400, "invalid")
    assert not Project.objects.exists()


# PATCH /me/project --------------------------------------------------------------------


def test_member_edits_the_description(alice, bob, window):
    project = make_team(alice, bob, description="Old")

    response = ApiClient(bob).patch("/me/project", {"description": "New"})

    assert response.status_code == 200
    assert response.json()["description"] == "New"
    project.refresh_from_db()
    assert project.description == "New"


def test_blank_description_gets_400_and_keeps_the_old_one(alice, window):
    project = make_team(alice, description="Old")

    body = assert_error(
        ApiClient(alice).patch("/me/project", {"description": "   "}), 400
    )

    assert "description" in body["errors"]
    project.refresh_from_db()
    assert project.description == "Old"


def test_free_student_editing_gets_409(charlie, window):
    response = ApiClient(charlie).patch("/me/project", {"description": "New"})

    assert_error(response, 409, "no_project")


def test_anonymous_edit_gets_401(client, window):
    response = client.patch(
        "/api/v1/me/project", '{"description": "R"}', content_type="application/json"
    )

    assert_error(response, 401)


# DELETE /me/project -------------------------------------------------------------------


def test_member_dissolves_the_project(alice, bob, charlie, window):
    lab = LabFactory()
    project = make_team(alice, description="Robots", lab=lab)
    Invitation.objects.create(project=project, inviter=alice, invitee=charlie)

    response = ApiClient(alice).delete("/me/project")

    assert response.status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Membership.objects.filter(user=alice).exists()
    # Rule 5: cancelled, not deleted.
    assert Invitation.objects.get().status == Invitation.Status.CANCELLED
    record = BookingRecord.objects.filter(action="dissolve").get()
    assert (record.from_lab, record.via) == (lab, "api")


def test_dissolve_while_team_changes_are_closed_gets_409(alice, window):
    project = make_team(alice)
    close_team_changes(window)

    assert_error(ApiClient(alice).delete("/me/project"), 409, "team_changes_closed")
    assert Project.objects.filter(pk=project.pk).exists()


def test_free_student_dissolving_gets_409(charlie, window):
    assert_error(ApiClient(charlie).delete("/me/project"), 409, "no_project")


def test_anonymous_dissolve_gets_401(client, alice, window):
    make_team(alice)

    assert_error(client.delete("/api/v1/me/project"), 401)
    assert Project.objects.exists()


def test_put_on_my_project_gets_405(alice, window):
    response = ApiClient(alice).put("/me/project", {"description": "R"})

    assert_error(response, 405)
    assert "PATCH" in response["Allow"]
