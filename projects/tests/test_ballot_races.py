"""The ballot runs exactly once under concurrent triggers: real threads, each
with its own connection, on the file test database (as the worker's clock,
its deferred task, a page after the closing time and a coordinator's "Run
the ballot now" would, in different processes)."""

import pytest

from projects import ballot_services
from projects.models import BallotRun, BookingRecord, Project
from projects.tests.ballot_helpers import after_closing, open_ballot
from projects.tests.factories import LabFactory, StudentFactory, make_team
from projects.tests.test_races import outcomes, race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def contested(dana):
    """Eight teams ranking three of five slots each."""
    window = open_ballot(actor=dana)
    labs = LabFactory.create_batch(5)
    for n in range(8):
        team = make_team(StudentFactory())
        ballot_services.ballot_save(
            user=team.memberships.get().user,
            project=team,
            lab_ids=[labs[(n + k) % 5].pk for k in range(3)],
        )
    return window


def assert_booked_once(run: BallotRun) -> None:
    assert BallotRun.objects.filter(dry_run=False).count() == 1
    booked = Project.objects.filter(lab__isnull=False)
    assert booked.count() == run.placed == 5
    assert BookingRecord.objects.filter(via=BookingRecord.Via.BALLOT).count() == 5
    assert len(set(booked.values_list("lab_id", flat=True))) == 5


def test_two_clocks_at_the_closing_time_run_the_ballot_once(contested):
    moment = after_closing(contested)

    results = race(
        [lambda: ballot_services.ballot_run_if_due(now=moment) for _ in range(2)]
    )

    winners, refusals = outcomes(results)
    runs = [value for _, value in winners if value is not None]
    assert len(runs) == 1
    assert refusals == []
    assert_booked_once(runs[0])


def test_a_coordinator_pressing_run_now_as_the_clock_runs_it_runs_once(contested, dana):
    moment = after_closing(contested)

    results = race(
        [
            lambda: ballot_services.ballot_run(actor=dana),
            lambda: ballot_services.ballot_run_if_due(now=moment),
            lambda: ballot_services.ballot_run(actor=dana),
        ]
    )

    winners, refusals = outcomes(results)
    runs = [value for _, value in winners if value is not None]
    assert len(runs) == 1
    assert all(
        messages[0].startswith("The ballot has already run") for messages in refusals
    )
    assert_booked_once(runs[0])
