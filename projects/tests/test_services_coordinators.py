"""Coordinator tools: membership_add/remove, slots, and the booking window."""

from datetime import date, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.permissions import CoordinatorRequired
from projects import realtime, services
from projects.models import BookingRecord, BookingWindow, Invitation, Lab, Membership
from projects.realtime import LABS_GROUP
from projects.tests.factories import LabFactory, StudentFactory, make_team


def test_a_coordinator_adds_a_free_student_to_a_team_with_room(alice, bob, dana):
    project = make_team(alice)

    services.membership_add(actor=dana, project=project, student=bob)

    assert Membership.objects.get(user=bob).project == project


def test_adding_to_a_full_team_is_refused(alice, bob, charlie, dana):
    project = make_team(alice, bob)

    with pytest.raises(ValidationError, match="already full"):
        services.membership_add(actor=dana, project=project, student=charlie)
    assert project.memberships.count() == 2


def test_adding_a_student_who_has_a_project_is_refused(alice, bob, dana):
    project = make_team(alice)
    make_team(bob)

    with pytest.raises(ValidationError, match="already belongs"):
        services.membership_add(actor=dana, project=project, student=bob)


def test_a_coordinator_cannot_be_added_as_a_member(alice, dana):
    with pytest.raises(ValidationError, match="not a student"):
        services.membership_add(actor=dana, project=make_team(alice), student=dana)


def test_students_cannot_use_coordinator_tools(alice, bob):
    project = make_team(alice)

    with pytest.raises(CoordinatorRequired, match="Only coordinators"):
        services.membership_add(actor=alice, project=project, student=bob)
    with pytest.raises(CoordinatorRequired, match="Only coordinators"):
        services.membership_remove(actor=alice, membership=project.memberships.get())
    with pytest.raises(CoordinatorRequired, match="Only coordinators"):
        services.labs_set_open(actor=alice, labs=[LabFactory()], is_open=False)


def test_filling_a_team_cancels_its_pending_invitations(alice, bob, charlie, dana):
    project = make_team(alice)
    invitation = services.invitation_send(
        user=alice, project=project, invitee_number=charlie.username
    )

    services.membership_add(actor=dana, project=project, student=bob)

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED


def test_removing_a_member_keeps_the_team_and_slot(alice, bob, dana):
    lab = LabFactory()
    project = make_team(alice, bob, lab=lab)

    services.membership_remove(actor=dana, membership=bob.membership)

    project.refresh_from_db()
    assert project.lab == lab
    assert [m.user for m in project.memberships.all()] == [alice]


def test_removing_the_last_member_dissolves_and_records_the_member(alice, dana):
    lab = LabFactory()
    project = make_team(alice, lab=lab)

    services.membership_remove(actor=dana, membership=alice.membership)

    assert not Membership.objects.exists()
    record = BookingRecord.objects.get(action=BookingRecord.Action.DISSOLVE)
    assert record.members == alice.username
    assert record.via == BookingRecord.Via.ADMIN
    assert record.project_number == project.pk


def test_the_window_update_validates_and_refreshes_every_board(
    dana, django_capture_on_commit_callbacks
):
    window = BookingWindow.get()
    window.opens_at = timezone.now()
    window.closes_at = timezone.now() - timedelta(hours=1)

    with pytest.raises(ValidationError):
        services.booking_window_update(
            actor=dana, window=window, fields=["opens_at", "closes_at"]
        )

    window.closes_at = timezone.now() + timedelta(hours=1)
    window.booking_open = False
    with django_capture_on_commit_callbacks() as callbacks:
        services.booking_window_update(
            actor=dana, window=window, fields=["opens_at", "closes_at", "booking_open"]
        )
    assert len(callbacks) == 1
    assert BookingWindow.get().booking_open is False


def test_closing_slots_broadcasts_them_to_the_board(
    dana, django_capture_on_commit_callbacks, monkeypatch
):
    labs = LabFactory.create_batch(2)
    published = []
    monkeypatch.setattr(
        realtime, "publish", lambda group, event: published.append((group, event))
    )

    with django_capture_on_commit_callbacks(execute=True):
        changed = services.labs_set_open(actor=dana, labs=labs, is_open=False)

    [(group, event)] = published
    assert (group, event["type"]) == (LABS_GROUP, "labs.update")
    assert changed == 2
    assert sorted(facts["id"] for facts in event["labs"]) == sorted(
        lab.pk for lab in labs
    )
    assert {facts["open"] for facts in event["labs"]} == {False}
    assert not Lab.objects.filter(is_open=True).exists()


def test_closing_a_booked_slot_keeps_its_team(alice, dana):
    lab = LabFactory()
    project = make_team(alice, lab=lab)

    services.labs_set_open(actor=dana, labs=[lab], is_open=False)

    project.refresh_from_db()
    assert project.lab == lab


def test_lab_save_refuses_an_end_before_the_start(dana):
    lab = Lab(room="X", start=timezone.now(), end=timezone.now() - timedelta(1))

    with pytest.raises(ValidationError):
        services.lab_save(actor=dana, lab=lab)
    assert not Lab.objects.exists()


def test_lab_save_refuses_a_slot_overlapping_another_in_the_room(dana):
    other = LabFactory(room="CSSE 2.01")
    lab = LabFactory(room="CSSE 2.02", start=other.start + timedelta(minutes=5))
    lab.room = "CSSE 2.01"

    with pytest.raises(ValidationError, match=f"would overlap the slot {other}") as e:
        services.lab_save(actor=dana, lab=lab)
    assert e.value.code == "lab_overlap"
    assert Lab.objects.get(pk=lab.pk).room == "CSSE 2.02"


def test_labs_create_makes_back_to_back_slots_at_local_wall_time(db, settings):
    settings.TIME_ZONE = "Australia/Perth"

    series = services.labs_create(
        room="CSSE 2.01",
        day=date(2099, 5, 20),
        start=time(16, 5),
        end=time(16, 50),
        every=15,
    )

    starts = [timezone.localtime(lab.start) for lab in series.created]
    assert [f"{s:%H:%M}" for s in starts] == ["16:05", "16:20", "16:35"]
    assert all(lab.duration == timedelta(minutes=15) for lab in series.created)
    assert series.created[0].start.hour == 8  # stored in UTC (Perth is UTC+8)


def test_a_third_member_is_refused_by_team_size(db, settings):
    settings.PAIRUP_TEAM_SIZE = 2
    members = StudentFactory.create_batch(3)

    with pytest.raises(ValidationError):
        make_team(*members)


def test_students_cannot_change_the_booking_window(alice):
    window = BookingWindow.get()
    window.booking_open = False

    with pytest.raises(CoordinatorRequired, match="Only coordinators"):
        services.booking_window_update(
            actor=alice, window=window, fields=["booking_open"]
        )
    assert BookingWindow.get().booking_open is True


def test_removing_a_member_already_removed_is_refused_and_tells_nobody_again(
    alice, bob, dana, django_capture_on_commit_callbacks
):
    """Two coordinators removing the same member at once: the second finds
    them gone, says so, and tells nobody a second time."""
    from notifications.models import Notification

    make_team(alice, bob, lab=LabFactory())
    stale = Membership.objects.get(user=bob)  # the second coordinator's page
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_remove(actor=dana, membership=bob.membership)
    told = Notification.objects.count()

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError, match="no longer in"),
    ):
        services.membership_remove(actor=dana, membership=stale)

    assert Notification.objects.count() == told
    assert [m.user for m in Membership.objects.all()] == [alice]
