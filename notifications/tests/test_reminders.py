"""Reminders before a slot and before booking opens, on a frozen clock."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import StudentFactory
from notifications import reminders
from notifications.models import Kind, Notification, Reminder
from notifications.tests.conftest import mailed, run_worker, told
from projects import services
from projects.tests.factories import LabFactory, make_team
from projects.tests.helpers import set_window

MINUTE = timedelta(minutes=1)


def reminders_of(user) -> list[Notification]:
    return [n for n in told(user) if n.kind == Kind.SLOT_REMINDER]


@pytest.fixture
def booked(committed, team, alice):
    lab = LabFactory()
    committed(services.lab_book, user=alice, project=team, lab=lab)
    mail.outbox.clear()
    return lab


@pytest.mark.django_db
def test_booking_schedules_a_reminder_for_each_configured_time(booked):
    scheduled = Reminder.objects.filter(status=Reminder.Status.SCHEDULED)

    assert sorted(r.due_at for r in scheduled) == [
        booked.start - timedelta(hours=24),
        booked.start - timedelta(hours=1),
    ]


@pytest.mark.django_db
def test_each_reminder_is_sent_once_at_its_time_to_every_member(
    booked, alice, bob, charlie
):
    with time_machine.travel(booked.start - timedelta(hours=24) - MINUTE, tick=False):
        run_worker()
        assert reminders_of(alice) == []
    with time_machine.travel(booked.start - timedelta(hours=24) + MINUTE, tick=False):
        run_worker()
        run_worker()
        reminders.send_due_reminders()
    [first] = reminders_of(alice)
    assert "presents in 24 hours" in first.text
    assert len(reminders_of(bob)) == 1
    assert len(mailed(bob)) == 1 and mailed(bob)[0].subject.startswith(
        "[Pair-Up] Reminder: Team"
    )
    with time_machine.travel(booked.start - timedelta(minutes=59), tick=False):
        run_worker()
    assert [n.text.split(" presents ")[1][:9] for n in reminders_of(bob)] == [
        "in 24 hou",
        "in 1 hour",
    ]
    assert told(charlie) == []


@pytest.mark.django_db
def test_a_moved_slot_is_reminded_at_its_new_time_only(committed, booked, team, bob):
    later = LabFactory(start=booked.start + timedelta(days=2))
    later.end = later.start + timedelta(minutes=15)
    later.save()
    committed(services.lab_book, user=bob, project=team, lab=later)

    with time_machine.travel(booked.start - timedelta(minutes=30), tick=False):
        run_worker()
        reminders.send_due_reminders()
    assert reminders_of(bob) == []  # the old slot's reminders were withdrawn
    with time_machine.travel(later.start - timedelta(minutes=30), tick=False):
        run_worker()
    [reminder] = reminders_of(bob)
    assert "in 30 minutes" in reminder.text


@pytest.mark.django_db
def test_a_released_slot_is_not_reminded(committed, booked, team, alice, bob):
    committed(services.lab_release, user=alice, project=team)

    with time_machine.travel(booked.start - timedelta(minutes=30), tick=False):
        run_worker()
        reminders.send_due_reminders()

    assert reminders_of(bob) == []
    assert set(Reminder.objects.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.django_db
def test_no_reminder_is_sent_for_a_slot_that_has_passed(booked, bob):
    # The worker was down until after the slot started.
    with time_machine.travel(booked.start + timedelta(minutes=5), tick=False):
        run_worker()
        sent = reminders.send_due_reminders()

    assert sent == 0
    assert reminders_of(bob) == []
    assert set(Reminder.objects.values_list("status", flat=True)) == {"skipped"}


@pytest.mark.django_db
def test_a_worker_that_was_down_sends_only_the_latest_due_reminder(booked, bob):
    with time_machine.travel(booked.start - timedelta(minutes=30), tick=False):
        reminders.send_due_reminders()

    [reminder] = reminders_of(bob)
    assert "in 30 minutes" in reminder.text


@pytest.mark.django_db
def test_a_slot_booked_inside_a_reminder_time_skips_that_reminder(
    committed, team, alice
):
    soon = LabFactory(start=timezone.now() + timedelta(hours=5))
    committed(services.lab_book, user=alice, project=team, lab=soon)

    assert [r.before for r in Reminder.objects.all()] == [timedelta(hours=1)]


@pytest.mark.django_db
def test_empty_reminders_setting_schedules_none(committed, settings, team, alice):
    settings.PAIRUP_REMINDERS = []
    committed(services.lab_book, user=alice, project=team, lab=LabFactory())

    assert Reminder.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_each_reminder_once():
    """Real threads on the file database, each sweeping at the same moment."""
    first = LabFactory()
    for room in range(6):
        lab = LabFactory(room=f"Lab {room}", start=first.start, end=first.end)
        make_team(StudentFactory(), StudentFactory(), lab=lab)
    due = first.start - timedelta(minutes=59)
    start = threading.Barrier(2)
    errors = []

    def sweep():
        try:
            start.wait()
            reminders.send_due_reminders(now=due)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    # Six teams of two: one reminder each (the 1-hour one; the 24-hour one is
    # skipped as superseded), never two.
    assert Notification.objects.filter(kind=Kind.SLOT_REMINDER).count() == 12
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == 6


@pytest.mark.django_db(transaction=True)
def test_two_worker_loops_racing_run_the_queued_reminder_task_once():
    """Two of django-tasks-db's own worker loops in threads, one file database."""
    lab = LabFactory()
    make_team(StudentFactory(), StudentFactory(), lab=lab)
    start = threading.Barrier(2)

    def work(name):
        start.wait()
        try:
            run_worker(name, in_test_transaction=False)
        finally:
            connection.close()

    with time_machine.travel(lab.start - timedelta(minutes=59), tick=False):
        threads = [
            threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert Notification.objects.filter(kind=Kind.SLOT_REMINDER).count() == 2


# Booking opens ---------------------------------------------------------------


@pytest.mark.django_db
def test_booking_opens_tells_every_student_without_a_slot_once(
    committed, dana, alice, bob, charlie
):
    make_team(alice, bob, lab=LabFactory())
    opens = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    committed(set_window, dana, opens_at=opens)

    with time_machine.travel(opens - timedelta(minutes=61), tick=False):
        run_worker()
    assert told(charlie) == []
    with time_machine.travel(opens - timedelta(minutes=59), tick=False):
        run_worker()
        reminders.send_due_reminders()
    [notice] = told(charlie)
    assert notice.kind == Kind.BOOKING_OPENS
    assert notice.text.startswith(f"Booking opens at {timezone.localtime(opens):%H:%M}")
    assert len(mailed(charlie)) == 1  # reminders: email on by default
    assert told(alice) == [] and told(bob) == [] and told(dana) == []

    # Saving the same opening again tells nobody again.
    committed(set_window, dana, opens_at=opens)
    with time_machine.travel(opens - timedelta(minutes=30), tick=False):
        run_worker()
    assert len(told(charlie)) == 1


@pytest.mark.django_db
def test_a_changed_opening_withdraws_the_old_notice(committed, dana, charlie):
    opens = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    committed(set_window, dana, opens_at=opens)
    committed(set_window, dana, opens_at=opens + timedelta(days=1))

    with time_machine.travel(opens - timedelta(minutes=30), tick=False):
        run_worker()
    assert told(charlie) == []
    with time_machine.travel(opens + timedelta(days=1, minutes=-30), tick=False):
        run_worker()
    assert [n.kind for n in told(charlie)] == [Kind.BOOKING_OPENS]


@pytest.mark.django_db
def test_switching_booking_on_tells_students_it_is_open_now(committed, dana, charlie):
    committed(set_window, dana, booking_open=False)
    committed(set_window, dana, booking_open=True)

    [notice] = told(charlie)
    assert notice.text.startswith("Booking is open now.")


@pytest.mark.django_db
def test_switching_booking_off_before_it_opens_withdraws_the_notice(
    committed, dana, charlie
):
    opens = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    committed(set_window, dana, opens_at=opens)
    committed(set_window, dana, booking_open=False)

    with time_machine.travel(opens - timedelta(minutes=30), tick=False):
        run_worker()
    assert told(charlie) == []


@pytest.mark.django_db
def test_booking_opens_tells_each_student_what_they_can_do(
    committed, dana, alice, bob, charlie
):
    """A team without a slot books on the board; a student without a project
    can't book yet, so they are sent to start or join one first."""
    make_team(alice)
    opens = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    committed(set_window, dana, opens_at=opens)

    with time_machine.travel(opens - timedelta(minutes=59), tick=False):
        run_worker()
        reminders.send_due_reminders()
    [team_notice] = told(alice)
    assert team_notice.text.endswith(
        "Your team has no lab slot yet: book one on the board."
    )
    assert team_notice.link == reverse("projects:lab_board")
    for student in (bob, charlie):
        [notice] = told(student)
        assert notice.kind == Kind.BOOKING_OPENS
        assert notice.text.endswith(
            "You have no project yet: start one or join a team, then book its slot."
        )
        assert "board" not in notice.text
        assert notice.link == reverse("home")
