"""Rules 1-3 under real concurrency: threads racing on the file test database.

Each thread calls one service with its own database connection, as
concurrent requests would, and closes it at the end. SQLite serialises the
writers (immediate transactions, a busy timeout); PostgreSQL serialises them
with row locks and the unique indexes. Either way: exactly one winner, every
loser gets a clear ValidationError, and nothing else goes wrong (no
"database is locked").
"""

import itertools
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from projects import services
from projects.models import BookingWindow, Invitation, Lab, Membership, Project
from projects.tests.factories import (
    CoordinatorFactory,
    LabFactory,
    StudentFactory,
    make_team,
)

THREADS = 10

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls):
    """Run every call at once, one thread each; return what each one got.

    Each result is ("ok", value), ("refused", messages) or ("error", repr).
    """
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except ValidationError as error:
            results[index] = ("refused", error.messages)
        except Exception as error:
            results[index] = ("error", repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, call))
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def outcomes(results):
    errors = [r for r in results if r[0] == "error"]
    assert errors == [], f"unexpected errors: {errors}"
    winners = [r for r in results if r[0] == "ok"]
    refusals = [r[1] for r in results if r[0] == "refused"]
    return winners, refusals


@pytest.fixture(autouse=True)
def window():
    return BookingWindow.get()


def test_teams_racing_for_one_slot_leave_exactly_one_winner():
    lab = LabFactory()
    teams = [make_team(StudentFactory()) for _ in range(THREADS)]

    results = race(
        [
            lambda team=team: services.lab_book(
                user=team.memberships.get().user, project=team, lab=lab
            )
            for team in teams
        ]
    )

    winners, refusals = outcomes(results)
    assert len(winners) == 1
    assert refusals == [[services.SLOT_TAKEN]] * (THREADS - 1)
    assert Project.objects.filter(lab=lab).count() == 1


def test_teams_moving_into_one_slot_keep_their_old_slots_when_they_lose():
    target = LabFactory()
    teams = [make_team(StudentFactory(), lab=LabFactory()) for _ in range(THREADS)]
    before = {team.pk: team.lab_id for team in teams}

    results = race(
        [
            lambda team=team: services.lab_book(
                user=team.memberships.get().user, project=team, lab=target
            )
            for team in teams
        ]
    )

    winners, refusals = outcomes(results)
    assert len(winners) == 1
    assert refusals == [[services.SLOT_TAKEN]] * (THREADS - 1)
    winner = winners[0][1]
    for team in Project.objects.exclude(pk=winner.pk):
        assert team.lab_id == before[team.pk]
    assert Project.objects.get(pk=winner.pk).lab_id == target.pk


def test_students_creating_projects_on_one_slot_leave_one_winner_and_no_debris():
    lab = LabFactory()
    students = StudentFactory.create_batch(THREADS)

    results = race(
        [
            lambda student=student: services.project_create(
                user=student, description="Race", lab=lab
            )
            for student in students
        ]
    )

    winners, refusals = outcomes(results)
    assert len(winners) == 1
    assert refusals == [[services.SLOT_TAKEN]] * (THREADS - 1)
    assert Project.objects.count() == 1
    assert Membership.objects.count() == 1


def test_invitees_accepting_at_once_never_overfill_the_team(settings):
    settings.PAIRUP_TEAM_SIZE = 2
    founder = StudentFactory()
    project = make_team(founder)
    invitees = StudentFactory.create_batch(THREADS)
    invitations = [
        services.invitation_send(
            user=founder, project=project, invitee_number=invitee.username
        )
        for invitee in invitees
    ]

    results = race(
        [
            lambda invitee=invitee, invitation=invitation: services.invitation_accept(
                user=invitee, invitation=invitation
            )
            for invitee, invitation in zip(invitees, invitations, strict=True)
        ]
    )

    winners, refusals = outcomes(results)
    assert len(winners) == 1
    assert len(refusals) == THREADS - 1
    clear = {("That team is already full.",), (services.NOT_PENDING,)}
    assert {tuple(messages) for messages in refusals} <= clear
    assert project.memberships.count() == 2
    assert (
        Invitation.objects.filter(
            project=project, status=Invitation.Status.PENDING
        ).count()
        == 0
    )


def test_a_bigger_team_fills_exactly_to_its_size(settings):
    settings.PAIRUP_TEAM_SIZE = 4
    founder = StudentFactory()
    project = make_team(founder)
    invitees = StudentFactory.create_batch(THREADS)
    invitations = [
        services.invitation_send(
            user=founder, project=project, invitee_number=invitee.username
        )
        for invitee in invitees
    ]

    results = race(
        [
            lambda invitee=invitee, invitation=invitation: services.invitation_accept(
                user=invitee, invitation=invitation
            )
            for invitee, invitation in zip(invitees, invitations, strict=True)
        ]
    )

    winners, refusals = outcomes(results)
    assert len(winners) == 3
    assert len(refusals) == THREADS - 3
    assert project.memberships.count() == 4


