"""Every CSV file a coordinator gets, with one header each.

The coordinator page's downloads, the JSON API's `.csv` endpoints, the
admin's "Download ... as CSV" actions and `manage.py export_allocations` all
build their files here, so a file has the same columns wherever it comes
from. Four kinds of file:

- students: one row per student, their flags, their team and its slot;
- teams: one row per team, its members and its slot (`export_allocations`
  is every team; "teams without a slot" the unbooked ones);
- labs: one row per slot;
- booking records: one row per booking change.

Headers are snake_case, like the roster `import_students` reads (a students
file can be imported again). Times are local (`TIME_ZONE`), named in a
`time_zone` column. Every cell goes through `csv_utils` (formula cells
neutralised; downloads start with a UTF-8 BOM).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone

from projects import selectors
from projects.csv_utils import csv_response, write_rows
from projects.models import BookingRecord, Lab, Project

LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class Export:
    """A CSV file: its download name, its header and its rows."""

    filename: str
    header: list[str]
    rows: list[list]

    def response(self) -> HttpResponse:
        """The file as a download (a UTF-8 BOM first)."""
        return csv_response(self.filename, self.header, self.rows)

    def write(self, file) -> None:
        """Write the header and rows to an open text file (no BOM)."""
        write_rows(file, self.header, self.rows)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _slot_cells(lab: Lab | None) -> list[str]:
    """room, date, start, end, time_zone: local times; blank without a slot."""
    if lab is None:
        return ["", "", "", "", ""]
    start, end = timezone.localtime(lab.start), timezone.localtime(lab.end)
    return [
        lab.room,
        f"{start:%Y-%m-%d}",
        f"{start:%H:%M}",
        f"{end:%H:%M}",
        settings.TIME_ZONE,
    ]


SLOT_HEADER = ["room", "date", "start", "end", "time_zone"]


def _full_name(user) -> str:
    return user.get_full_name() or user.display_name


# Students -----------------------------------------------------------------

STUDENT_HEADER = [
    # The roster's own columns (`import_students` reads these five).
    "student_number",
    "first_name",
    "last_name",
    "preferred_name",
    "email",
    "looking_for_partner",
    "please_assign_me",
    "team",
    *SLOT_HEADER,
]


def students(users: Iterable, *, filename: str = "students.csv") -> Export:
    """One row per student: the roster's columns, the flags, the team's
    number and its slot.

    `users` should have `membership__project__lab` preloaded
    (`selectors.roster_students` and `selectors.free_students` do).
    """
    rows = []
    for user in users:
        membership = getattr(user, "membership", None)
        project = membership.project if membership is not None else None
        rows.append(
            [
                user.username,
                user.first_name,
                user.last_name,
                user.preferred_name,
                user.email,
                _yes(user.looking_for_partner),
                _yes(user.please_assign_me),
                project.pk if project is not None else "",
                *_slot_cells(project.lab if project is not None else None),
            ]
        )
    return Export(filename, STUDENT_HEADER, rows)


def students_without_project() -> Export:
    """Students without a project, by last name: who is still to be paired."""
    return students(selectors.free_students(), filename="students-without-project.csv")


# Teams --------------------------------------------------------------------


def team_header(size: int | None = None) -> list[str]:
    """The teams file's header, with member columns for `size` members
    (default PAIRUP_TEAM_SIZE)."""
    header = ["team", "description", "size"]
    for n in range(1, (size or settings.PAIRUP_TEAM_SIZE) + 1):
        header += [f"member_{n}_number", f"member_{n}_name", f"member_{n}_email"]
    return [*header, *SLOT_HEADER, "booked_via"]


def booked_via(projects: list[Project]) -> dict[int, str]:
    """How each booked team's current slot was booked: the path of the
    latest booking record that put it there ("Page", "API", "Admin",
    "Command", and any path added later). One query.

    A slot set without a record (data loaded by hand) has no entry. A
    coordinator changing the slot's own time or room (a move from the slot
    to itself) doesn't change how the team got it.
    """
    current = {p.pk: p.lab_id for p in projects if p.lab_id is not None}
    if not current:
        return {}
    records = (
        BookingRecord.objects.filter(
            project_number__in=list(current),
            action__in=[BookingRecord.Action.BOOK, BookingRecord.Action.MOVE],
        )
        .order_by("created_at", "pk")
        .values_list("project_number", "from_lab_id", "to_lab_id", "via")
    )
    labels = dict(BookingRecord.Via.choices)
    paths: dict[int, str] = {}
    for project_number, from_lab_id, to_lab_id, via in records:
        if from_lab_id == to_lab_id and project_number in paths:
            continue
        if current.get(project_number) == to_lab_id:
            paths[project_number] = labels.get(via, via)
    return paths


def teams(projects: Iterable[Project], *, filename: str) -> Export:
    """One row per team: its number, description and size, each member's
    number, name and email (columns for PAIRUP_TEAM_SIZE members, or for
    the largest team if the setting was lowered after it formed: no member
    is left out), its slot and how the slot was booked (`booked_via`).

    `projects` should have `lab` and the members preloaded
    (`selectors.allocation_list` does).
    """
    projects = list(projects)
    members_of = {project.pk: project.member_list() for project in projects}
    size = max(
        [settings.PAIRUP_TEAM_SIZE, *(len(members) for members in members_of.values())]
    )
    via = booked_via(projects)
    rows = []
    for project in projects:
        members = members_of[project.pk]
        row = [project.pk, project.description, len(members)]
        for member in members:
            row += [member.username, _full_name(member), member.email]
        row += ["", "", ""] * (size - len(members))
        row += _slot_cells(project.lab)
        row.append(via.get(project.pk, ""))
        rows.append(row)
    return Export(filename, team_header(size), rows)


def allocations() -> Export:
    """Every team: booked ones by slot time, then unbooked ones by number."""
    return teams(selectors.allocation_list(), filename="allocations.csv")


def teams_without_slot() -> Export:
    return teams(selectors.teams_without_slot(), filename="teams-without-slot.csv")


# Labs ---------------------------------------------------------------------

LAB_HEADER = [*SLOT_HEADER, "open", "team", "description", "student_numbers"]


def labs(queryset) -> Export:
    """One row per slot, by time and room: whether it is open, and the team
    holding it."""
    rows = []
    labs = (
        queryset.select_related("project")
        .prefetch_related("project__memberships__user")
        .order_by("start", "room")
    )
    for lab in labs:
        project = getattr(lab, "project", None)
        members = project.member_list() if project is not None else []
        rows.append(
            [
                *_slot_cells(lab),
                _yes(lab.is_open),
                project.pk if project is not None else "",
                project.description if project is not None else "",
                LIST_SEPARATOR.join(member.username for member in members),
            ]
        )
    return Export("labs.csv", LAB_HEADER, rows)


# Booking records ----------------------------------------------------------

BOOKING_RECORD_HEADER = [
    "date",
    "time",
    "time_zone",
    "action",
    "path",
    "by",
    "team",
    "student_numbers",
    "from_slot",
    "to_slot",
]


def booking_records(queryset) -> Export:
    """One row per booking change, oldest first. The members' numbers are
    stored as one text; they are written with this module's separator."""
    rows = []
    for record in queryset.order_by("created_at", "pk"):
        when = timezone.localtime(record.created_at)
        numbers = [n.strip() for n in record.members.split(",") if n.strip()]
        rows.append(
            [
                f"{when:%Y-%m-%d}",
                f"{when:%H:%M:%S}",
                settings.TIME_ZONE,
                record.get_action_display(),
                record.get_via_display(),
                record.actor_username,
                record.project_number or "",
                LIST_SEPARATOR.join(numbers),
                record.from_slot,
                record.to_slot,
            ]
        )
    return Export("booking-records.csv", BOOKING_RECORD_HEADER, rows)
