import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from projects import ballot_services
from projects.models import BallotRun, BookingRecord
from projects.tests.ballot_helpers import open_ballot
from projects.tests.factories import LabFactory, make_team

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("run_ballot", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ranked(dana, alice):
    open_ballot(actor=dana)
    project = make_team(alice)
    ballot_services.ballot_save(user=alice, project=project, lab_ids=[LabFactory().pk])
    return project


def test_a_dry_run_from_the_command_line_books_nothing(ranked):
    out = run("--dry-run")

    assert out.startswith("Dry run: 1 of 1 teams that ranked placed")
    assert BallotRun.objects.get().trigger == BallotRun.Trigger.COMMAND
    assert BookingRecord.objects.count() == 0


def test_the_command_runs_the_ballot_once_and_replays_it(ranked):
    out = run()
    with pytest.raises(CommandError, match="already run"):
        run()
    replayed = run("--replay", str(BallotRun.objects.get().pk))

    assert out.startswith("The ballot ran: 1 of 1 teams that ranked placed")
    assert "replays to the same allocation (1 teams placed" in replayed
    ranked.refresh_from_db()
    assert ranked.lab is not None


def test_without_a_ballot_the_command_says_so(db):
    with pytest.raises(CommandError, match="there is no ballot to run"):
        run()
    with pytest.raises(CommandError, match="No ballot run 99"):
        run("--replay", "99")
