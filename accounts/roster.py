"""The roster import: students created or updated by number, row by row.

Read `roster_read` first (the whole file, so an unreadable one changes
nothing), then `student_import_row` for each row, each in its own
transaction so a bad row never costs the good ones.
"""

import csv
import io
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.validators import staff_word_in, validate_student_number
from pairup.text import has_control_character

User = get_user_model()

ROSTER_COLUMNS = (
    "student_number",
    "first_name",
    "last_name",
    "preferred_name",
    "email",
)
REQUIRED_COLUMNS = ("student_number", "first_name", "last_name", "email")
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class RosterUnreadable(Exception):
    """The file can't be read as a roster at all; nothing was imported."""


@dataclass
class RosterRow:
    line: int
    values: dict[str, str]


class _Lines:
    """The text's lines as csv.reader takes them, counted, with the lines of
    the record being read kept, so the rest of a record csv gave up on can be
    skipped."""

    def __init__(self, text: str):
        self._lines = iter(io.StringIO(text, newline=""))
        self.number = 0
        self.record: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        self.record.append(line)
        return line

    def skip_record(self) -> None:
        """Skip the lines left of the record being read: those of a quoted
        cell (which may hold line breaks) still open where csv stopped."""
        quoted = False
        for line in self.record:
            quoted = _still_quoted(line, quoted)
        while quoted:
            line = next(self._lines, None)
            if line is None:
                return
            self.number += 1
            quoted = _still_quoted(line, quoted)


def _still_quoted(line: str, quoted: bool) -> bool:
    """Whether csv's default dialect is inside a quoted cell at the end of
    `line`, given whether it was at its start."""
    at_cell_start = not quoted
    # A quote inside a quoted cell ends it, unless another follows ("").
    after_quote = False
    for char in line:
        if quoted:
            if char == '"':
                quoted, after_quote = False, True
        elif after_quote and char == '"':
            quoted, after_quote = True, False
        else:
            after_quote = False
            if char in ",\r\n":
                at_cell_start = True
            else:
                quoted = char == '"' and at_cell_start
                at_cell_start = False
    return quoted


# csv.field_size_limit() is process-wide, so it isn't raised for one file:
# csv gives up on the row, and the row is rejected.
def _too_long(error: csv.Error) -> bool:
    return "field larger than field limit" in str(error)


# Separators spreadsheets use instead of commas: Excel's "CSV" in locales
# where the comma is the decimal mark, and its "Text" files.
OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs"}


def _other_separator(header: list[str]) -> str | None:
    """The name of the separator a header row of one cell was written
    with, if splitting on it finds the required columns; else None."""
    if len(header) != 1:
        return None
    for char, name in OTHER_SEPARATORS.items():
        columns = [cell.strip().lower() for cell in header[0].split(char)]
        if all(column in columns for column in REQUIRED_COLUMNS):
            return name
    return None


