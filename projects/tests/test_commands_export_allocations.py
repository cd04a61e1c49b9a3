import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from projects.tests.factories import LabFactory, StudentFactory, make_team


def export(*args):
    out = io.StringIO()
    call_command("export_allocations", *args, stdout=out)
    return out.getvalue()


def test_lists_teams_members_and_local_slot_times(db, alice, bob, charlie, settings):
    settings.TIME_ZONE = "Australia/Perth"
    lab = LabFactory(room="CSSE 2.01", start=datetime(2099, 5, 20, 8, 5, tzinfo=UTC))
    booked = make_team(alice, bob, description="Robots", lab=lab)
    solo = make_team(charlie, description="Solo")

    rows = list(csv.reader(io.StringIO(export())))

    assert rows[0] == [
        "team",
        "description",
        "size",
        "member_1_number",
        "member_1_name",
        "member_1_email",
        "member_2_number",
        "member_2_name",
        "member_2_email",
        "room",
        "date",
        "start",
        "end",
        "time_zone",
        "booked_via",
    ]
    assert rows[1] == [
        str(booked.pk),
        "Robots",
        "2",
        "20000001",
        "Alice Able",
        alice.email,
        "20000002",
        "Bob Baker",
        bob.email,
        "CSSE 2.01",
        "2099-05-20",
        "16:05",
        "16:20",
        "Australia/Perth",
        "Page",
    ]
    assert (
        rows[2]
        == [
            str(solo.pk),
            "Solo",
            "1",
            "20000003",
            "Charlie Clark",
            charlie.email,
        ]
        + [""] * 9
    )


def test_the_booked_via_column_says_which_bookings_came_from_the_ballot(
    db, alice, bob, charlie, dana
):
    from projects import ballot_services, services
    from projects.tests.ballot_helpers import open_ballot

    first, second = LabFactory(), LabFactory()
    by_ballot = make_team(alice)
    by_admin = make_team(bob)
    moved = make_team(charlie, lab=LabFactory())
    open_ballot(actor=dana)
    ballot_services.ballot_save(user=alice, project=by_ballot, lab_ids=[first.pk])
    services.lab_book(user=dana, project=by_admin, lab=second, via="admin")
    ballot_services.ballot_run(actor=dana)
    services.lab_book(user=dana, project=moved, lab=LabFactory(), via="command")

    via = {row[0]: row[-1] for row in csv.reader(io.StringIO(export()))}

    assert via[str(by_ballot.pk)] == "Ballot"
    assert via[str(by_admin.pk)] == "Admin"
    assert via[str(moved.pk)] == "Command"  # the latest record to its slot


def test_cells_a_spreadsheet_would_run_are_neutralised(db):
    student = StudentFactory(first_name="=HYPERLINK(1)", last_name="@evil")
    make_team(student, description="-2+3")

    row = list(csv.reader(io.StringIO(export())))[1]

    assert row[1] == "'-2+3"
    assert row[4] == "'=HYPERLINK(1) @evil"


def test_output_file_starts_with_a_bom(db, alice, tmp_path):
    make_team(alice, description="Robots")
    target = tmp_path / "allocations.csv"

    out = export("--output", str(target))

    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfteam,description")
    assert "Wrote 1 team(s)" in out


def test_an_unwritable_output_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Can't write"):
        export("--output", str(tmp_path / "missing" / "x.csv"))


def test_a_team_larger_than_the_team_size_now_keeps_every_member(
    db, alice, bob, charlie, settings
):
    # PAIRUP_TEAM_SIZE lowered from 3 to 2 after a team of three formed:
    # before, the file had columns for two members and charlie was dropped
    # from it, although the team's size said 3.
    settings.PAIRUP_TEAM_SIZE = 3
    make_team(alice, bob, charlie, description="Three")
    settings.PAIRUP_TEAM_SIZE = 2

    header, row = list(csv.reader(io.StringIO(export())))

    assert header[9:12] == ["member_3_number", "member_3_name", "member_3_email"]
    assert len(row) == len(header)
    assert [row[3], row[6], row[9]] == [alice.username, bob.username, charlie.username]
    assert row[2] == "3"


def test_the_members_columns_follow_the_team_size_when_teams_are_smaller(
    db, alice, settings
):
    settings.PAIRUP_TEAM_SIZE = 3
    make_team(alice, description="Solo")

    header, row = list(csv.reader(io.StringIO(export())))

    assert "member_3_email" in header
    assert len(row) == len(header)


def test_a_write_that_fails_halfway_leaves_the_previous_file_whole(
    db, alice, tmp_path, monkeypatch
):
    # The disk fills up (or Ctrl-C) halfway through writing: before, the
    # previous allocations.csv was already cut short and held half a file.
    import builtins
    import errno

    target = tmp_path / "allocations.csv"
    target.write_text("the previous export\n", encoding="utf-8")
    make_team(alice, description="A team")
    real_open = builtins.open

    class HalfWritten:
        def __init__(self, file):
            self.file = file

        def write(self, text):
            self.file.write(text[: len(text) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    def failing_open(file, mode="r", *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        in_tmp = str(file).startswith(str(tmp_path)) or isinstance(file, int)
        return HalfWritten(opened) if "w" in mode and in_tmp else opened

    monkeypatch.setattr(builtins, "open", failing_open)
    monkeypatch.setattr(io, "open", failing_open)

    with pytest.raises(CommandError, match="No space left on device"):
        export("--output", str(target))

    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert [path.name for path in tmp_path.iterdir()] == ["allocations.csv"]


def test_an_empty_output_name_is_an_error_not_stdout(db, alice):
    # `--output "$FILE"` with FILE unset: before, the CSV went to stdout
    # with exit 0, and the script went on as if the file were written.
    make_team(alice)

    with pytest.raises(CommandError, match="--output needs a file name"):
        export("--output", "")


def test_output_through_a_symlink_updates_the_file_it_points_to(db, alice, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "allocations.csv"
    link.symlink_to(target)
    make_team(alice)

    export("--output", str(link))

    assert link.is_symlink()
    assert target.read_text(encoding="utf-8-sig").startswith("team,")


def test_a_writable_file_in_a_folder_it_cannot_write_is_still_written(
    db, alice, tmp_path, monkeypatch
):
    """The whole-or-nothing write needs a temporary file beside the target;
    where the folder refuses one (a shared exports folder, say), the file
    the coordinator may write is written in place, as it always was."""
    import tempfile

    target = tmp_path / "allocations.csv"
    target.write_text("old\n", encoding="utf-8")
    make_team(alice, description="A team")

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    export("--output", str(target))

    assert target.read_text(encoding="utf-8-sig").startswith("team,")
    assert "A team" in target.read_text(encoding="utf-8-sig")
