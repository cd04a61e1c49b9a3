"""Rules 3, 6 and 9 (booking window, records) for lab_book and lab_release."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from projects import services
from projects.models import BookingRecord, Lab, Project
from projects.tests.factories import LabFactory, lab_starting_in, make_team
from projects.tests.helpers import set_window


def test_a_member_books_a_free_slot(alice, bob):
    project = make_team(alice, bob)
    lab = LabFactory()

    services.lab_book(user=bob, project=project, lab=lab)

    project.refresh_from_db()
    assert project.lab == lab


def test_a_slot_holds_one_team(alice, bob):
    lab = LabFactory()
    make_team(alice, lab=lab)
    other = make_team(bob)

    with pytest.raises(ValidationError) as error:
        services.lab_book(user=bob, project=other, lab=lab)

    assert error.value.messages == [services.SLOT_TAKEN]
    other.refresh_from_db()
    assert other.lab is None


def test_the_database_refuses_two_teams_in_one_slot(alice, bob):
    lab = LabFactory()
    make_team(alice, lab=lab)
    other = make_team(bob)

    other.lab = lab
    with pytest.raises(IntegrityError), transaction.atomic():
        other.save()


def test_a_team_holds_one_slot_and_booking_again_moves_it(alice):
    first, second = LabFactory(), LabFactory()
    project = make_team(alice, lab=first)

    services.lab_book(user=alice, project=project, lab=second)

    project.refresh_from_db()
    assert project.lab == second
    assert Project.objects.filter(lab=first).count() == 0
    move = BookingRecord.objects.get(action=BookingRecord.Action.MOVE)
    assert (move.from_lab, move.to_lab) == (first, second)


def test_a_failed_move_keeps_the_old_slot(alice, bob):
    mine, theirs = LabFactory(), LabFactory()
    project = make_team(alice, lab=mine)
    make_team(bob, lab=theirs)

    with pytest.raises(ValidationError):
        services.lab_book(user=alice, project=project, lab=theirs)

    project.refresh_from_db()
    assert project.lab == mine
    assert BookingRecord.objects.filter(action=BookingRecord.Action.MOVE).count() == 0


def test_booking_the_same_slot_again_is_refused(alice):
    lab = LabFactory()
    project = make_team(alice, lab=lab)

    with pytest.raises(ValidationError, match="already has this slot"):
        services.lab_book(user=alice, project=project, lab=lab)


def test_an_outsider_cannot_book_or_release(alice, charlie):
    project = make_team(alice, lab=LabFactory())

    with pytest.raises(ValidationError, match="not a member"):
        services.lab_book(user=charlie, project=project, lab=LabFactory())
    with pytest.raises(ValidationError, match="not a member"):
        services.lab_release(user=charlie, project=project)
    project.refresh_from_db()
    assert project.lab is not None


def test_release_frees_the_slot_and_is_recorded(alice, bob):
    lab = LabFactory()
    project = make_team(alice, bob, lab=lab)

    services.lab_release(user=bob, project=project)

    project.refresh_from_db()
    assert project.lab is None
    record = BookingRecord.objects.get(action=BookingRecord.Action.RELEASE)
    assert record.actor == bob
    assert record.from_lab == lab
    assert record.to_slot == ""


def test_releasing_without_a_slot_says_so(alice):
    with pytest.raises(ValidationError, match="no slot"):
        services.lab_release(user=alice, project=make_team(alice))


@pytest.mark.parametrize(
    "window",
    [
        {"booking_open": False},
        {"opens_at": timezone.now() + timedelta(days=1)},
        {"closes_at": timezone.now() - timedelta(minutes=1)},
    ],
)
def test_booking_closed_refuses_book_move_and_release(alice, bob, window):
    booked = make_team(alice, lab=LabFactory())
    unbooked = make_team(bob)
    set_window(**window)

    for call in (
        lambda: services.lab_book(user=bob, project=unbooked, lab=LabFactory()),
        lambda: services.lab_book(user=alice, project=booked, lab=LabFactory()),
        lambda: services.lab_release(user=alice, project=booked),
    ):
        with pytest.raises(ValidationError) as error:
            call()
        assert error.value.messages == ["Booking is closed."]
    assert Project.objects.get(pk=booked.pk).lab is not None
    assert Project.objects.get(pk=unbooked.pk).lab is None


def test_booking_is_open_between_opens_at_and_closes_at(alice):
    set_window(
        opens_at=timezone.now() - timedelta(hours=1),
        closes_at=timezone.now() + timedelta(hours=1),
    )
    project = make_team(alice)

    services.lab_book(user=alice, project=project, lab=LabFactory())

    assert Project.objects.get(pk=project.pk).lab is not None


def test_booking_closed_refuses_a_slot_on_create(alice):
    set_window(booking_open=False)

    with pytest.raises(ValidationError) as error:
        services.project_create(user=alice, description="x", lab=LabFactory())

    assert error.value.message_dict["lab"] == ["Booking is closed."]
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    ("lab_kwargs", "message"),
    [
        ({"minutes": -5}, "already started"),
        ({"minutes": 30}, "minutes before they start"),
        ({"minutes": 600, "is_open": False}, "not open for booking"),
    ],
)
def test_only_bookable_slots_can_be_booked(alice, lab_kwargs, message):
    lab = lab_starting_in(**lab_kwargs)
    project = make_team(alice)

    with pytest.raises(ValidationError, match=message):
        services.lab_book(user=alice, project=project, lab=lab)
    assert Project.objects.get(pk=project.pk).lab is None


def test_the_cutoff_follows_the_setting(alice, settings):
    settings.PAIRUP_BOOKING_CUTOFF_MINUTES = 10
    project = make_team(alice)

    services.lab_book(user=alice, project=project, lab=lab_starting_in(30))

    assert Project.objects.get(pk=project.pk).lab is not None


def test_the_slot_left_must_be_past_the_cutoff_too(alice):
    soon = lab_starting_in(30)
    project = make_team(alice)
    project.lab = soon  # booked earlier, now within the cut-off
    project.save()

    with pytest.raises(ValidationError, match="can no longer be changed"):
        services.lab_book(user=alice, project=project, lab=LabFactory())
    with pytest.raises(ValidationError, match="can no longer be changed"):
        services.lab_release(user=alice, project=project)
    assert Project.objects.get(pk=project.pk).lab == soon


def test_a_coordinator_is_not_bound_by_window_or_cutoff(alice, dana):
    soon, closed = lab_starting_in(30), lab_starting_in(600, is_open=False)
    project = make_team(alice)
    set_window(booking_open=False, team_changes_open=False)

    services.lab_book(user=dana, project=project, lab=soon, via="admin")
    services.lab_book(user=dana, project=project, lab=closed, via="admin")
    services.lab_release(user=dana, project=project, via="admin")

    assert Project.objects.get(pk=project.pk).lab is None
    assert list(BookingRecord.objects.order_by("pk").values_list("action", "via")) == [
        ("book", "admin"),
        ("move", "admin"),
        ("release", "admin"),
    ]


def test_a_coordinator_is_bound_by_integrity(alice, bob, dana):
    lab = LabFactory()
    make_team(alice, lab=lab)
    other = make_team(bob)

    with pytest.raises(ValidationError) as error:
        services.lab_book(user=dana, project=other, lab=lab, via="admin")

    assert error.value.messages == [services.SLOT_TAKEN]


def test_every_booking_change_is_recorded_with_who_when_and_path(alice, bob):
    first, second = LabFactory(), LabFactory()
    project = make_team(alice, bob)
    before = timezone.now()

    services.lab_book(user=alice, project=project, lab=first, via="api")
    services.lab_book(user=bob, project=project, lab=second)
    services.lab_release(user=alice, project=project)
    services.lab_book(user=alice, project=project, lab=first)
    services.project_dissolve(user=bob, project=project)

    records = list(BookingRecord.objects.order_by("pk"))
    assert [(r.action, r.via, r.actor_username) for r in records] == [
        ("book", "api", alice.username),
        ("move", "page", bob.username),
        ("release", "page", alice.username),
        ("book", "page", alice.username),
        ("dissolve", "page", bob.username),
    ]
    assert all(r.created_at >= before for r in records)
    assert all(r.members == f"{alice.username}, {bob.username}" for r in records)
    assert [r.from_lab for r in records] == [None, first, second, None, first]
    assert [r.to_lab for r in records] == [first, second, None, first, None]


def test_a_record_outlives_the_team_and_the_slot(alice, dana, settings):
    settings.TIME_ZONE = "Australia/Perth"
    lab = LabFactory(room="CSSE 2.01", start=datetime(2099, 5, 20, 8, 5, tzinfo=UTC))
    project = make_team(alice, lab=lab)
    services.project_dissolve(user=alice, project=project)
    lab.delete()
    alice.delete()

    record = BookingRecord.objects.get(action=BookingRecord.Action.BOOK)
    assert record.from_lab is None and record.to_lab is None and record.actor is None
    assert record.to_slot == "CSSE 2.01 2099-05-20 16:05-16:20"
    assert record.members == "20000001"
    assert record.actor_username == "20000001"


def test_times_are_stored_in_utc_and_shown_in_time_zone_across_dst(alice, settings):
    """Sydney is UTC+11 in January (daylight saving) and UTC+10 in July."""
    settings.TIME_ZONE = "Australia/Sydney"
    summer = LabFactory(start=datetime(2099, 1, 10, 5, 0, tzinfo=UTC))
    winter = LabFactory(start=datetime(2099, 7, 10, 5, 0, tzinfo=UTC))
    project = make_team(alice, lab=summer)
    services.lab_book(user=alice, project=project, lab=winter)

    move = BookingRecord.objects.get(action=BookingRecord.Action.MOVE)
    assert move.from_slot.endswith("2099-01-10 16:00-16:15")
    assert move.to_slot.endswith("2099-07-10 15:00-15:15")
    assert Lab.objects.get(pk=summer.pk).start.utcoffset() == timedelta(0)


def test_a_slot_deleted_meanwhile_is_a_clear_refusal(alice):
    lab = LabFactory()
    stale = Lab.objects.get(pk=lab.pk)
    lab.delete()
    project = make_team(alice)

    with pytest.raises(ValidationError, match="no longer exists"):
        services.lab_book(user=alice, project=project, lab=stale)


def test_a_broken_channel_layer_does_not_fail_a_committed_booking(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    def layer_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr("pairup.layer.get_channel_layer", layer_down)
    project = make_team(alice)
    lab = LabFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.lab_book(user=alice, project=project, lab=lab)

    assert Project.objects.get(pk=project.pk).lab == lab
