import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from projects.models import Lab
from projects.tests.factories import LabFactory, make_team


def create_labs(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_labs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def starts_utc(room="CSSE 2.01"):
    return [lab.start for lab in Lab.objects.filter(room=room).order_by("start")]


DEFAULT = ["--room", "CSSE 2.01", "--date", "2026-05-20", "--start", "16:05"]


def test_slots_every_five_minutes_at_local_wall_time(db, settings):
    settings.TIME_ZONE = "Australia/Perth"

    with time_machine.travel(datetime(2026, 5, 1, tzinfo=UTC), tick=False):
        out, err = create_labs(*DEFAULT, "--end", "16:50", "--every", "5")

    starts = starts_utc()
    assert len(starts) == 9
    assert starts[0] == datetime(2026, 5, 20, 8, 5, tzinfo=UTC)  # 16:05 in Perth
    assert starts[-1] == datetime(2026, 5, 20, 8, 45, tzinfo=UTC)
    assert all(lab.duration == timedelta(minutes=5) for lab in Lab.objects.all())
    assert "9 slot(s) created" in out
    assert err == ""


def test_duration_sets_the_slot_length(db, settings):
    settings.TIME_ZONE = "Australia/Perth"

    create_labs(*DEFAULT, "--end", "17:05", "--duration", "20")

    labs = list(Lab.objects.order_by("start"))
    assert len(labs) == 3
    assert {lab.duration for lab in labs} == {timedelta(minutes=20)}


def test_every_and_duration_leave_gaps_between_slots(db, settings):
    settings.TIME_ZONE = "Australia/Perth"

    create_labs(*DEFAULT, "--end", "17:05", "--every", "20", "--duration", "15")

    labs = list(Lab.objects.order_by("start"))
    assert [lab.start.minute for lab in labs] == [5, 25, 45]
    assert {lab.duration for lab in labs} == {timedelta(minutes=15)}


def test_rerunning_creates_no_duplicates(db):
    create_labs(*DEFAULT, "--end", "16:50", "--every", "15")

    out, _ = create_labs(*DEFAULT, "--end", "16:50", "--every", "15")

    assert Lab.objects.count() == 3
    assert "0 slot(s) created, 3 already there" in out


def test_an_overlapping_slot_in_the_same_room_is_skipped_with_a_warning(db, settings):
    settings.TIME_ZONE = "Australia/Perth"
    create_labs(*DEFAULT, "--end", "16:35", "--every", "15")

    out, err = create_labs(
        "--room", "CSSE 2.01", "--date", "2026-05-20", "--start", "16:00",
        "--end", "16:40", "--every", "10",
    )  # fmt: skip

    assert "Warning: Skipped CSSE 2.01 2026-05-20 16:00: it would overlap" in err
    assert Lab.objects.count() == 2  # every new slot touches one of the two
    assert "0 slot(s) created" in out


def test_other_rooms_do_not_overlap(db):
    create_labs(*DEFAULT, "--end", "16:35", "--every", "15")

    create_labs(
        "--room", "CSSE 2.02", "--date", "2026-05-20", "--start", "16:05",
        "--end", "16:35", "--every", "15",
    )  # fmt: skip

    assert Lab.objects.count() == 4


def test_a_local_time_in_the_dst_gap_is_skipped_with_a_warning(db, settings):
    """Sydney's clocks jump from 02:00 to 03:00 on 4 October 2026."""
    settings.TIME_ZONE = "Australia/Sydney"

    out, err = create_labs(
        "--room", "Lab", "--date", "2026-10-04", "--start", "01:00",
        "--end", "04:00", "--every", "30",
    )  # fmt: skip

    assert "02:00: that local time does not exist" in err
    assert "02:30: that local time does not exist" in err
    starts = starts_utc("Lab")
    # 01:00, 01:30 AEST (UTC+10); 03:00, 03:30 AEDT (UTC+11)
    assert starts == [
        datetime(2026, 10, 3, 15, 0, tzinfo=UTC),
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
        datetime(2026, 10, 3, 16, 0, tzinfo=UTC),
        datetime(2026, 10, 3, 16, 30, tzinfo=UTC),
    ]
    assert "4 slot(s) created" in out


def test_an_ambiguous_local_time_takes_its_first_occurrence(db, settings):
    """Sydney's clocks go back from 03:00 to 02:00 on 5 April 2026."""
    settings.TIME_ZONE = "Australia/Sydney"

    create_labs(
        "--room", "Lab", "--date", "2026-04-05", "--start", "02:00",
        "--end", "02:30", "--every", "30",
    )  # fmt: skip

    # 02:00 the first time round is still daylight time (UTC+11).
    assert starts_utc("Lab") == [datetime(2026, 4, 4, 15, 0, tzinfo=UTC)]


def test_europe_london_gap_and_overlap(db, settings):
    """London's clocks jump from 01:00 to 02:00 on 29 March 2026."""
    settings.TIME_ZONE = "Europe/London"

    _, err = create_labs(
        "--room", "Lab", "--date", "2026-03-29", "--start", "00:30",
        "--end", "02:30", "--every", "30",
    )  # fmt: skip

    assert "01:00: that local time does not exist in Europe/London" in err
    assert starts_utc("Lab") == [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:00 BST
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--end", "16:50"], "Give --every or --duration"),
        (["--end", "16:50", "--every", "0"], "must be positive"),
        (["--end", "16:50", "--every", "-5"], "must be positive"),
        (["--end", "16:00", "--every", "5"], "end time must be after"),
        (["--end", "4:50pm", "--every", "5"], "--end '4:50pm' is not valid"),
        (["--end", "16:50", "--every", "10", "--duration", "15"], "would overlap"),
        (["--end", "16:50", "--every", str(10**13)], "at most 1440 minutes"),
        (["--end", "16:50", "--every", "1441"], "at most 1440 minutes"),
        (["--end", "16:50", "--every", "5", "--duration", "-5"], "must be positive"),
    ],
)
def test_bad_input_is_a_clear_command_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        create_labs(*DEFAULT, *args)
    assert not Lab.objects.exists()


