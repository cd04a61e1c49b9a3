"""The coordinator page's pictures, drawn on the server as SVG.

Three pictures: pairing progress (students in a project and in a full team,
over time, from the memberships), booking progress (teams with a slot over
time, from the booking records) and slot fill (a heatmap of taken slots by
day and room). No JavaScript, no CDN: each is an inline `<svg role="img">`
named by its `<title>` and summed up by its `<desc>`
(`aria-labelledby`), with every figure also in a table beside it (`Chart.
table`), which the page shows under "as a table" for screen readers and
anyone who would rather read numbers.

The data take three queries (`progress_data`, `slot_fill_data`); drawing is
pure.
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from projects.models import BookingRecord, Lab, Membership

User = get_user_model()

MAX_POINTS = 240  # a line with more events is sampled on a time grid
BLUE = "#0a58ca"  # 6.4:1 on white
ORANGE = "#a84e00"  # 5.6:1 on white
INK = "#212529"
GRID = "#6c757d"


@dataclass
class Line:
    label: str
    colour: str
    dash: str  # SVG stroke-dasharray ("" for solid)
    points: list[tuple[datetime, int]]  # steps: the value from that time on
    initial: int = 0  # the value before the first step

    def value_at(self, moment: datetime) -> int:
        times = [t for t, _ in self.points]
        index = bisect_right(times, moment) - 1
        return self.points[index][1] if index >= 0 else self.initial


@dataclass
class Chart:
    """A picture and its text alternative: `svg`, and `table` (caption,
    header, rows) with the same figures."""

    key: str
    title: str
    description: str
    svg: SafeString
    caption: str
    header: list[str]
    rows: list[list] = field(default_factory=list)


# Data ---------------------------------------------------------------------


@dataclass
class ProgressData:
    students: int
    teams: int
    in_project: list[datetime]  # when each student in a project joined it
    full: list[tuple[datetime, int]]  # when each full team filled, its students
    booked_now: int
    booking_changes: list[tuple[datetime, int]]  # +1 book, -1 release or dissolve


def progress_data(*, counts: dict) -> ProgressData:
    """The events behind the progress pictures (two queries).

    `counts` is `selectors.coordinator_counts()`. Only today's teams count:
    a student who left a team meanwhile is not in the pairing line's past
    (memberships are not kept), and booked teams are counted back from
    today's number through the booking records, so the lines end at the
    page's counts.
    """
    size = settings.PAIRUP_TEAM_SIZE
    rows = Membership.objects.order_by("joined_at", "pk").values_list(
        "project_id",
        "joined_at",
        "user__is_active",
        "user__is_staff",
        "user__is_superuser",
    )
    by_team: dict[int, list[tuple[datetime, bool]]] = {}
    for project_id, joined_at, active, staff, superuser in rows:
        is_student = active and not staff and not superuser
        by_team.setdefault(project_id, []).append((joined_at, is_student))
    in_project = sorted(t for members in by_team.values() for t, s in members if s)
    full = sorted(
        (members[size - 1][0], sum(1 for _, s in members if s))
        for members in by_team.values()
        if len(members) >= size
    )
    delta = {
        BookingRecord.Action.BOOK: 1,
        BookingRecord.Action.RELEASE: -1,
        BookingRecord.Action.DISSOLVE: -1,
    }
    changes = [
        (created_at, delta[action])
        for created_at, action in BookingRecord.objects.exclude(
            action=BookingRecord.Action.MOVE
        )
        .order_by("created_at", "pk")
        .values_list("created_at", "action")
        if action in delta
    ]
    return ProgressData(
        students=counts["students"],
        teams=counts["teams_with_slot"] + counts["teams_without_slot"],
        in_project=in_project,
        full=full,
        booked_now=counts["teams_with_slot"],
        booking_changes=changes,
    )


@dataclass
class FillCell:
    day: date
    room: str
    taken: int
    total: int

    @property
    def fraction(self) -> float:
        return self.taken / self.total if self.total else 0.0


def slot_fill_data(*, now=None) -> list[FillCell]:
    """Slots taken and in all, by local day and room, from today on (one
    query)."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    today = timezone.localtime(now, tz).date()
    start = timezone.make_aware(datetime.combine(today, datetime.min.time()), tz)
    rows = (
        Lab.objects.filter(start__gte=start)
        .annotate(day=TruncDate("start", tzinfo=tz))
        .values("day", "room")
        .annotate(total=Count("pk"), taken=Count("pk", filter=Q(project__isnull=False)))
        .order_by("day", "room")
        .values_list("day", "room", "taken", "total")
    )
    return [FillCell(day, room, taken, total) for day, room, taken, total in rows]


