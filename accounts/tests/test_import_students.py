"""import_students: create or update by number, row by row, with a report."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.services import profile_update
from accounts.tests.factories import StudentFactory

User = get_user_model()
HEADER = "student_number,first_name,last_name,preferred_name,email\n"
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def roster(tmp_path):
    def write(body: str, *, header: str = HEADER, bom: bool = False) -> str:
        path = tmp_path / "roster.csv"
        data = (header + body).encode("utf-8")
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
        return str(path)

    return write


def run(path):
    out = io.StringIO()
    call_command("import_students", path, stdout=out)
    return out.getvalue()


def run_rejected(path):
    out = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_students", path, stdout=out)
    return out.getvalue(), error.value


@pytest.mark.parametrize("bom", [False, True])
def test_new_students_get_accounts_with_unusable_passwords(db, roster, bom):
    path = roster(
        "20000010,Ann,Lee,,ann@example.edu\n20000011,Bo,Wu,Bobby,bo@example.edu\n",
        bom=bom,
    )

    out = run(path)

    ann = User.objects.get(username="20000010")
    assert (ann.first_name, ann.last_name, ann.email) == (
        "Ann",
        "Lee",
        "ann@example.edu",
    )
    assert not ann.has_usable_password()
    assert ann.is_student
    assert User.objects.get(username="20000011").preferred_name == "Bobby"
    assert "2 created, 0 updated, 0 unchanged, 0 rejected." in out


def test_existing_students_are_updated_but_keep_their_password(db, roster):
    student = StudentFactory(username="20000010", first_name="Old", email="o@x.edu")
    password = student.password

    out = run(roster("20000010,Ann,Lee,Annie,ann@example.edu\n"))

    student.refresh_from_db()
    assert (student.first_name, student.email) == ("Ann", "ann@example.edu")
    assert student.preferred_name == "Annie"
    assert student.password == password
    assert student.check_password("correct-horse-battery-staple")
    assert "0 created, 1 updated" in out


def test_a_preferred_name_the_student_set_is_never_overwritten(db, roster):
    student = StudentFactory(username="20000010")
    profile_update(
        user=student,
        preferred_name="Nan",
        email=student.email,
        looking_for_partner=False,
        please_assign_me=False,
    )

    run(roster("20000010,Ann,Lee,Annie,ann@example.edu\n"))

    student.refresh_from_db()
    assert student.preferred_name == "Nan"
    assert student.first_name == "Ann"


def test_saving_the_profile_without_changing_the_preferred_name_keeps_it_importable(
    db, roster
):
    student = StudentFactory(username="20000010", preferred_name="")
    profile_update(
        user=student,
        preferred_name="",
        email=student.email,
        looking_for_partner=True,
        please_assign_me=False,
    )
    student.refresh_from_db()
    assert student.preferred_name_by_student is False

    run(roster("20000010,Ann,Lee,Annie,ann@example.edu\n"))

    student.refresh_from_db()
    assert student.preferred_name == "Annie"
    assert student.looking_for_partner is True


def test_an_unchanged_row_is_reported_as_unchanged(db, roster):
    path = roster("20000010,Ann,Lee,,ann@example.edu\n")
    run(path)

    out = run(path)

    assert "0 created, 0 updated, 1 unchanged, 0 rejected." in out


def test_bad_rows_are_rejected_with_line_and_reason_and_good_ones_kept(db, roster):
    path = roster(
        "20000010,Ann,Lee,,ann@example.edu\n"
        "abc,Bad,Number,,bad@example.edu\n"
        "20000012,,Nofirst,,nf@example.edu\n"
        "20000013,Eve,Mail,,not-an-email\n"
        "20000010,Ann,Again,,ann2@example.edu\n"
        "20000014,Too,Many,,x@example.edu,extra\n"
        "20000015,Zed,Last,,zed@example.edu\n"
    )

    out, error = run_rejected(path)

    assert error.returncode == 1
    assert "Line 3: rejected: 'abc' is not a valid student number." in out
    assert "Line 4: rejected: first_name is empty." in out
    assert "Line 5: rejected: 'not-an-email' is not a valid email address." in out
    assert "Line 6: rejected: student number 20000010 already appears on line 2." in out
    assert "Line 7: rejected: expected 5 fields, found 6." in out
    assert "2 created, 0 updated, 0 unchanged, 5 rejected." in out
    assert set(User.objects.values_list("username", flat=True)) == {
        "20000010",
        "20000015",
    }
    assert User.objects.get(username="20000010").last_name == "Lee"


def test_a_staff_account_is_never_touched(db, roster, dana):
    out, error = run_rejected(roster("dana,Dana,Changed,,d@example.edu\n"))

    assert error.returncode == 1
    dana.refresh_from_db()
    assert dana.last_name == "Dean"
    assert "rejected" in out


def test_a_student_number_following_the_setting(db, roster, settings):
    settings.PAIRUP_STUDENT_NUMBER_REGEX = r"^s[0-9]{7}$"

    run(roster("s1234567,Ann,Lee,,ann@example.edu\n"))

    assert User.objects.filter(username="s1234567").exists()


def test_a_field_too_long_is_a_rejection_not_a_crash(db, roster):
    out, error = run_rejected(roster(f"20000010,{'A' * 200},Lee,,a@example.edu\n"))

    assert error.returncode == 1
    assert "Line 2: rejected: first_name:" in out
    assert not User.objects.exists()


def test_a_rejection_quotes_a_long_value_shortened(db, roster):
    """A report line a coordinator can read: a 100,000-character "student
    number" or name is quoted by its start, not in full."""
    long_number = "9" * 100_000
    long_name = "Ann\t" + "B" * 100_000
    out, error = run_rejected(
        roster(
            f"{long_number},Ann,Lee,,ann@example.edu\n"
            f'20000011,"{long_name}",Wu,,bo@example.edu\n'
        )
    )

    assert error.returncode == 1
    [line2] = [line for line in out.splitlines() if line.startswith("Line 2:")]
    [line3] = [line for line in out.splitlines() if line.startswith("Line 3:")]
    assert "is not a valid student number" in line2
    assert "'9999999999" in line2 and "…" in line2
    assert "contains a control character" in line3 and "…" in line3
    assert len(line2) < 300 and len(line3) < 600
    assert not User.objects.exists()