def test_one_student_accepting_every_invitation_at_once_joins_one_team():
    student = StudentFactory()
    invitations = []
    for _ in range(THREADS):
        founder = StudentFactory()
        project = make_team(founder)
        invitations.append(
            services.invitation_send(
                user=founder, project=project, invitee_number=student.username
            )
        )

    results = race(
        [
            lambda invitation=invitation: services.invitation_accept(
                user=student, invitation=invitation
            )
            for invitation in invitations
        ]
    )

    winners, refusals = outcomes(results)
    assert len(winners) == 1
    assert len(refusals) == THREADS - 1
    assert all(
        "already belong" in messages[0] or messages == [services.NOT_PENDING]
        for messages in refusals
    )
    assert Membership.objects.filter(user=student).count() == 1


def test_accepting_while_the_team_dissolves_never_errors():
    founder = StudentFactory()
    project = make_team(founder)
    invitees = StudentFactory.create_batch(THREADS - 1)
    invitations = [
        services.invitation_send(
            user=founder, project=project, invitee_number=invitee.username
        )
        for invitee in invitees
    ]
    calls = [
        lambda invitee=invitee, invitation=invitation: services.invitation_accept(
            user=invitee, invitation=invitation
        )
        for invitee, invitation in zip(invitees, invitations, strict=True)
    ]
    calls.append(lambda: services.project_dissolve(user=founder, project=project))

    results = race(calls)

    outcomes(results)  # no server error, whoever wins
    assert Membership.objects.filter(user__in=invitees).count() <= 1


def test_coordinators_saving_overlapping_slots_at_once_leave_one():
    """The admin's overlap check runs before the save; two saves at the
    same instant must not both pass it (PostgreSQL: a lock on the room)."""
    coordinators = CoordinatorFactory.create_batch(THREADS)
    start = LabFactory.build().start
    labs = [
        Lab(
            room="CSSE 2.01",
            start=start + timedelta(minutes=index),
            end=start + timedelta(minutes=index + 15),
        )
        for index in range(THREADS)
    ]

    results = race(
        [
            lambda actor=actor, lab=lab: services.lab_save(actor=actor, lab=lab)
            for actor, lab in zip(coordinators, labs, strict=True)
        ]
    )

    winners, refusals = outcomes(results)
    assert len(winners) == 1
    assert Lab.objects.filter(room="CSSE 2.01").count() == 1
    assert all("would overlap the slot" in r[0] for r in refusals), refusals


def test_series_created_at_once_over_one_room_never_overlap():
    """Two coordinators running create_labs for the same afternoon with
    different lengths: each slot made is kept whole, none overlaps."""
    from datetime import time

    from django.utils import timezone

    day = timezone.localdate() + timedelta(days=7)
    shapes = [(15, 15), (20, 20)] * (THREADS // 2)

    results = race(
        [
            lambda every=every, duration=duration: services.labs_create(
                room="CSSE 2.01",
                day=day,
                start=time(14, 0),
                end=time(17, 0),
                every=every,
                duration=duration,
            )
            for every, duration in shapes
        ]
    )

    outcomes(results)
    labs = list(Lab.objects.filter(room="CSSE 2.01").order_by("start"))
    assert labs
    for earlier, later in itertools.pairwise(labs):
        assert earlier.end <= later.start, (earlier, later)


def test_coordinators_adding_overlapping_slots_in_the_admin_at_once():
    """Through the Labs admin: the form's check and the save are one
    transaction, so the losers see the form again with the overlap named,
    never a server error."""
    from django.test import Client
    from django.urls import reverse

    from projects.tests.test_admin import lab_form

    start = LabFactory.build().start
    clients = []
    for coordinator in CoordinatorFactory.create_batch(THREADS, is_superuser=True):
        client = Client()
        client.force_login(coordinator)
        clients.append(client)

    def add(client, index):
        response = client.post(
            reverse("admin:projects_lab_add"),
            lab_form(
                "CSSE 2.01",
                start + timedelta(minutes=index),
                start + timedelta(minutes=index + 15),
                is_open="on",
            ),
        )
        return response.status_code, "would overlap the slot" in response.text

    results = race(
        [
            lambda client=client, index=index: add(client, index)
            for index, client in enumerate(clients)
        ]
    )

    winners, _ = outcomes(results)
    codes = sorted(result for _, result in winners)
    assert codes == [(200, True)] * (THREADS - 1) + [(302, False)]
    assert Lab.objects.filter(room="CSSE 2.01").count() == 1