# Drawing ------------------------------------------------------------------

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 64  # room for the axes and legend


def _svg(key: str, title: str, description: str, body: str, width: int, height: int):
    return mark_safe(  # noqa: S308 (every text below is escaped)
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart" role="img" '
        f'aria-labelledby="{key}-title {key}-desc" '
        f'data-testid="{key}-svg">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(description)}</desc>'
        f'<g aria-hidden="true">{body}</g></svg>'
    )


def _when(moment: datetime, *, with_time: bool) -> str:
    local = timezone.localtime(moment)
    return f"{local:%d %b %H:%M}" if with_time else f"{local:%a %d %b}"


def _steps(start_value: int, events: list[tuple[datetime, int]]) -> list:
    """[(time, value)] after each event, starting from `start_value`."""
    points, value = [], start_value
    for moment, change in events:
        value += change
        if points and points[-1][0] == moment:
            points[-1] = (moment, value)
        else:
            points.append((moment, value))
    return points


def _sampled(line: Line, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    if len(line.points) <= MAX_POINTS or end <= start:
        return line.points
    step = (end - start) / MAX_POINTS
    return [
        (start + step * i, line.value_at(start + step * i))
        for i in range(MAX_POINTS + 1)
    ]


def _line_chart(
    *, key: str, title: str, description: str, lines: list[Line], top: int, unit: str
) -> str:
    """Step lines on a time axis from the first event to now."""
    now = timezone.now()
    firsts = [line.points[0][0] for line in lines if line.points]
    start = min(firsts) if firsts else now - timedelta(days=1)
    start = min(start, now - timedelta(minutes=1))
    end = now
    span = (end - start).total_seconds()
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max(top, 1)

    def x(moment: datetime) -> float:
        return LEFT + plot_w * (moment - start).total_seconds() / span

    def y(value: int) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = []
    # Axes and grid: 0, half and the top, labelled.
    for value in sorted({0, top // 2, top}):
        parts.append(
            f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{WIDTH - RIGHT}" '
            f'y2="{y(value):.1f}" stroke="{GRID}" stroke-width="0.5"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'font-size="12" fill="{INK}">{value}</text>'
        )
    with_time = span < 3 * 86400
    for moment, anchor in ((start, "start"), (end, "end")):
        parts.append(
            f'<text x="{x(moment):.1f}" y="{TOP + plot_h + 18}" '
            f'text-anchor="{anchor}" font-size="12" fill="{INK}">'
            f"{escape(_when(moment, with_time=with_time))}</text>"
        )
    parts.append(
        f'<text x="{LEFT}" y="{TOP - 4}" font-size="12" fill="{INK}">'
        f"{escape(unit)}</text>"
    )
    for index, line in enumerate(lines):
        path = [f"M{x(start):.1f},{y(line.initial):.1f}"]
        for moment, value in _sampled(line, start, end):
            path.append(f"H{x(moment):.1f}V{y(value):.1f}")
        path.append(f"H{x(end):.1f}")
        dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
        parts.append(
            f'<path d="{"".join(path)}" fill="none" stroke="{line.colour}" '
            f'stroke-width="2.5"{dash}/>'
        )
        # The legend: a sample of the line and its label.
        legend_y = HEIGHT - 18
        legend_x = LEFT + index * 230
        parts.append(
            f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 28}" '
            f'y2="{legend_y - 4}" stroke="{line.colour}" stroke-width="2.5"{dash}/>'
            f'<text x="{legend_x + 34}" y="{legend_y}" font-size="12" '
            f'fill="{INK}">{escape(line.label)}</text>'
        )
    return _svg(key, title, description, "".join(parts), WIDTH, HEIGHT)


def _daily_rows(lines: list[Line]) -> list[list]:
    """Each line's value at the end of each local day, first event to today."""
    firsts = [line.points[0][0] for line in lines if line.points]
    if not firsts:
        return []
    tz = timezone.get_current_timezone()
    day = timezone.localtime(min(firsts), tz).date()
    today = timezone.localtime(timezone.now(), tz).date()
    rows = []
    while day <= today:
        end = timezone.make_aware(
            datetime.combine(day + timedelta(days=1), datetime.min.time()), tz
        )
        moment = min(end - timedelta(microseconds=1), timezone.now())
        rows.append([f"{day:%a %d %b %Y}", *[line.value_at(moment) for line in lines]])
        day += timedelta(days=1)
    return rows[-60:]  # two months at most


def pairing_chart(data: ProgressData) -> Chart:
    in_project = Line(
        "In a project", BLUE, "", _steps(0, [(t, 1) for t in data.in_project])
    )
    in_full = Line("In a full team", ORANGE, "6 4", _steps(0, data.full))
    now_project = len(data.in_project)
    now_full = sum(n for _, n in data.full)
    if data.in_project:
        since = _when(data.in_project[0], with_time=False)
        description = (
            f"Since {since}, the students in a project rose to {now_project} of "
            f"{data.students}, and those in a full team to {now_full}."
        )
    else:
        description = f"No student is in a project yet ({data.students} students)."
    title = "Pairing progress: students in a project and in a full team"
    return Chart(
        key="pairing-chart",
        title=title,
        description=description,
        svg=_line_chart(
            key="pairing-chart",
            title=title,
            description=description,
            lines=[in_project, in_full],
            top=data.students,
            unit="students",
        ),
        caption="Students in a project and in a full team at the end of each day",
        header=["Day", "In a project", "In a full team"],
        rows=_daily_rows([in_project, in_full]),
    )


def booking_chart(data: ProgressData) -> Chart:
    # Count back from today's number, so the line ends at the page's count.
    start_value = data.booked_now - sum(change for _, change in data.booking_changes)
    points = _steps(start_value, data.booking_changes)
    booked = Line("Teams with a slot", BLUE, "", points, initial=start_value)
    if data.booking_changes:
        since = _when(data.booking_changes[0][0], with_time=False)
        description = (
            f"Since {since}, the teams with a slot rose to {data.booked_now} of "
            f"{data.teams} teams."
        )
    else:
        description = f"No slot has been booked yet ({data.teams} teams)."
    title = "Booking progress: teams with a slot"
    return Chart(
        key="booking-chart",
        title=title,
        description=description,
        svg=_line_chart(
            key="booking-chart",
            title=title,
            description=description,
            lines=[booked],
            top=max([data.teams, start_value, *(v for _, v in points)]),
            unit="teams",
        ),
        caption="Teams with a slot at the end of each day",
        header=["Day", "Teams with a slot"],
        rows=_daily_rows([booked]),
    )


# (upper bound of the fraction, fill, text colour): each text colour keeps
# 4.5:1 or more on its fill; the count in each cell says it in words too.
SCALE = [
    (0.0, "#f8f9fa", INK),  # none taken
    (0.25, "#deebf7", INK),  # under a quarter
    (0.5, "#9ecae1", INK),
    (0.75, "#6baed6", INK),
    (1.0, "#2171b5", "#ffffff"),  # three quarters or more, not all
    (1.0, "#08306b", "#ffffff"),  # all taken
]


def _shade(fraction: float) -> tuple[str, str]:
    if fraction <= 0:
        return SCALE[0][1], SCALE[0][2]
    if fraction >= 1:
        return SCALE[-1][1], SCALE[-1][2]
    for upper, fill, ink in SCALE[1:-1]:
        if fraction < upper:
            return fill, ink
    return SCALE[-2][1], SCALE[-2][2]


def slot_fill_chart(cells: list[FillCell]) -> Chart:
    days = sorted({cell.day for cell in cells})
    rooms = sorted({cell.room for cell in cells})
    by_key = {(cell.day, cell.room): cell for cell in cells}
    label_w, head_h, cell_w, cell_h = 110, 40, 96, 30
    width = max(label_w + cell_w * max(len(rooms), 1) + 8, 380)
    height = head_h + cell_h * max(len(days), 1) + 64
    parts = []
    for column, room in enumerate(rooms):
        name = room if len(room) <= 13 else room[:12] + "\u2026"
        parts.append(
            f'<text x="{label_w + cell_w * column + cell_w / 2}" y="{head_h - 10}" '
            f'text-anchor="middle" font-size="12" fill="{INK}">{escape(name)}</text>'
        )
    for row, day in enumerate(days):
        y = head_h + cell_h * row
        parts.append(
            f'<text x="{label_w - 8}" y="{y + cell_h / 2 + 4}" text-anchor="end" '
            f'font-size="12" fill="{INK}">{day:%a %d %b}</text>'
        )
        for column, room in enumerate(rooms):
            cell = by_key.get((day, room))
            x = label_w + cell_w * column
            if cell is None:
                continue
            fill, ink = _shade(cell.fraction)
            parts.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" '
                f'height="{cell_h - 2}" fill="{fill}" stroke="#495057" '
                'stroke-width="1"/>'
                f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 4}" '
                f'text-anchor="middle" font-size="12" fill="{ink}">'
                f"{cell.taken}/{cell.total}</text>"
            )
    legend_y = head_h + cell_h * max(len(days), 1) + 20
    for index, (_, fill, _) in enumerate(SCALE):
        parts.append(
            f'<rect x="{8 + index * 16}" y="{legend_y - 10}" width="14" '
            f'height="14" fill="{fill}" stroke="#495057"/>'
        )
    parts.append(
        f'<text x="{8 + len(SCALE) * 16 + 6}" y="{legend_y + 2}" font-size="12" '
        f'fill="{INK}">none taken \u2192 all taken</text>'
        f'<text x="8" y="{legend_y + 22}" font-size="12" fill="{INK}">'
        "Each cell: slots taken/slots that day in that room.</text>"
    )
    taken = sum(cell.taken for cell in cells)
    total = sum(cell.total for cell in cells)
    if cells:
        fullest = max(cells, key=lambda c: (c.fraction, c.taken))
        emptiest = min(cells, key=lambda c: (c.fraction, -c.total))
        description = (
            f"{taken} of {total} slots taken over {len(days)} day(s) in "
            f"{len(rooms)} room(s). Fullest: {fullest.room} on "
            f"{fullest.day:%a %d %b} ({fullest.taken} of {fullest.total}); "
            f"emptiest: {emptiest.room} on {emptiest.day:%a %d %b} "
            f"({emptiest.taken} of {emptiest.total})."
        )
    else:
        description = "No lab slots from today on."
    title = "Slot fill by day and room"
    return Chart(
        key="fill-chart",
        title=title,
        description=description,
        svg=_svg("fill-chart", title, description, "".join(parts), width, height),
        caption="Slots taken of all slots, by day (rows) and room (columns)",
        header=["Day", *rooms],
        rows=[
            [
                f"{day:%a %d %b %Y}",
                *[
                    f"{by_key[day, room].taken} of {by_key[day, room].total}"
                    if (day, room) in by_key
                    else "no slots"
                    for room in rooms
                ],
            ]
            for day in days
        ],
    )


def coordinator_charts(*, counts: dict) -> list[Chart]:
    """The page's three pictures (three queries)."""
    progress = progress_data(counts=counts)
    return [
        pairing_chart(progress),
        booking_chart(progress),
        slot_fill_chart(slot_fill_data()),
    ]