def roster_read(data: bytes) -> list[RosterRow]:
    """Parse the roster's bytes (UTF-8, with or without a BOM) into rows.

    Raise RosterUnreadable for a file that is not UTF-8 text, not CSV, or has
    no usable header row. A row with a cell longer than csv's field limit is
    a row with an error, not an unreadable file.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RosterUnreadable(
            f"The file is not UTF-8 text (byte {error.start + 1} can't be read). "
            f"Save it as 'CSV UTF-8' and try again."
        ) from None
    if "\x00" in text:
        raise RosterUnreadable("The file is not a CSV text file (it has NUL bytes).")
    lines = _Lines(text)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            raise RosterUnreadable(
                "The file is empty: it needs the header row "
                + ", ".join(ROSTER_COLUMNS)
                + "."
            )
        columns = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        separator = _other_separator(header) if missing else None
        if separator is not None:
            raise RosterUnreadable(
                f"The columns are separated by {separator}, not commas. Save "
                "it as 'CSV UTF-8 (Comma delimited)' and try again."
            )
        if missing:
            raise RosterUnreadable(
                "The header row must name the columns "
                + ", ".join(ROSTER_COLUMNS)
                + f"; missing: {', '.join(missing)} (found: {', '.join(header)})."
            )
        twice = [name for name in ROSTER_COLUMNS if columns.count(name) > 1]
        if twice:
            raise RosterUnreadable(
                f"The header row names {' and '.join(twice)} more than once: keep one "
                "column of each name."
            )
        rows = []
        while True:
            lines.record = []
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                if not _too_long(error):
                    raise
                lines.skip_record()
                limit = csv.field_size_limit()
                values = {"_error": f"a cell is longer than {limit} characters"}
                rows.append(RosterRow(line=lines.number, values=values))
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                values = {
                    "_error": f"expected {len(columns)} fields, found {len(cells)}"
                }
            else:
                values = {
                    name: cell.strip()
                    for name, cell in zip(columns, cells, strict=True)
                    if name in ROSTER_COLUMNS
                }
            rows.append(RosterRow(line=lines.number, values=values))
    except csv.Error as error:
        raise RosterUnreadable(
            f"The file is not valid CSV (line {lines.number}: {error})."
        ) from None
    return rows


QUOTED_MAX = 40


def _quoted(value: str) -> str:
    """A cell as the report quotes it: its start, so a line stays readable
    whatever was pasted into the cell."""
    if len(value) > QUOTED_MAX:
        return repr(value[:QUOTED_MAX]) + "…"
    return repr(value)


@transaction.atomic
def student_import_row(
    *,
    student_number: str,
    first_name: str,
    last_name: str,
    email: str,
    preferred_name: str | None = "",
) -> tuple[User, str]:
    """Create or update the student `student_number` from a roster row.

    Never touches a password (new accounts get an unusable one) or a
    preferred name the student set; `preferred_name=None` (a roster without
    that column) leaves every preferred name as it is. Return the user and
    CREATED, UPDATED or UNCHANGED; raise ValidationError (one message per
    problem) for a row that can't be imported.
    """
    keep_preferred_name = preferred_name is None
    preferred_name = preferred_name or ""
    problems = []
    try:
        validate_student_number(student_number)
    except ValidationError:
        problems.append(f"{_quoted(student_number)} is not a valid student number")
    if not first_name:
        problems.append("first_name is empty")
    if not last_name:
        problems.append("last_name is empty")
    try:
        validate_email(email)
    except ValidationError:
        problems.append(f"{_quoted(email)} is not a valid email address")
    for field, value in (
        ("first_name", first_name),
        ("last_name", last_name),
        ("preferred_name", preferred_name),
    ):
        if has_control_character(value):
            problems.append(
                f"{field} {_quoted(value)} contains a control character "
                "(a line break, tab or the like)"
            )
        if (word := staff_word_in(value)) is not None:
            problems.append(
                f"{field} {_quoted(value)} contains {word!r}, a word kept for coordinators"
            )
    if problems:
        raise ValidationError(problems)

    user = User.objects.select_for_update().filter(username=student_number).first()
    if user is None:
        user = User(username=student_number, preferred_name=preferred_name)
        user.set_unusable_password()
        status = CREATED
    elif user.is_staff or user.is_superuser:
        raise ValidationError(f"{student_number} belongs to a staff account")
    else:
        status = UNCHANGED
    fields = {"first_name": first_name, "last_name": last_name, "email": email}
    if (
        status != CREATED
        and not user.preferred_name_by_student
        and not keep_preferred_name
    ):
        fields["preferred_name"] = preferred_name
    changed = [name for name, value in fields.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, fields[name])
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        raise ValidationError(
            [f"{name}: {' '.join(msgs)}" for name, msgs in error.message_dict.items()]
        ) from None
    if status == CREATED:
        user.save()
    elif changed:
        user.save(update_fields=changed)
        status = UPDATED
    return user, status
