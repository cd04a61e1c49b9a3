"""Read side of teams and lab slots: queries and access checks."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.http import Http404
from django.utils import timezone

from projects.models import (
    BookingWindow,
    Invitation,
    Lab,
    Membership,
    Project,
    members_prefetch,
    team_label,
)

User = get_user_model()

SEARCH_MIN_CHARS = 2
SEARCH_LIMIT = 50


def _user_projects(user):
    return Project.objects.select_related("lab").filter(memberships__user_id=user.pk)


def project_for_user(*, user) -> Project | None:
    """Return the user's project with its lab and members preloaded, or None."""
    if not user.is_authenticated:
        return None
    return _user_projects(user).with_members().first()


def project_slot_for_user(*, user) -> Project | None:
    """Return the user's project with its lab but not its members (what the
    lab board shows of it), or None."""
    if not user.is_authenticated:
        return None
    return _user_projects(user).first()


def project_get_for_user(*, user, project_id: int) -> Project:
    """Return the project if the user is a member or a coordinator.

    Raise Http404 when it is missing or not the user's to see, so existence
    never leaks.
    """
    if not user.is_authenticated:
        raise Http404("No such project.")
    project = (
        Project.objects.select_related("lab")
        .with_members()
        .filter(pk=project_id)
        .first()
    )
    if project is None:
        raise Http404("No such project.")
    if user.is_coordinator:
        return project
    if not any(m.user_id == user.pk for m in project.memberships.all()):
        raise Http404("No such project.")
    return project