def test_a_cell_past_the_csv_field_limit_rejects_its_row_only(db, roster):
    huge = "A" * 131_073  # one past csv.field_size_limit()'s default
    path = roster(
        "20000010,Ann,Lee,,ann@example.edu\n"
        f"20000011,{huge},Wu,,bo@example.edu\n"
        "20000012,Cy,Ng,,cy@example.edu\n"
    )

    out, error = run_rejected(path)

    assert error.returncode == 1
    assert "Line 3: rejected: a cell is longer than 131072 characters." in out
    assert huge not in out
    assert "2 created, 0 updated, 0 unchanged, 1 rejected." in out
    assert set(User.objects.values_list("username", flat=True)) == {
        "20000010",
        "20000012",
    }


def test_a_quoted_cell_past_the_limit_over_several_lines_is_one_rejection(db, roster):
    """The rest of the quoted cell, on the lines after the one csv gave up
    on, belongs to the rejected row: neither rows of their own nor a
    reason to lose the next row."""
    huge = "A" * 131_073
    path = roster(
        f'20000010,"{huge}\nstill, the \n""same"" cell",Lee,,a@example.edu\n'
        "20000011,Bo,Wu,,bo@example.edu\n"
    )

    out, error = run_rejected(path)

    assert error.returncode == 1
    assert "Line 4: rejected: a cell is longer than 131072 characters." in out
    assert "1 created, 0 updated, 0 unchanged, 1 rejected." in out
    assert list(User.objects.values_list("username", flat=True)) == ["20000011"]


def test_lines_are_counted_on_past_a_rejected_quoted_cell(db, roster):
    huge = "A" * 131_073
    path = roster(
        f'20000010,"{huge}\n",Lee,,a@example.edu\nbad,Bo,Wu,,bo@example.edu\n'
    )

    out, _ = run_rejected(path)

    assert "Line 3: rejected: a cell is longer than 131072 characters." in out
    assert "Line 4: rejected: 'bad' is not a valid student number." in out


def test_column_order_and_case_do_not_matter_and_blank_lines_are_skipped(db, roster):
    path = roster(
        "Lee,Ann,ann@example.edu,20000010\n\n",
        header="Last_Name, First_Name ,EMAIL,student_number\n",
    )

    run(path)

    assert User.objects.get(username="20000010").last_name == "Lee"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"\xff\xfe\x00s\x00t", "not UTF-8"),
        (b"number,name\n1,2\n", "missing: student_number, first_name"),
        (b"student_number,first_name,last_name,email\n1,\x00,3,4\n", "NUL"),
    ],
)
def test_an_unreadable_file_exits_2_and_imports_nothing(db, tmp_path, data, message):
    path = tmp_path / "roster.csv"
    path.write_bytes(data)

    _, error = run_rejected(str(path))

    assert error.returncode == 2
    assert message in str(error)
    assert not User.objects.exists()


