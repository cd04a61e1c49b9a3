"""The lab board's row markup: one source for the server and for board.js.

The server renders every row with `RowRenderer.row`; the page also carries
the same function's output for an empty slot, with every control, in a
`<template>`, which board.js clones and fills from a `/ws/labs/` frame by
the `data-field` names, keeping only the controls this user may use (as
the server does). So a row filled in the page is the row the server renders
for the same state (a browser test compares the two).

Plain string formatting rather than a template include per row: the board
renders up to a thousand rows, and an include costs about ten times more.
And a row is rendered once for every viewer who sees it alike: the process's
copy of a slot's facts (board_cache.py, replaced whenever the slot changes)
keeps its rendered rows by what the viewer sees, with a mark where the
viewer's own form fields go (their CSRF token and `next`), filled in once
per page. On opening night 200 teams without a slot load the same rows.
"""

from datetime import date
from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

# The row in pieces: what is the same for every viewer of a slot is joined
# once per slot (and kept with the process's copy of the board); a request
# adds only what differs by viewer. Attribute order is irrelevant to the
# markup test, which compares elements with their attributes sorted.
SLOT_HEAD = (
    '<tr id="lab-{id}" data-lab-id="{id}" data-room="{room}" data-start="{start}"'
    ' data-end="{end}"'
)
VIEWER_HEAD = (
    ' class="{cls}" data-state="{state}" data-available="{available}"'
    ' data-mine="{mine}"{current}>'
)
SLOT_CELLS = '<td data-field="hours">{hours}</td><td data-field="room">{room}</td>'
VIEWER_CELLS = (
    '<td data-testid="status" data-field="status">{status}</td>'
    '<td><span data-field="team">{team}</span>'
    '<span class="d-block small text-body-secondary" data-field="description">'
    "{description}</span></td>"
    '<td class="text-end" data-field="controls">'
)
# The controls: each only where this viewer may use it now (board.js adds
# or removes them from the template's copies as frames arrive).
SLOT_FORM = '<form method="post" action="{book_url}" data-field="book">'
PAGE_FORM = (
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="next" value="{next}">'
    '<button type="submit" class="btn btn-primary btn-sm">'
    '<span data-field="action">{action}</span>'
)
SLOT_FORM_END = (
    '<span class="visually-hidden" data-field="label"> {label}</span></button></form>'
)
SLOT_RELEASE = (
    '<a class="btn btn-outline-danger btn-sm" href="{release_url}"'
    ' data-field="release">Release'
    '<span class="visually-hidden" data-field="label"> {label}</span></a>'
)
# Where a viewer's own form fields go in a kept row. No value can contain
# it: every value in a row is escaped, and escaping turns "<" into "&lt;".
PAGE_FORM_MARK = "<!--page-form-->"
# The outcome line takes focus (from board.js) when a change takes away the
# control a keyboard user was on and leaves none in its place.
TAIL = (
    '<div class="small" data-field="outcome" role="status" tabindex="-1">'
    "</div></td></tr>"
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


def _slot_pieces(facts: dict, release_url: str, book_url: str) -> tuple:
    """The parts of a slot's row that every viewer shares, joined once."""
    pieces = facts.get("_pieces")
    if pieces is None:
        room, label = escape(facts["room"]), escape(facts["label"])
        pieces = (
            SLOT_HEAD.format(
                id=facts["id"], room=room, start=facts["start"], end=facts["end"]
            ),
            SLOT_CELLS.format(hours=facts["hours"], room=room),
            SLOT_FORM.format(book_url=f"{book_url}{facts['id']}/book/"),
            SLOT_FORM_END.format(label=label),
            SLOT_RELEASE.format(label=label, release_url=release_url),
        )
        facts["_pieces"] = pieces
    return pieces


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
        self.has_project = has_project
        self.booking_open = booking_open
        self.now = now
        self.cutoff = cutoff
        self.book_url = reverse("projects:lab_book", args=[0])[: -len("0/book/")]
        self.release_url = reverse("projects:project_release")
        self.page_form = PAGE_FORM.format(
            csrf=escape(csrf_token),
            next=escape(next_url),
            action="Move here" if has_lab else "Book",
        )

    def row(self, facts: dict, view: dict) -> str:
        """The slot's row as this viewer sees it, with PAGE_FORM_MARK where
        the viewer's form fields go (`days` fills them in)."""
        mine = view["mine"]
        available = view["available"]
        # Leaving a slot needs booking open and the cut-off not passed (rule 6).
        leavable = mine and self.booking_open and self.now < facts["ts"] - self.cutoff
        form = self.has_project and available and not mine
        key = (
            view["state"],
            available,
            mine,
            view["team"],
            view["description"],
            form,
            leavable,
            self.booking_open,
        )
        rows = facts.get("_rows")
        if rows is None:
            rows = facts["_rows"] = {}
        html = rows.get(key)
        if html is None:
            html = rows[key] = self._row(facts, view, form=form, release=leavable)
        return html

    def days(self, groups: list[tuple[str, list[str]]]) -> SafeString:
        """Every day's rows (from `row`), with this viewer's form fields."""
        html = render_days(groups)
        if self.has_project:
            html = mark_safe(html.replace(PAGE_FORM_MARK, self.page_form))  # noqa: S308
        return html

    def _row(self, facts: dict, view: dict, *, form: bool, release: bool) -> str:
        head, cells, slot_form, form_end, slot_release = _slot_pieces(
            facts, self.release_url, self.book_url
        )
        mine = view["mine"]
        available = view["available"]
        team, description = view["team"], view["description"]
        return "".join(
            (
                head,
                VIEWER_HEAD.format(
                    cls="lab-row table-success" if mine else "lab-row",
                    state=view["state"],
                    available="true" if available else "false",
                    mine="true" if mine else "false",
                    current=' aria-current="true"' if mine else "",
                ),
                cells,
                VIEWER_CELLS.format(
                    status=row_status(
                        state=view["state"],
                        available=available,
                        mine=mine,
                        booking_open=self.booking_open,
                    ),
                    team=escape(team) if team else "",
                    description=escape(description) if description else "",
                ),
                *((slot_form, PAGE_FORM_MARK, form_end) if form else ()),
                slot_release if release else "",
                TAIL,
            )
        )

    def template_row(self) -> str:
        """The empty row board.js fills, with every control to copy from."""
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
        html = self._row(blank, view, form=True, release=True)
        return html.replace(PAGE_FORM_MARK, self.page_form)


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
