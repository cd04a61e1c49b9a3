"""Rules 1-3 under real concurrency, through the JSON API.

Each thread is a script with its own bearer token, test client and database
connection, against the file test database. Exactly one request wins; every
other one gets a 409 with the reason, never a 5xx.
"""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.tests.api_helpers import API, bearer
from projects import services
from projects.models import BookingWindow, Invitation, Membership, Project
from projects.tests.factories import LabFactory, StudentFactory, make_team

THREADS = 10

pytestmark = pytest.mark.django_db(transaction=True)


def race(requests):
    """Send every (headers, path) POST at once, one thread each.

    Return (status, body) per request.
    """
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, headers, path):
        client = Client()
        try:
            barrier.wait(timeout=10)
            response = client.post(f"{API}{path}", headers=headers)
            results[index] = (response.status_code, response.json())
        except Exception as error:
            results[index] = (None, repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, headers, path))
        for index, (headers, path) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def split(results):
    statuses = sorted(status for status, _ in results)
    assert None not in statuses, results
    winners = [body for status, body in results if status == 200]
    losers = [body for status, body in results if status != 200]
    assert all(status in (200, 409) for status in statuses), results
    return winners, losers


@pytest.fixture(autouse=True)
def window():
    return BookingWindow.get()


def test_teams_racing_for_one_slot_through_the_api_leave_one_winner():
    lab = LabFactory()
    teams = [make_team(StudentFactory()) for _ in range(THREADS)]
    requests = [
        (bearer(team.memberships.get().user), f"/labs/{lab.pk}/book") for team in teams
    ]

    winners, losers = split(race(requests))

    assert len(winners) == 1
    assert len(losers) == THREADS - 1
    assert {body["code"] for body in losers} == {"slot_taken"}
    assert Project.objects.filter(lab=lab).count() == 1
    assert Project.objects.get(lab=lab).pk == winners[0]["id"]


def test_invitees_racing_for_the_last_place_leave_one_winner():
    owner = StudentFactory()
    project = make_team(owner)
    invitees = [StudentFactory() for _ in range(THREADS)]
    invitations = [
        services.invitation_send(
            user=owner, project=project, invitee_number=invitee.username
        )
        for invitee in invitees
    ]
    requests = [
        (bearer(invitation.invitee), f"/invitations/{invitation.pk}/accept")
        for invitation in invitations
    ]

    winners, losers = split(race(requests))

    assert len(winners) == 1
    assert {body["code"] for body in losers} <= {"team_full", "not_pending"}
    assert Membership.objects.filter(project=project).count() == 2
    assert Invitation.objects.filter(status=Invitation.Status.ACCEPTED).count() == 1


def test_one_student_accepting_every_invitation_at_once_joins_one_team():
    student = StudentFactory()
    projects = [make_team(StudentFactory()) for _ in range(THREADS)]
    headers = bearer(student)
    requests = []
    for project in projects:
        owner = project.memberships.get().user
        invitation = services.invitation_send(
            user=owner, project=project, invitee_number=student.username
        )
        requests.append((headers, f"/invitations/{invitation.pk}/accept"))

    winners, losers = split(race(requests))

    assert len(winners) == 1
    assert {body["code"] for body in losers} <= {"already_member", "not_pending"}
    assert Membership.objects.filter(user=student).count() == 1