def test_a_missing_file_exits_2(db, tmp_path):
    _, error = run_rejected(str(tmp_path / "nope.csv"))

    assert error.returncode == 2
    assert "No such file" in str(error)


def test_from_the_shell_a_bad_file_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"\xff\xfe not utf-8")

    result = subprocess.run(
        [sys.executable, "manage.py", "import_students", str(path)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_by_semicolons_or_tabs_says_so(db, roster, separator, name):
    # Excel in many locales saves "CSV" with semicolons; "Text" with tabs.
    # Before, the message said every column was missing and then listed
    # them all as found, in one cell.
    header = separator.join(HEADER.strip().split(",")) + "\n"
    path = roster("20000001;Ann;Lee;;ann@example.edu\n", header=header)

    _, error = run_rejected(path)

    assert error.returncode == 2
    assert f"separated by {name}, not commas" in str(error)
    assert "CSV UTF-8 (Comma delimited)" in str(error)
    assert "missing" not in str(error)
    assert not User.objects.exists()


def test_a_column_named_twice_is_refused_not_guessed(db, roster):
    # Before, a header naming email twice (say "Email" for the university
    # address and "email" for a personal one) imported the last column's
    # address without a word.
    header = "student_number,first_name,last_name,Email,email\n"
    path = roster("20000001,Ann,Lee,ann@uni.edu,ann@home.example\n", header=header)

    _, error = run_rejected(path)

    assert error.returncode == 2
    assert "The header row names email more than once" in str(error)
    assert not User.objects.exists()


def test_when_every_row_is_rejected_it_does_not_say_others_were_imported(db, roster):
    # Before: "2 row(s) rejected; the other rows were imported." with none.
    path = roster("abc,Bad,Number,,bad@example.edu\n20000012,,Nofirst,,n@example.edu\n")

    _, error = run_rejected(path)

    assert error.returncode == 1
    assert str(error) == "All 2 row(s) were rejected; nothing was imported."
    assert not User.objects.exists()


def test_when_some_rows_are_rejected_it_says_the_others_were_imported(db, roster):
    path = roster("abc,Bad,Number,,bad@example.edu\n20000010,Ann,Lee,,a@example.edu\n")

    _, error = run_rejected(path)

    assert str(error) == "1 row(s) rejected; the other rows were imported."


def test_ctrl_c_midway_says_what_was_imported_without_a_traceback(
    db, roster, monkeypatch
):
    # Before, Ctrl-C printed a KeyboardInterrupt traceback and no word of
    # which rows had been imported (each row commits on its own).
    from accounts.management.commands import import_students

    real = import_students.student_import_row
    calls = []

    def interrupted_on_the_second_row(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(**kwargs)

    monkeypatch.setattr(
        import_students, "student_import_row", interrupted_on_the_second_row
    )
    path = roster(
        "20000010,Ann,Lee,,ann@example.edu\n"
        "20000011,Bob,Ng,,bob@example.edu\n"
        "20000012,Cy,Oh,,cy@example.edu\n"
    )

    out, error = run_rejected(path)

    assert error.returncode == 130
    assert str(error) == (
        "Interrupted at line 3: the rows before it were imported, none after it "
        "(that line itself may have been). Run the same file again to finish: "
        "rows already in show as unchanged."
    )
    assert "1 created, 0 updated, 0 unchanged, 0 rejected." in out
    assert list(User.objects.values_list("username", flat=True)) == ["20000010"]


def test_a_roster_without_the_preferred_name_column_keeps_preferred_names(db, roster):
    # preferred_name is an optional column. Before, importing a roster
    # without it erased every preferred name an earlier roster had given.
    run(roster("20000010,Robert,Baker,Bob,bob@example.edu\n"))

    out = run(
        roster(
            "20000010,Robert,Baker,bob@example.edu\n20000011,Ann,Lee,ann@example.edu\n",
            header="student_number,first_name,last_name,email\n",
        )
    )

    assert User.objects.get(username="20000010").preferred_name == "Bob"
    assert User.objects.get(username="20000011").preferred_name == ""
    assert "1 created, 0 updated, 1 unchanged, 0 rejected." in out
