"""GET and PUT /api/v1/me/project/ballot: a team's ranking through the API."""

import pytest
import time_machine

from accounts.tests.api_helpers import ApiClient, assert_error
from projects import ballot_services
from projects.models import BallotChoice, BallotRun
from projects.tests.ballot_helpers import after_closing, open_ballot
from projects.tests.factories import LabFactory, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def window(dana):
    return open_ballot(actor=dana)


def test_a_member_puts_a_ranking_and_the_partner_gets_it(window, team, alice, bob):
    labs = LabFactory.create_batch(3)

    put = ApiClient(alice).put(
        "/me/project/ballot", {"slots": [labs[2].pk, labs[0].pk]}
    )
    got = ApiClient(bob).get("/me/project/ballot")

    assert put.status_code == 200, put.content
    body = got.json()
    assert body["state"] == "open"
    assert body["slots"] == [labs[2].pk, labs[0].pk]
    assert [(c["id"], c["rank"]) for c in body["choices"]] == [
        (labs[2].pk, 1),
        (labs[0].pk, 2),
    ]
    assert body["choices"][0]["start"].endswith("+08:00")
    assert body["saved_by"] == "Alice"
    assert body["limit"] == 10
    assert body["closes_at"].endswith("+08:00")
    assert body["result"] is None


def test_an_empty_list_clears_the_ranking(window, team, alice):
    lab = LabFactory()
    ApiClient(alice).put("/me/project/ballot", {"slots": [lab.pk]})

    response = ApiClient(alice).put("/me/project/ballot", {"slots": []})

    assert response.json()["slots"] == []
    assert not BallotChoice.objects.exists()


def test_bad_rankings_are_400_and_change_nothing(window, team, alice, settings):
    settings.PAIRUP_BALLOT_CHOICES = 2
    labs = LabFactory.create_batch(3)
    client = ApiClient(alice)
    client.put("/me/project/ballot", {"slots": [labs[0].pk]})

    too_many = client.put("/me/project/ballot", {"slots": [lab.pk for lab in labs]})
    twice = client.put("/me/project/ballot", {"slots": [labs[1].pk, labs[1].pk]})
    unknown = client.put("/me/project/ballot", {"slots": [987654]})
    huge = client.put("/me/project/ballot", {"slots": [2**70]})
    not_a_list = client.put("/me/project/ballot", {"slots": "1,2"})

    assert assert_error(too_many, 400, "invalid")["errors"] == {
        "slots": ["Rank at most 2 slots (this ranking has 3)."]
    }
    assert_error(twice, 400, "invalid")
    assert_error(unknown, 400, "invalid")
    assert_error(huge, 400, "invalid")
    assert_error(not_a_list, 400, "invalid")
    assert list(BallotChoice.objects.values_list("lab_id", flat=True)) == [labs[0].pk]


def test_a_closed_slot_is_409(window, team, alice):
    lab = LabFactory(is_open=False)

    response = ApiClient(alice).put("/me/project/ballot", {"slots": [lab.pk]})

    assert_error(response, 409, "slot_closed")


def test_ranking_outside_the_ballot_is_409(team, alice, dana):
    lab = LabFactory()

    first_come = ApiClient(alice).put("/me/project/ballot", {"slots": [lab.pk]})
    open_ballot(actor=dana)
    ballot_services.ballot_run(actor=dana)
    after_the_run = ApiClient(alice).put("/me/project/ballot", {"slots": [lab.pk]})

    assert_error(first_come, 409, "no_ballot")
    assert_error(after_the_run, 409, "ballot_closed")


def test_without_a_project_get_is_404_and_put_is_409(window, charlie):
    assert_error(ApiClient(charlie).get("/me/project/ballot"), 404, "not_found")
    assert_error(
        ApiClient(charlie).put("/me/project/ballot", {"slots": []}), 409, "no_project"
    )


def test_signed_out_is_401(window):
    assert_error(ApiClient().get("/me/project/ballot"), 401, "unauthorized")


def test_after_the_run_the_team_reads_its_result(window, alice, dana):
    lab, other = LabFactory(), LabFactory()
    make_team(alice)
    ApiClient(alice).put("/me/project/ballot", {"slots": [other.pk, lab.pk]})
    ballot_services.ballot_run(actor=dana)

    body = ApiClient(alice).get("/me/project/ballot").json()

    assert body["state"] == "ran"
    assert body["has_slot"] is True
    assert body["result"]["placed"] is True
    assert body["result"]["lab"]["id"] == other.pk
    assert body["result"]["rank"] == 1
    assert body["result"]["text"].endswith("(your 1st choice).")


def _read_the_slot(path: str, body, lab) -> bool:
    """Whether a GET's body shows the team on `lab`."""
    if path == "/labs":
        return any(item["id"] == lab.pk and item["mine"] for item in body["items"])
    if path == "/schedule":
        return [entry["lab"]["id"] for entry in body] == [lab.pk]
    if path == "/me/project":
        return body["lab"] is not None and body["lab"]["id"] == lab.pk
    return body["state"] == "ran" and body["result"]["lab"]["id"] == lab.pk


@pytest.mark.parametrize(
    "path", ["/labs", "/schedule", "/me/project", "/me/project/ballot"]
)
def test_the_first_get_after_the_closing_time_runs_the_ballot(
    window, team, alice, path
):
    """With no worker running it, an API client never reads the unit as it
    was before the allocation once the ballot has closed: the first GET
    that shows slots or the ballot runs it, as the pages do."""
    lab = LabFactory()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[lab.pk])

    with time_machine.travel(after_closing(window), tick=False):
        response = ApiClient(alice).get(path)

    assert response.status_code == 200, response.content
    assert BallotRun.objects.get().trigger == BallotRun.Trigger.REQUEST
    assert _read_the_slot(path, response.json(), lab)


@pytest.mark.parametrize(
    "path",
    [
        "/coordinator/summary",
        "/coordinator/projects",
        "/coordinator/students",
        "/coordinator/students.csv",
        "/coordinator/projects.csv",
        "/coordinator/allocations.csv",
    ],
)
def test_a_coordinators_get_after_the_closing_time_runs_the_ballot(
    window, team, alice, dana, path
):
    """As the coordinator's page does: what a coordinator reads or downloads
    just after the closing time is the allocation."""
    lab = LabFactory()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[lab.pk])

    with time_machine.travel(after_closing(window), tick=False):
        response = ApiClient(dana).get(path)

    assert response.status_code == 200, response.content
    assert BallotRun.objects.get().trigger == BallotRun.Trigger.REQUEST
    if path == "/coordinator/projects":
        [project] = response.json()
        assert project["lab"]["id"] == lab.pk
    if path == "/coordinator/allocations.csv":
        assert lab.room in response.content.decode()
