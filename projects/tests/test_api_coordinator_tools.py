"""The coordinator's tools through the JSON API: POST /coordinator/pairings,
/placements and /announcements, each with `dry_run`, 409s with codes."""

import pytest
from django.utils import timezone

from accounts.tests.api_helpers import ApiClient, assert_error
from accounts.tests.factories import StudentFactory
from notifications.models import Kind, Notification
from projects.models import Announcement, BookingRecord, BookingWindow, Membership
from projects.tests.factories import LabFactory, make_team

pytestmark = pytest.mark.django_db

TOOLS = [
    "/coordinator/pairings",
    "/coordinator/placements",
    "/coordinator/announcements",
]


@pytest.fixture(autouse=True)
def window(db):
    return BookingWindow.get()


@pytest.fixture
def api(dana):
    return ApiClient(dana)


@pytest.mark.parametrize("path", TOOLS)
def test_students_get_403_from_the_tools(alice, path):
    body = {"segment": "everyone", "message": "Hi"} if "announce" in path else {}
    assert_error(ApiClient(alice).post(path, body), 403, "forbidden")


@pytest.mark.parametrize("path", TOOLS)
def test_anonymous_gets_401_from_the_tools(path):
    assert_error(ApiClient().post(path, {}), 401, "unauthorized")


# Pairings -------------------------------------------------------------------------


def test_a_dry_run_says_who_would_be_paired_and_changes_nothing(api):
    StudentFactory(username="60000002", first_name="Bo", please_assign_me=True)
    StudentFactory(username="60000001", first_name="Al", please_assign_me=True)
    StudentFactory(username="60000003", looking_for_partner=True)
    StudentFactory(username="60000004")

    response = api.post("/coordinator/pairings", {"dry_run": True})

    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] is True
    assert body["scope"] == "flagged"
    assert [team["id"] for team in body["teams"]] == [None]
    assert [m["username"] for m in body["teams"][0]["members"]] == [
        "60000001",
        "60000002",
    ]
    assert body["teams"][0]["members"][0]["name"].startswith("Al ")
    assert [n["student"]["username"] for n in body["not_paired"]] == ["60000003"]
    assert body["not_paired"][0]["reason"].startswith("Odd one out")
    assert body["not_asked"] == 1
    assert len(body["plan"]) == 16
    assert Membership.objects.count() == 0


def test_applying_pairs_through_the_services(api, django_capture_on_commit_callbacks):
    first = StudentFactory(please_assign_me=True)
    second = StudentFactory(please_assign_me=True)
    plan = api.post("/coordinator/pairings", {"dry_run": True}).json()["plan"]

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/coordinator/pairings", {"plan": plan})

    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] is False
    (team,) = body["teams"]
    assert team["id"] == Membership.objects.get(user=first).project_id
    assert Membership.objects.get(user=second).project_id == team["id"]
    assert Notification.objects.filter(user=second, kind=Kind.MEMBER_ADDED).exists()
    assert body["plan"] == plan


def test_every_free_student_is_the_second_choice(api):
    StudentFactory()
    StudentFactory()

    body = api.post("/coordinator/pairings", {"scope": "all"}).json()

    assert len(body["teams"]) == 1
    assert Membership.objects.count() == 2


def test_pairing_with_nothing_to_do_is_a_409(api):
    StudentFactory(please_assign_me=True)

    body = assert_error(api.post("/coordinator/pairings", {}), 409, "nothing_to_do")

    assert "only one free student" in body["detail"]


def test_a_stale_pairing_plan_is_a_409(api):
    first = StudentFactory(please_assign_me=True)
    StudentFactory(please_assign_me=True)
    StudentFactory(please_assign_me=True)
    plan = api.post("/coordinator/pairings", {"dry_run": True}).json()["plan"]
    make_team(first)

    assert_error(api.post("/coordinator/pairings", {"plan": plan}), 409, "plan_changed")
    assert Membership.objects.count() == 1


def test_a_bad_scope_is_a_400(api):
    body = assert_error(
        api.post("/coordinator/pairings", {"scope": "everybody"}), 400, "invalid"
    )

    assert "scope" in body["errors"]


# Placements -----------------------------------------------------------------------


