"""Query budgets of the API's list and detail endpoints.

Each count holds however many rows there are: the selectors preload what the
schemas read. Bearer authentication costs one query (the token with its
user); a coordinator check costs one more (the group).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.api_helpers import ApiClient
from accounts.tests.factories import StudentFactory
from chat.services import message_post, room_open
from projects import board_cache, services
from projects.models import BookingWindow
from projects.tests.factories import LabFactory, make_team


def build_unit(teams: int) -> None:
    """Full teams with slots, solo projects, free slots, invitations, messages."""
    window = BookingWindow.get()
    window.schedule_published = True
    window.save()
    lobby, _ = room_open(name="Lobby")
    for _ in range(teams):
        first, second = StudentFactory(), StudentFactory()
        make_team(first, second, lab=LabFactory())
        solo = make_team(StudentFactory())
        services.invitation_send(
            user=solo.memberships.get().user,
            project=solo,
            invitee_number=StudentFactory().username,
        )
        LabFactory()
        message_post(author=first, room=lobby, text="hello")


def queries(api, path) -> int:
    with CaptureQueriesContext(connection) as context:
        response = api.get(path)
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


STUDENT_BUDGETS = {
    "/me": 2,  # token, the calendar feed (its URL)
    # token, window, my project's id, upcoming slots with their teams' members
    "/labs": 4,
    "/me/project": 3,
    "/me/invitations": 5,
    "/students?q=30": 2,
    # token, my project's id, window, booked slots, their members
    "/schedule": 5,
    "/rooms/lobby/messages": 3,
}
COORDINATOR_BUDGETS = {
    # Each reads the booking window first (a ballot past its closing runs).
    # token, group, window; students, team sizes, teams, free slots
    "/coordinator/summary": 7,
    "/coordinator/projects": 5,
    "/coordinator/students": 4,
    # token, group, window, the students (with their team and slot)
    "/coordinator/students.csv": 4,
    # token, group, window, the teams, their members (no slot: no records)
    "/coordinator/projects.csv": 5,
    # token, group, window, the teams, their members, their booking records
    "/coordinator/allocations.csv": 6,
}


@pytest.mark.parametrize(("path", "budget"), STUDENT_BUDGETS.items())
def test_student_endpoints_keep_their_query_budget(
    alice, bob, path, budget, django_assert_num_queries
):
    build_unit(teams=3)
    make_team(alice, bob, lab=LabFactory())
    api = ApiClient(alice)

    with django_assert_num_queries(budget):
        api.get(path)


@pytest.mark.parametrize(("path", "budget"), COORDINATOR_BUDGETS.items())
def test_coordinator_endpoints_keep_their_query_budget(
    dana, path, budget, django_assert_num_queries
):
    build_unit(teams=3)
    api = ApiClient(dana)

    with django_assert_num_queries(budget):
        api.get(path)


def test_query_counts_do_not_grow_with_the_unit(alice, dana):
    make_team(alice, lab=LabFactory())
    build_unit(teams=2)
    student, coordinator = ApiClient(alice), ApiClient(dana)
    paths = [*STUDENT_BUDGETS, *COORDINATOR_BUDGETS]

    def counts():
        return [
            queries(coordinator if p.startswith("/coordinator") else student, p)
            for p in paths
        ]

    small = counts()
    build_unit(teams=6)
    # The changes above were never committed (no broadcast): reload the
    # board's copy as a committed change would.
    board_cache.forget()

    assert counts() == small


def test_incoming_invitations_cost_the_same_however_many(charlie):
    def invite(count):
        for _ in range(count):
            project = make_team(StudentFactory())
            services.invitation_send(
                user=project.memberships.get().user,
                project=project,
                invitee_number=charlie.username,
            )

    api = ApiClient(charlie)
    invite(1)
    one = queries(api, "/me/invitations")
    invite(3)

    assert queries(api, "/me/invitations") == one


def test_my_project_without_a_slot_reads_the_window_too(
    alice, bob, django_assert_num_queries
):
    """A team without a slot is the one a closed ballot may place: its
    project costs one more query, the window, to see whether a ballot is
    due (token, project, members, window)."""
    make_team(alice, bob)
    api = ApiClient(alice)

    with django_assert_num_queries(4):
        api.get("/me/project")
