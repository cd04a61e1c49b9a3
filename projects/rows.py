"""The lab board's row markup: one source for the server and for board.js.

The server renders every row with `render_row`; the page also carries the
same function's output for an empty slot in a `<template>`, which board.js
clones and fills from a `/ws/labs/` frame by the `data-field` names. Every
element is always there (a control the user can't use now is `hidden`), so
filling the template gives the same markup as rendering the row (a browser
test compares the two).

Plain string formatting rather than a template include per row: the board
renders up to a thousand rows, and an include costs about ten times more.
"""

from datetime import date

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ROW = (
    '<tr id="lab-{id}" class="{cls}" data-lab-id="{id}" data-room="{room}"'
    ' data-start="{start}" data-end="{end}" data-state="{state}"'
    ' data-available="{available}" data-mine="{mine}" data-label="{label}"{current}>'
    '<td data-field="hours">{hours}</td>'
    '<td data-field="room">{room}</td>'
    '<td data-testid="status" data-field="status">{status}</td>'
    '<td><span data-field="team">{team}</span>'
    '<span class="d-block small text-body-secondary" data-field="description">'
    "{description}</span></td>"
    '<td class="text-end">'
    '<form method="post" action="{book_url}" data-field="book"{book_hidden}>'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="next" value="{next}">'
    '<button type="submit" class="btn btn-primary btn-sm">'
    '<span data-field="action">{action}</span>'
    '<span class="visually-hidden" data-field="label"> {label}</span></button>'
    "</form>"
    '<a class="btn btn-outline-danger btn-sm" href="{release_url}"'
    ' data-field="release"{release_hidden}>Release'
    '<span class="visually-hidden" data-field="label"> {label}</span></a>'
    '<div class="small" data-field="outcome" role="status"></div>'
    "</td></tr>"
)

DAY = (
    '<section class="board-day" data-day="{day}">'
    '<h2 class="h5 mt-4" data-field="day">{heading}</h2>'
    '<table class="table table-sm align-middle">'
    '<thead><tr><th scope="col">Time</th><th scope="col">Room</th>'
    '<th scope="col">State</th><th scope="col">Team</th>'
    '<th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>'
    "<tbody>{rows}</tbody></table></section>"
)

HIDDEN = " hidden"


def row_status(*, state: str, available: bool, mine: bool, booking_open: bool) -> str:
    """The State column's words (board.js's `statusText` says the same)."""
    if state == "past":
        return "Started"
    if state == "taken":
        return "Your slot" if mine else "Taken"
    if state == "closed":
        return "Closed"
    if available:
        return "Free"
    if not booking_open:
        return "Free (booking is closed)"
    return "Free (too late to book)"


class RowRenderer:
    """Render board rows for one viewer on one page (one CSRF token, one `next`)."""

    def __init__(
        self,
        *,
        csrf_token: str,
        next_url: str,
        has_project: bool,
        has_lab: bool,
        booking_open: bool,
        now: float,
        cutoff: int,
    ):
        self.csrf = escape(csrf_token)
        self.next = escape(next_url)
        self.has_project = has_project
        self.action = "Move here" if has_lab else "Book"
        self.booking_open = booking_open
        self.now = now
        self.cutoff = cutoff
        self.book_url = reverse("projects:lab_book", args=[0])[: -len("0/book/")]
        self.release_url = reverse("projects:project_release")

    def row(self, facts: dict, view: dict) -> str:
        mine = view["mine"]
        available = view["available"]
        # Leaving a slot needs booking open and the cut-off not passed (rule 6).
        leavable = mine and self.booking_open and self.now < facts["ts"] - self.cutoff
        label = escape(facts["label"])
        return ROW.format(
            id=facts["id"],
            cls="lab-row table-success" if mine else "lab-row",
            room=escape(facts["room"]),
            start=facts["start"],
            end=facts["end"],
            state=view["state"],
            available="true" if available else "false",
            mine="true" if mine else "false",
            label=label,
            current=' aria-current="true"' if mine else "",
            hours=facts["hours"],
            status=row_status(
                state=view["state"],
                available=available,
                mine=mine,
                booking_open=self.booking_open,
            ),
            team=escape(view["team"] or ""),
            description=escape(view["description"] or ""),
            book_url=f"{self.book_url}{facts['id']}/book/",
            book_hidden="" if self.has_project and available and not mine else HIDDEN,
            csrf=self.csrf,
            next=self.next,
            action=self.action,
            release_url=self.release_url,
            release_hidden="" if leavable else HIDDEN,
        )

    def template_row(self) -> str:
        """The empty row board.js fills (`id` 0, every control hidden)."""
        blank = {
            "id": 0,
            "room": "",
            "start": "",
            "end": "",
            "ts": 0,
            "label": "",
            "hours": "",
        }
        view = {
            "state": "free",
            "available": False,
            "mine": False,
            "team": None,
            "description": None,
        }
        return self.row(blank, view)


def day_heading(day: str) -> str:
    """ "Wednesday 20 May 2026" for "2026-05-20" (board.js's `dayHeading` too)."""
    value = date.fromisoformat(day)
    return f"{value:%A} {value.day} {value:%B %Y}"


def render_days(groups: list[tuple[str, list[str]]]) -> SafeString:
    """Wrap each day's rendered rows in its heading and table."""
    return mark_safe(  # noqa: S308 (every value above is escaped)
        "".join(
            DAY.format(day=day, heading=day_heading(day), rows="".join(rows))
            for day, rows in groups
        )
    )


def day_template() -> SafeString:
    return mark_safe(DAY.format(day="", heading="", rows=""))  # noqa: S308