def test_a_placement_dry_run_and_apply(api, django_capture_on_commit_callbacks):
    team = make_team(StudentFactory())
    lab = LabFactory(room="Lab API")
    day = timezone.localtime(lab.start).date().isoformat()

    preview = api.post(
        "/coordinator/placements", {"dry_run": True, "day": day, "room": "Lab API"}
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/coordinator/placements",
            {"day": day, "room": "Lab API", "plan": preview["plan"]},
        )

    assert preview["placed"] == [
        {
            "team": {
                "id": team.pk,
                "name": f"Team {team.pk}: {team.member_list()[0].display_name}",
            },
            "lab": {
                "id": lab.pk,
                "room": "Lab API",
                "start": timezone.localtime(lab.start).isoformat(),
                "end": timezone.localtime(lab.end).isoformat(),
            },
        }
    ]
    assert response.status_code == 200
    assert response.json()["placed"] == preview["placed"]
    team.refresh_from_db()
    assert team.lab_id == lab.pk
    assert BookingRecord.objects.get(to_lab=lab).via == "api"


def test_placing_with_no_free_slot_is_a_409_that_says_why(api):
    make_team(StudentFactory())

    body = assert_error(
        api.post("/coordinator/placements", {"room": "Nowhere"}), 409, "nothing_to_do"
    )

    assert "in Nowhere" in body["detail"]


def test_every_team_with_a_slot_is_nothing_to_place(api):
    make_team(StudentFactory(), lab=LabFactory())
    LabFactory()

    body = assert_error(api.post("/coordinator/placements", {}), 409, "nothing_to_do")

    assert body["detail"] == "Nothing to do: every team has a slot."


def test_a_stale_placement_plan_is_a_409(api):
    make_team(StudentFactory())
    lab = LabFactory()
    plan = api.post("/coordinator/placements", {"dry_run": True}).json()["plan"]
    make_team(StudentFactory(), lab=lab)
    LabFactory()

    assert_error(
        api.post("/coordinator/placements", {"plan": plan}), 409, "plan_changed"
    )


# Announcements --------------------------------------------------------------------


def test_an_announcement_dry_run_counts_and_sending_is_a_201(
    api, alice, bob, team, django_capture_on_commit_callbacks
):
    StudentFactory()

    preview = api.post(
        "/coordinator/announcements", {"segment": "without_slot", "dry_run": True}
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(
            "/coordinator/announcements",
            {"segment": "without_slot", "message": "Book a slot by Friday."},
        )

    assert preview.status_code == 200
    assert preview.json() == {
        "dry_run": True,
        "id": None,
        "audience": "Teams without a slot",
        "students": 2,
        "by_email": 0,
    }
    assert sent.status_code == 201
    body = sent.json()
    assert body["id"] == Announcement.objects.get().pk
    assert body["students"] == 2
    assert Notification.objects.filter(kind=Kind.ANNOUNCEMENT).count() == 2


def test_an_announcement_to_nobody_is_a_409(api):
    assert_error(
        api.post(
            "/coordinator/announcements",
            {"segment": "slot", "room": "Nowhere", "message": "Hi"},
        ),
        409,
        "no_recipients",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"segment": "everyone", "message": ""}, "message"),
        ({"segment": "everyone", "message": "x" * 901}, "message"),
        ({"segment": "slot", "message": "Hi"}, "day"),
        ({"segment": "teachers", "message": "Hi"}, "segment"),
    ],
)
def test_bad_announcements_are_400_by_field(api, alice, body, field):
    error = assert_error(api.post("/coordinator/announcements", body), 400, "invalid")

    assert field in error["errors"]
    assert Announcement.objects.count() == 0


@pytest.mark.parametrize("path", TOOLS)
def test_a_misspelt_field_is_a_400_not_a_run_for_real(api, path):
    """{"dryrun": true} must not pair, place or tell anyone: the tools act
    on many students, so a field they don't know is refused by name."""
    StudentFactory(please_assign_me=True)
    StudentFactory(please_assign_me=True)
    make_team(StudentFactory())
    LabFactory()
    body = {"segment": "everyone", "message": "Hi", "dryrun": True}

    error = assert_error(api.post(path, body), 400, "invalid")

    assert "dryrun" in error["errors"]
    assert Membership.objects.count() == 1
    assert BookingRecord.objects.count() == 0
    assert Announcement.objects.count() == 0


def test_the_tools_are_in_the_schema_with_their_errors(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    for path in TOOLS:
        responses = paths[f"/api/v1{path}"]["post"]["responses"]
        assert {"200", "400", "401", "403", "409"} <= set(responses), path
