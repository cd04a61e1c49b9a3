"""The coordinator's tools under real concurrency: pairing and placing applied
while students create projects, accept invitations and book slots at the
same moment (threads on the file test database, as in test_races.py).

Whoever wins each race, every rule holds afterwards: no student in two
teams, no team over its size or empty, no slot held twice, every booked
team's slot in a booking record, and no thread meets a server error.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from projects import coordinator_tools as tools
from projects import services
from projects.models import BookingRecord, BookingWindow, Membership, Project
from projects.tests.factories import (
    CoordinatorFactory,
    LabFactory,
    StudentFactory,
    make_team,
)
from projects.tests.test_races import outcomes, race

pytestmark = pytest.mark.django_db(transaction=True)
VIA = BookingRecord.Via.PAGE


def assert_every_rule_holds() -> None:
    size = settings.PAIRUP_TEAM_SIZE
    twice = Membership.objects.values("user").annotate(n=Count("pk")).filter(n__gt=1)
    assert list(twice) == [], "a student in two teams"
    sizes = list(
        Project.objects.annotate(n=Count("memberships")).values_list("pk", "n")
    )
    assert all(1 <= n <= size for _, n in sizes), sizes
    held = list(
        Project.objects.filter(lab__isnull=False).values_list("lab_id", flat=True)
    )
    assert len(held) == len(set(held)), "a slot held twice"
    for project in Project.objects.filter(lab__isnull=False):
        last = (
            BookingRecord.objects.filter(project_number=project.pk)
            .order_by("-created_at", "-pk")
            .first()
        )
        assert last is not None
        assert last.to_lab_id == project.lab_id


@pytest.mark.parametrize("team_size", [2, 3])
def test_pairing_and_placing_while_students_pair_and_book(settings, team_size):
    settings.PAIRUP_TEAM_SIZE = team_size
    BookingWindow.get()
    dana = CoordinatorFactory()
    asked = [StudentFactory(please_assign_me=True) for _ in range(9)]
    looking = [StudentFactory(looking_for_partner=True) for _ in range(4)]
    # Teams without a slot, and the slots the placement wants first.
    unbooked = [make_team(StudentFactory()) for _ in range(5)]
    start = (timezone.now() + timedelta(days=4)).replace(second=0, microsecond=0)
    labs = [
        LabFactory(
            start=start + timedelta(minutes=15 * n),
            end=start + timedelta(minutes=15 * n + 10),
        )
        for n in range(8)
    ]
    # A team inviting one of the students the pairing wants.
    inviting = make_team(StudentFactory())
    invitation = services.invitation_send(
        user=inviting.memberships.get().user,
        project=inviting,
        invitee_number=looking[0].username,
    )

    calls = [
        lambda: tools.pairings_apply(actor=dana, scope=tools.Scope.ALL, via=VIA),
        lambda: tools.placements_apply(actor=dana, via=VIA),
        lambda: services.invitation_accept(user=looking[0], invitation=invitation),
    ]
    # Students the pairing wants start projects of their own.
    calls += [
        lambda s=s: services.project_create(user=s, description="Our own")
        for s in asked[:4]
    ]
    # Teams without a slot book the earliest slots themselves.
    calls += [
        lambda team=team, lab=lab: services.lab_book(
            user=team.memberships.get().user, project=team, lab=lab
        )
        for team, lab in zip(unbooked, labs, strict=False)
    ]

    results = race(calls)

    outcomes(results)  # ValidationErrors are fine; nothing else is
    pairing, placing = results[0], results[1]
    assert pairing[0] in ("ok", "refused")
    assert placing[0] in ("ok", "refused")
    assert_every_rule_holds()
    if pairing[0] == "ok":
        for project, team in pairing[1].made:
            members = set(
                Membership.objects.filter(project_id=project.pk).values_list(
                    "user_id", flat=True
                )
            )
            assert members >= {person.id for person in team}
    # Every team had a slot to go to: each has one now, however it got it.
    assert not Project.objects.filter(
        pk__in=[t.pk for t in unbooked], lab__isnull=True
    ).exists()
    # Each student the pairing wanted is in a team, or was told why not.
    not_paired = (
        {person.id for person, _ in pairing[1].not_paired}
        if pairing[0] == "ok"
        else set()
    )
    for person in [*asked, *looking]:
        assert (
            Membership.objects.filter(user=person).exists() or person.pk in not_paired
        ), person.username