def test_a_bad_date_or_empty_room_is_a_clear_command_error(db):
    with pytest.raises(CommandError, match="--date '2026-02-30' is not valid"):
        create_labs(
            "--room", "X", "--date", "2026-02-30", "--start", "10:00",
            "--end", "11:00", "--every", "15",
        )  # fmt: skip
    with pytest.raises(CommandError, match="room"):
        create_labs(
            "--room", "  ", "--date", "2026-02-20", "--start", "10:00",
            "--end", "11:00", "--every", "15",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("day", "start"),
    [("0001-01-01", "00:05"), ("1999-12-31", "10:00"), ("9999-12-31", "23:00")],
)
def test_a_date_outside_2000_to_2999_is_a_clear_command_error(db, day, start):
    with pytest.raises(CommandError, match="between 2000-01-01 and 2999-12-31"):
        create_labs(
            "--room", "X", "--date", day, "--start", start,
            "--end", "23:59", "--every", "5",
        )  # fmt: skip
    assert not Lab.objects.exists()


def test_an_interval_of_a_whole_day_is_allowed_up_to_the_last_day(db, settings):
    settings.TIME_ZONE = "UTC"

    create_labs(
        "--room", "X", "--date", "2999-12-31", "--start", "00:00",
        "--end", "23:59", "--every", "1440", "--duration", "60",
    )  # fmt: skip

    assert starts_utc("X") == [datetime(2999, 12, 31, tzinfo=UTC)]


def test_closed_slots_can_be_created(db):
    create_labs(*DEFAULT, "--end", "16:50", "--every", "15", "--closed")

    assert not Lab.objects.filter(is_open=True).exists()


def test_existing_slots_keep_their_team(db, alice):
    lab = LabFactory(room="CSSE 2.01")
    project = make_team(alice, lab=lab)

    create_labs(
        "--room", "CSSE 2.01",
        "--date", f"{timezone.localtime(lab.start):%Y-%m-%d}",
        "--start", "00:00", "--end", "23:59", "--every", "15",
    )  # fmt: skip

    project.refresh_from_db()
    assert project.lab == lab
    assert Lab.objects.filter(room="CSSE 2.01", start=lab.start).count() == 1


def test_a_slot_at_the_same_start_but_another_length_is_not_already_there(db, settings):
    # Before, a 20-minute slot asked for where a 15-minute one starts was
    # counted "already there", so the coordinator believed the room had
    # 20-minute slots.
    settings.TIME_ZONE = "Australia/Perth"
    create_labs(*DEFAULT, "--end", "16:20", "--every", "15")

    out, err = create_labs(*DEFAULT, "--end", "16:25", "--every", "20")

    assert (
        "Warning: Skipped CSSE 2.01 2026-05-20 16:05: the slot "
        "CSSE 2.01, Wed 20 May 2026 16:05-16:20 starts then (15 minutes, not 20)."
    ) in err
    assert "0 slot(s) created, 0 already there, 1 skipped" in out
    assert [lab.duration for lab in Lab.objects.all()] == [timedelta(minutes=15)]


def test_slots_created_in_the_past_are_created_with_a_warning(db, settings):
    # Before, a mistyped year made slots nobody could book, silently.
    settings.TIME_ZONE = "Australia/Perth"

    with time_machine.travel(datetime(2026, 5, 20, 8, 22, tzinfo=UTC), tick=False):
        out, err = create_labs(*DEFAULT, "--end", "16:50", "--every", "15")

    assert Lab.objects.count() == 3  # 16:05, 16:20, 16:35
    assert "3 slot(s) created" in out
    assert err == (
        "Warning: 2 of the slots created have already started (it is "
        "2026-05-20 16:22 in Australia/Perth): nobody can book them. Check "
        "--date; delete them in the admin if they were a mistake.\n"
    )


def test_rerunning_for_a_past_day_warns_only_about_new_slots(db, settings):
    settings.TIME_ZONE = "Australia/Perth"
    with time_machine.travel(datetime(2026, 5, 1, tzinfo=UTC), tick=False):
        create_labs(*DEFAULT, "--end", "16:50", "--every", "15")

    with time_machine.travel(datetime(2026, 6, 1, tzinfo=UTC), tick=False):
        _, err = create_labs(*DEFAULT, "--end", "16:50", "--every", "15")

    assert err == ""


@pytest.mark.parametrize("room", ["CSSE\n2.01", "CSSE\t2.01", "CSSE\x1b2.01"])
def test_a_room_name_with_a_line_break_or_tab_is_refused(db, room):
    # Before, "CSSE\t2.01" pasted from two spreadsheet cells (or a line
    # break from a script) became a room on the board, in every CSV and in
    # students' calendars.
    with pytest.raises(CommandError, match="one line, without tabs"):
        create_labs(
            "--room", room, "--date", "2026-05-20", "--start", "16:05",
            "--end", "16:50", "--every", "15",
        )  # fmt: skip
    assert not Lab.objects.exists()


def test_a_range_too_short_for_one_slot_is_a_clear_error(db):
    # Before: "0 slot(s) created, 0 already there, 0 skipped", exit 0.
    with pytest.raises(
        CommandError,
        match="A slot of 15 minutes doesn't fit between 16:05 and 16:15",
    ):
        create_labs(*DEFAULT, "--end", "16:15", "--every", "15")
    assert not Lab.objects.exists()
