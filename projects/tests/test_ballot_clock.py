"""The ballot runs by the clock, with no cron to set up: the task queued for
its closing time, and the worker's clock as the safety net."""

import pytest
import time_machine

from notifications.tests.conftest import run_worker
from notifications.worker import tick
from projects import ballot_services
from projects.models import BallotRun, BookingWindow
from projects.tests.ballot_helpers import after_closing, open_ballot
from projects.tests.factories import LabFactory, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def ranked(dana, alice):
    window = open_ballot(actor=dana)
    lab = LabFactory()
    project = make_team(alice)
    ballot_services.ballot_save(user=alice, project=project, lab_ids=[lab.pk])
    return window, project, lab


def test_the_queued_task_runs_the_ballot_at_its_closing_time(ranked):
    window, project, lab = ranked

    run_worker()  # before the closing time: the task waits
    assert not BallotRun.objects.exists()
    with time_machine.travel(after_closing(window), tick=False):
        run_worker()

    run = BallotRun.objects.get()
    assert (run.dry_run, run.trigger, run.placed) == (False, "clock", 1)
    project.refresh_from_db()
    assert project.lab == lab


def test_the_workers_clock_runs_a_ballot_whose_task_was_lost(ranked):
    from django_tasks_db.models import DBTaskResult

    window, _, _ = ranked
    DBTaskResult.objects.filter(task_path="projects.tasks.run_ballot").delete()

    assert tick(now=after_closing(window, -1))["ballot_run"] is None
    done = tick(now=after_closing(window))

    run = BallotRun.objects.get()
    assert done["ballot_run"] == run.pk
    assert BookingWindow.get().ballot_ran_at == run.created_at
    assert tick(now=after_closing(window, 2))["ballot_run"] is None


def test_the_clock_leaves_first_come_alone(alice):
    make_team(alice)

    assert tick()["ballot_run"] is None
    assert not BallotRun.objects.exists()


def test_a_failing_run_is_logged_and_tried_again_by_the_clock(
    ranked, monkeypatch, caplog
):
    window, _, _ = ranked

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(ballot_services, "allocate", broken)
    done = tick(now=after_closing(window))
    assert done["ballot_run"] is None
    assert "the ballot could not run" in caplog.text
    assert not BallotRun.objects.exists()

    monkeypatch.undo()
    assert tick(now=after_closing(window, 1))["ballot_run"] is not None
