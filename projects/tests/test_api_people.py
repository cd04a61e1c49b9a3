"""Student search, the schedule, and the coordinator's endpoints."""

import csv
import io

import pytest

from accounts.tests.api_helpers import ApiClient, assert_error
from accounts.tests.factories import StudentFactory
from projects.models import BookingWindow
from projects.tests.factories import LabFactory, make_team


@pytest.fixture
def window(db):
    return BookingWindow.get()


# GET /students -------------------------------------------------------------------


def test_search_finds_students_looking_ones_first(alice, window):
    StudentFactory(first_name="Zed", last_name="Aaron")
    looking = StudentFactory(
        first_name="Zed", last_name="Young", looking_for_partner=True
    )

    response = ApiClient(alice).get("/students?q=zed")

    assert response.status_code == 200
    body = response.json()
    assert [s["last_name"] for s in body] == ["Young", "Aaron"]
    assert body[0]["username"] == looking.username
    assert body[0]["looking_for_partner"] is True


def test_search_in_teams_of_one_is_by_name_as_on_the_page(alice, settings, window):
    settings.PAIRUP_TEAM_SIZE = 1
    StudentFactory(first_name="Zed", last_name="Aaron")
    StudentFactory(first_name="Zed", last_name="Young", looking_for_partner=True)

    body = ApiClient(alice).get("/students?q=zed").json()

    assert [s["last_name"] for s in body] == ["Aaron", "Young"]


def test_search_in_teams_of_one_says_nobody_is_looking(alice, settings, window):
    """The page hides the flag in teams of one; its stored value, kept for
    a larger team size, means nothing to a searcher."""
    settings.PAIRUP_TEAM_SIZE = 1
    looking = StudentFactory(first_name="Zed", looking_for_partner=True)

    body = ApiClient(alice).get("/students?q=zed").json()

    assert [(s["username"], s["looking_for_partner"]) for s in body] == [
        (looking.username, False)
    ]
    looking.refresh_from_db()
    assert looking.looking_for_partner is True


def test_search_says_who_is_free(alice, bob, charlie, window):
    make_team(alice, bob)

    body = ApiClient(charlie).get("/students?q=2000000").json()

    free = {s["username"]: s["free"] for s in body}
    assert free == {alice.username: False, bob.username: False, charlie.username: True}


def test_search_needs_two_characters(alice, window):
    assert ApiClient(alice).get("/students?q=a").json() == []


def test_search_never_lists_coordinators(alice, dana, window):
    assert ApiClient(alice).get("/students?q=dana").json() == []


def test_coordinator_uses_the_coordinator_list_not_search(dana, window):
    assert_error(ApiClient(dana).get("/students?q=al"), 403, "forbidden")


def test_anonymous_search_gets_401(client, window):
    assert_error(client.get("/api/v1/students?q=al"), 401)


# GET /schedule -----------------------------------------------------------------------


def test_schedule_shows_only_my_team_until_published(alice, bob, charlie, window):
    mine, theirs = LabFactory.create_batch(2)
    make_team(alice, description="Mine", lab=mine)
    make_team(charlie, description="Theirs", lab=theirs)
    api = ApiClient(alice)

    before = api.get("/schedule").json()
    window.schedule_published = True
    window.save()
    after = api.get("/schedule").json()

    assert [e["description"] for e in before] == ["Mine"]
    assert [e["description"] for e in after] == ["Mine", "Theirs"]
    assert after[1]["team"].endswith("Charlie")
    assert after[0]["lab"]["start"].endswith("+08:00")


def test_schedule_is_empty_for_a_free_student(alice, charlie, window):
    make_team(alice, lab=LabFactory())

    assert ApiClient(charlie).get("/schedule").json() == []


def test_coordinator_sees_the_whole_schedule(alice, charlie, dana, window):
    make_team(alice, lab=LabFactory())
    make_team(charlie, lab=LabFactory())

    assert len(ApiClient(dana).get("/schedule").json()) == 2


def test_anonymous_schedule_gets_401(client, window):
    assert_error(client.get("/api/v1/schedule"), 401)


# /coordinator/... ------------------------------------------------------------------------

COORDINATOR_URLS = [
    "/coordinator/summary",
    "/coordinator/projects",
    "/coordinator/students",
    "/coordinator/students.csv",
    "/coordinator/projects.csv",
    "/coordinator/allocations.csv",
]


@pytest.mark.parametrize("url", COORDINATOR_URLS)
def test_student_gets_403_from_coordinator_endpoints(alice, window, url):
    assert_error(ApiClient(alice).get(url), 403, "forbidden")


@pytest.mark.parametrize("url", COORDINATOR_URLS)
def test_anonymous_gets_401_from_coordinator_endpoints(client, window, url):
    assert_error(client.get(f"/api/v1{url}"), 401)


def test_summary_counts_the_unit(alice, bob, charlie, dana, window):
    make_team(alice, bob, lab=LabFactory())
    LabFactory()

    body = ApiClient(dana).get("/coordinator/summary").json()

    assert body == {
        "students": 3,
        "in_full_teams": 2,
        "in_solo_projects": 0,
        "without_project": 1,
        "teams_with_slot": 1,
        "teams_without_slot": 0,
        "free_slots": 1,
    }


def test_projects_lists_teams_with_filters(alice, bob, charlie, dana, window):
    full = make_team(alice, bob, lab=LabFactory())
    solo = make_team(charlie)
    api = ApiClient(dana)

    everything = api.get("/coordinator/projects").json()
    unbooked = api.get("/coordinator/projects?booked=false").json()
    full_only = api.get("/coordinator/projects?full=true").json()

    assert {p["id"] for p in everything} == {full.pk, solo.pk}
    assert [p["id"] for p in unbooked] == [solo.pk]
    assert [p["id"] for p in full_only] == [full.pk]
    assert full_only[0]["full"] is True
    assert full_only[0]["name"] == f"Team {full.pk}: Alice, Bob"


def test_students_lists_flags_and_projects_with_filters(
    alice, bob, charlie, dana, window
):
    project = make_team(alice)
    charlie.please_assign_me = True
    charlie.save()
    api = ApiClient(dana)

    everyone = api.get("/coordinator/students").json()
    free = api.get("/coordinator/students?free=true").json()
    assign = api.get("/coordinator/students?assign_me=true").json()

    by_number = {s["username"]: s for s in everyone}
    assert set(by_number) == {alice.username, bob.username, charlie.username}
    assert by_number[alice.username]["project_id"] == project.pk
    assert by_number[bob.username]["project_id"] is None
    assert {s["username"] for s in free} == {bob.username, charlie.username}
    assert [s["username"] for s in assign] == [charlie.username]


def test_students_csv_lists_those_without_a_project_safely(alice, dana, window):
    StudentFactory(first_name="=HYPERLINK(1)", last_name="Zz", looking_for_partner=True)
    make_team(alice)

    response = ApiClient(dana).get("/coordinator/students.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0] == "student_number"
    assert [row[1] for row in rows[1:]] == ["'=HYPERLINK(1)"]
    assert rows[1][5] == "yes"


def test_projects_csv_lists_unbooked_teams(alice, bob, charlie, dana, window):
    unbooked = make_team(alice, bob, description="Robots")
    make_team(charlie, lab=LabFactory())

    response = ApiClient(dana).get("/coordinator/projects.csv")

    rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    assert [row[:6] for row in rows[1:]] == [
        [str(unbooked.pk), "Robots", "2", alice.username, "Alice Able", alice.email]
    ]
    assert rows[1][6] == bob.username