def invitation_get_for_user(
    *, user, invitation_id: int, as_invitee: bool
) -> Invitation:
    """Return the invitation to its invitee, or to a member of the inviting
    project (a dissolved team's: to its inviter).

    Raise Http404 for anyone else, whatever the invitation's state.
    """
    invitation = (
        Invitation.objects.select_related("project", "invitee", "inviter")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not user.is_authenticated:
        raise Http404("No such invitation.")
    if as_invitee:
        if invitation.invitee_id != user.pk:
            raise Http404("No such invitation.")
        return invitation
    if invitation.project_id is None:
        # Its team was dissolved: only its inviter still knows of it.
        if invitation.inviter_id != user.pk:
            raise Http404("No such invitation.")
        return invitation
    if not Membership.objects.filter(
        user=user, project_id=invitation.project_id
    ).exists():
        raise Http404("No such invitation.")
    return invitation


def invitations_for_user(*, user, project: Project | None) -> tuple[list, list]:
    """Return (pending invitations to the user, pending ones from their project),
    each with its inviter, invitee and project preloaded (the API reads all
    three)."""
    incoming = list(
        Invitation.objects.filter(invitee=user, status=Invitation.Status.PENDING)
        .select_related("inviter", "invitee", "project")
        .prefetch_related(members_prefetch("project"))
    )
    outgoing = []
    if project is not None:
        outgoing = list(
            Invitation.objects.filter(
                project=project, status=Invitation.Status.PENDING
            ).select_related("invitee", "inviter")
        )
    return incoming, outgoing


# A slot as a user sees it ---------------------------------------------------
#
# One read model for the board page, the schedule, the API and the
# `/ws/labs/` frames. What every user sees alike about a slot is its "facts"
# (a plain dict, as a change event carries it); what one user may see of it
# is `lab_view(facts, viewer, window, now)`, a pure function: no database,
# no I/O, cheap enough to run per socket per frame. The two rules that decide
# it, "who may see a team's name" (`team_visible`) and "why this slot can't
# be booked now" (`slot_refusal`, with `slot_bookable` and `slot_state`),
# live here once; the services derive their messages from `slot_refusal`.


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the board knows of whoever looks at it."""

    user_id: int | None
    project_id: int | None
    is_coordinator: bool


def viewer_for(*, user, project: Project | None = None) -> Viewer:
    """Return the Viewer of a signed-in user whose project is already loaded."""
    return Viewer(
        user_id=user.pk,
        project_id=project.pk if project is not None else None,
        is_coordinator=bool(user.is_coordinator),
    )


def viewer_get(*, user) -> Viewer:
    """Return the user's Viewer (one query: the user's project id)."""
    project_id = (
        Membership.objects.filter(user_id=user.pk)
        .values_list("project_id", flat=True)
        .first()
    )
    return Viewer(
        user_id=user.pk, project_id=project_id, is_coordinator=user.is_coordinator
    )


def window_facts(window: BookingWindow) -> dict:
    """The booking window as the board needs it (times as POSIX seconds)."""
    return {
        "switch": window.booking_open,
        "opens": window.opens_at.timestamp() if window.opens_at else None,
        "closes": window.closes_at.timestamp() if window.closes_at else None,
        "published": window.schedule_published,
        # Read once here: settings' lazy lookups cost more than the rules.
        "cutoff": cutoff_seconds(),
    }


def booking_open(window: dict, now: float) -> bool:
    """True when the switch is on and `now` is inside the optional times."""
    if not window["switch"]:
        return False
    if window["opens"] is not None and now < window["opens"]:
        return False
    return not (window["closes"] is not None and now >= window["closes"])


def team_visible(*, holder_id: int | None, viewer: Viewer, published: bool) -> bool:
    """Who may see a team's name and description: the team itself, the
    coordinators, and everyone once the schedule is published."""
    if holder_id is None:
        return False
    if holder_id == viewer.project_id:
        return True
    if viewer.is_coordinator:
        return True
    return published


def cutoff_seconds() -> int:
    return settings.PAIRUP_BOOKING_CUTOFF_MINUTES * 60


def slot_refusal(
    *,
    start: float,
    is_open: bool,
    taken: bool,
    booking_open: bool,
    now: float,
    cutoff: int | None = None,
) -> str | None:
    """Return why a student can't book the slot now, or None if it is bookable.

    A bookable slot is free, open, starts more than the cut-off from now,
    while booking is open (docs/rules.md). The reasons, first that applies:
    "slot_past", "slot_taken", "slot_closed", "booking_closed", "slot_cutoff".
    Times are POSIX seconds; `cutoff` (seconds) defaults to the setting.
    """
    if start <= now:
        return "slot_past"
    if taken:
        return "slot_taken"
    if not is_open:
        return "slot_closed"
    if not booking_open:
        return "booking_closed"
    if start <= now + (cutoff_seconds() if cutoff is None else cutoff):
        return "slot_cutoff"
    return None


def slot_bookable(**facts) -> bool:
    """True when `slot_refusal` finds nothing (same arguments)."""
    return slot_refusal(**facts) is None


def slot_state(*, start: float, is_open: bool, taken: bool, now: float) -> str:
    """Return "past", "taken", "closed" or "free" (the refusal's first three)."""
    refusal = slot_refusal(
        start=start, is_open=is_open, taken=taken, booking_open=True, now=now
    )
    return _STATES.get(refusal, "free")


_STATES = {"slot_past": "past", "slot_taken": "taken", "slot_closed": "closed"}


def lab_facts(lab: Lab, *, team: str | None = None) -> dict:
    """Return what every user sees alike of a slot (a change event's payload).

    `lab.project` and its members must be preloaded (or `team` given).
    """
    holder = getattr(lab, "project", None)
    return _facts(
        lab.pk,
        lab.room,
        lab.start,
        lab.end,
        lab.is_open,
        holder.pk if holder is not None else None,
        (team or holder.team_name) if holder is not None else "",
        holder.description if holder is not None else "",
    )


def _facts(pk, room, start, end, is_open, project_id, team, description) -> dict:
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    return {
        "id": pk,
        "room": room,
        "start": local_start.isoformat(),
        "end": local_end.isoformat(),
        "ts": start.timestamp(),
        "open": is_open,
        "project": project_id,
        "team": team,
        "description": description,
        # Display text, the same for everyone: rendered rows use it.
        "day": local_start.date().isoformat(),
        "hours": f"{local_start:%H:%M}\u2013{local_end:%H:%M}",
        "label": f"{local_start:%a %d %b %Y, %H:%M}-{local_end:%H:%M} \u00b7 {room}",
    }


def removed_facts(lab_id: int) -> dict:
    """The facts of a slot that no longer exists."""
    return {"id": lab_id, "removed": True}


def lab_view(facts: dict, viewer: Viewer, window: dict, now: float) -> dict:
    """Return the `lab` frame of docs/protocol.md: the slot as this viewer sees it now.

    Pure and cheap: the consumer calls it per socket for every change.
    """
    if facts.get("removed"):
        return {
            "type": "lab",
            "id": facts["id"],
            "state": "removed",
            "available": False,
            "mine": False,
            "team": None,
            "description": None,
        }
    holder = facts["project"]
    refusal = slot_refusal(
        start=facts["ts"],
        is_open=facts["open"],
        taken=holder is not None,
        booking_open=booking_open(window, now),
        now=now,
        cutoff=window.get("cutoff"),
    )
    state = _STATES.get(refusal, "free")
    visible = team_visible(
        holder_id=holder, viewer=viewer, published=window["published"]
    )
    return {
        "type": "lab",
        "id": facts["id"],
        "state": state,
        "available": refusal is None,
        "mine": holder is not None and holder == viewer.project_id,
        "team": facts["team"] if visible else None,
        "description": facts["description"] if visible else None,
        "room": facts["room"],
        "start": facts["start"],
        "end": facts["end"],
    }


def bookable_labs(*, now=None) -> QuerySet:
    """Free, open slots past the cut-off (the booking window is not checked).

    The database form of `slot_refusal` for the form's choices and the seed.
    """
    now = now or timezone.now()
    cutoff = now + timedelta(seconds=cutoff_seconds())
    return Lab.objects.filter(is_open=True, start__gt=cutoff, project__isnull=True)


def _team_names(project_ids) -> dict[int, str]:
    """Return {project id: team name} in one query (members in joining order)."""
    names: dict[int, list[str]] = {pk: [] for pk in project_ids}
    rows = (
        Membership.objects.filter(project_id__in=names)
        .order_by("joined_at", "pk")
        .values_list(
            "project_id", "user__preferred_name", "user__first_name", "user__username"
        )
    )
    for project_id, preferred, first, username in rows:
        names[project_id].append(preferred or first or username)
    return {pk: team_label(pk, members) for pk, members in names.items()}


def lab_facts_list(*, now=None, lab_ids=None) -> list[dict]:
    """Return the facts of the upcoming slots (or of `lab_ids`), by start and
    room, in one query whatever their number (a row per team member)."""
    labs = Lab.objects.all()
    if lab_ids is not None:
        labs = labs.filter(pk__in=list(lab_ids))
    else:
        labs = labs.filter(start__gt=now or timezone.now())
    rows = labs.order_by(
        "start", "room", "pk", "project__memberships__joined_at", "project__memberships"
    ).values_list(
        "pk",
        "room",
        "start",
        "end",
        "is_open",
        "project__id",
        "project__description",
        "project__memberships__user__preferred_name",
        "project__memberships__user__first_name",
        "project__memberships__user__username",
    )
    facts = []
    for slot, members in groupby(rows, key=lambda row: row[:7]):
        pk, room, start, end, is_open, project_id, description = slot
        # A member's display name: preferred, else first, else the number
        # (never empty); a free slot's one row has no member.
        names = [row[7] or row[8] or row[9] for row in members if row[9] is not None]
        team = "" if project_id is None else team_label(project_id, names)
        facts.append(
            _facts(pk, room, start, end, is_open, project_id, team, description or "")
        )
    return facts


def lab_board(*, day: date | None = None, room: str = "", now=None) -> list[Lab]:
    """Return upcoming slots, each with `project` (and its members) preloaded.

    The query count does not grow with the number of slots.
    """
    now = now or timezone.now()
    labs = Lab.objects.filter(start__gt=now).select_related("project")
    if day is not None:
        tz = timezone.get_current_timezone()
        start = timezone.make_aware(datetime.combine(day, datetime.min.time()), tz)
        labs = labs.filter(start__gte=start, start__lt=start + timedelta(days=1))
    if room:
        labs = labs.filter(room=room)
    labs = labs.with_members()
    return list(labs.order_by("start", "room"))


def lab_overlapping(
    *, room: str, start: datetime, end: datetime, exclude_id: int | None = None
) -> Lab | None:
    """Return a slot in `room` whose time overlaps `start`..`end`, or None.

    Back-to-back slots (one ends as the other starts) don't overlap; the slot
    `exclude_id` (the one being changed) is left out.
    """
    labs = Lab.objects.filter(room=room, start__lt=end, end__gt=start)
    if exclude_id is not None:
        labs = labs.exclude(pk=exclude_id)
    return labs.order_by("start").first()


def lab_get(*, lab_id: int) -> Lab:
    """Return one slot with its project and members preloaded (for a board row).

    Raise Http404 when it does not exist. Every signed-in user may see a slot.
    """
    lab = Lab.objects.select_related("project").with_members().filter(pk=lab_id).first()
    if lab is None:
        raise Http404("No such slot.")
    return lab


def lab_rooms_and_days(*, now=None) -> tuple[list[str], list[date]]:
    """Return the rooms and local days that have upcoming slots, for filters."""
    now = now or timezone.now()
    upcoming = Lab.objects.filter(start__gt=now)
    rooms = list(upcoming.order_by("room").values_list("room", flat=True).distinct())
    days = sorted(
        {
            timezone.localtime(start).date()
            for start in upcoming.values_list("start", flat=True)
        }
    )
    return rooms, days


def student_search(
    *, q: str, project: Project | None = None, looking_first: bool = True
) -> list:
    """Find students by name or number; free "looking" students first, then
    other "looking" ones, then by last name (by last name only without
    `looking_first`: in teams of one the flag means nothing).

    Each result has `has_project` annotated, and with the searcher's
    `project`, `invitation_id`: its pending invitation to that student, if
    any. Fewer than two characters find nothing.
    """
    q = q.strip()
    if len(q) < SEARCH_MIN_CHARS:
        return []
    students = User.objects.students()
    if project is not None:
        students = students.annotate(
            invitation_id=Subquery(
                Invitation.objects.filter(
                    project=project,
                    invitee=OuterRef("pk"),
                    status=Invitation.Status.PENDING,
                ).values("pk")[:1]
            )
        )
    return list(
        students.filter(User.name_query(q))
        .annotate(has_project=Exists(Membership.objects.filter(user=OuterRef("pk"))))
        .annotate(
            # Free students who are looking come first: they can be invited.
            free_and_looking=Case(
                When(Q(looking_for_partner=True) & Q(has_project=False), then=1),
                default=0,
                output_field=IntegerField(),
            ),
        )
        .order_by(
            *(("-free_and_looking", "-looking_for_partner") if looking_first else ()),
            "last_name",
            "first_name",
            "username",
        )[:SEARCH_LIMIT]
    )


def schedule_list(
    *, user, viewer: Viewer | None = None, window: BookingWindow | None = None
) -> list[Lab]:
    """Booked slots by time whose team this user may see (`team_visible`): the
    user's own always, everyone's once published; coordinators see all.

    Pass the user's Viewer and the window if already loaded.
    """
    labs = (
        Lab.objects.filter(project__isnull=False)
        .select_related("project")
        .with_members()
        .order_by("start", "room")
    )
    viewer = viewer or viewer_get(user=user)
    published = (window or BookingWindow.get()).schedule_published
    if not (viewer.is_coordinator or published):
        # The rule below decides; this only spares loading what it would drop.
        labs = labs.filter(project__memberships__user=user)
    return [
        lab
        for lab in labs
        if team_visible(holder_id=lab.project.pk, viewer=viewer, published=published)
    ]


def free_students() -> QuerySet:
    """Students without a project, by last name (coordinators), with
    `membership` preloaded (it is None for each: the exports read it)."""
    return (
        User.objects.students()
        .filter(membership__isnull=True)
        .select_related("membership__project__lab")
        .order_by("last_name", "first_name", "username")
    )


def teams_without_slot() -> list[Project]:
    """Teams without a slot, by number, with their members preloaded."""
    return list(
        Project.objects.filter(lab__isnull=True)
        .select_related("lab")
        .with_members()
        .order_by("pk")
    )


def coordinator_counts() -> dict:
    """The unit at a glance (coordinators): students, in full teams, in solo
    projects, without a project; teams with and without a slot; free
    upcoming open slots. Four queries, whatever the size of the unit."""
    team_size = settings.PAIRUP_TEAM_SIZE
    # A team's size counts every member; the counts of students only the
    # active students among them.
    sizes = list(
        Membership.objects.values("project_id")
        .annotate(
            size=Count("pk"),
            students=Count(
                "pk",
                filter=Q(
                    user__is_active=True,
                    user__is_staff=False,
                    user__is_superuser=False,
                ),
            ),
        )
        .values_list("size", "students")
    )
    teams = Project.objects.aggregate(
        with_slot=Count("pk", filter=Q(lab__isnull=False)),
        without_slot=Count("pk", filter=Q(lab__isnull=True)),
    )
    total = User.objects.students().count()
    return {
        "students": total,
        "in_full_teams": sum(n for size, n in sizes if size >= team_size),
        "in_solo_projects": sum(n for size, n in sizes if size == 1),
        "without_project": total - sum(n for _, n in sizes),
        "teams_with_slot": teams["with_slot"],
        "teams_without_slot": teams["without_slot"],
        "free_slots": Lab.objects.filter(
            project__isnull=True, is_open=True, start__gt=timezone.now()
        ).count(),
    }


def allocation_list() -> list[Project]:
    """Every team with its slot and members preloaded: booked ones by start
    time, then unbooked ones by team number (for exports)."""
    return list(
        Project.objects.select_related("lab")
        .with_members()
        .order_by(F("lab__start").asc(nulls_last=True), "lab__room", "pk")
    )


def student_list(
    *,
    q: str = "",
    free: bool | None = None,
    looking: bool | None = None,
    assign_me: bool | None = None,
) -> list:
    """Every student, by last name, with `membership` preloaded (coordinators).

    Filters: a name or number fragment, free or not, and the two flags.
    """
    students = User.objects.students().select_related("membership")
    q = q.strip()
    if q:
        students = students.filter(User.name_query(q))
    if free is not None:
        students = students.filter(membership__isnull=free)
    if looking is not None:
        students = students.filter(looking_for_partner=looking)
    if assign_me is not None:
        students = students.filter(please_assign_me=assign_me)
    return list(students.order_by("last_name", "first_name", "username"))


# The coordinator's table of students ------------------------------------

ROSTER_STATUSES = {
    "free": "Without a project",
    "partial": "In a team that isn't full",
    "full": "In a full team",
    "unbooked": "In a team without a slot",
    "booked": "In a team with a slot",
}
ROSTER_FLAGS = {
    "assign": "Please assign me",
    "looking": "Looking for a partner",
    "either": "Either flag",
    "none": "Neither flag",
}


def roster_students(
    *,
    q: str = "",
    status: str = "",
    flag: str = "",
    day: date | None = None,
    room: str = "",
) -> QuerySet:
    """Every student, by last name, for the coordinator's table, with
    `membership__project__lab` preloaded.

    Filters: a name or number fragment; a status (`ROSTER_STATUSES`); a flag
    (`ROSTER_FLAGS`); the local day and the room of the team's slot.
    """
    students = User.objects.students().select_related("membership__project__lab")
    q = q.strip()
    if q:
        students = students.filter(User.name_query(q))
    if status == "free":
        students = students.filter(membership__isnull=True)
    elif status == "unbooked":
        students = students.filter(
            membership__isnull=False, membership__project__lab__isnull=True
        )
    elif status == "booked":
        students = students.filter(membership__project__lab__isnull=False)
    elif status in ("partial", "full"):
        # The teams of that status, worked out once: a subquery per student
        # (correlated) made PostgreSQL scan the memberships once per student
        # whenever its statistics were out of date.
        teams = Membership.objects.values("project").annotate(n=Count("pk"))
        if status == "full":
            teams = teams.filter(n__gte=settings.PAIRUP_TEAM_SIZE)
        else:
            teams = teams.filter(n__lt=settings.PAIRUP_TEAM_SIZE)
        students = students.filter(membership__project__in=teams.values("project"))
    if flag == "assign":
        students = students.filter(please_assign_me=True)
    elif flag == "looking":
        students = students.filter(looking_for_partner=True)
    elif flag == "either":
        students = students.filter(
            Q(please_assign_me=True) | Q(looking_for_partner=True)
        )
    elif flag == "none":
        students = students.filter(please_assign_me=False, looking_for_partner=False)
    if day is not None:
        tz = timezone.get_current_timezone()
        start = timezone.make_aware(datetime.combine(day, datetime.min.time()), tz)
        end = timezone.make_aware(
            datetime.combine(day + timedelta(days=1), datetime.min.time()), tz
        )
        students = students.filter(
            membership__project__lab__start__gte=start,
            membership__project__lab__start__lt=end,
        )
    if room:
        students = students.filter(membership__project__lab__room=room)
    return students.order_by("last_name", "first_name", "username")


def team_members(*, project_ids) -> dict[int, list[tuple[str, str]]]:
    """{project id: [(student number, display name), ...]} in joining order,
    in one query."""
    members: dict[int, list[tuple[str, str]]] = {pk: [] for pk in project_ids}
    rows = (
        Membership.objects.filter(project_id__in=list(members))
        .order_by("joined_at", "pk")
        .values_list(
            "project_id", "user__username", "user__preferred_name", "user__first_name"
        )
    )
    for project_id, username, preferred, first in rows:
        members[project_id].append((username, preferred or first or username))
    return members
