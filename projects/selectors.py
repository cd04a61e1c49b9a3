"""Read side of teams and lab slots: queries and access checks."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    When,
)
from django.http import Http404
from django.utils import timezone

from projects.models import BookingWindow, Invitation, Lab, Membership, Project

User = get_user_model()

SEARCH_MIN_CHARS = 2
SEARCH_LIMIT = 50


def _members_prefetch() -> Prefetch:
    return Prefetch(
        "memberships",
        queryset=Membership.objects.select_related("user").order_by("joined_at", "pk"),
    )


def project_for_user(*, user) -> Project | None:
    """Return the user's project with its lab and members preloaded, or None."""
    if not user.is_authenticated:
        return None
    return (
        Project.objects.select_related("lab")
        .prefetch_related(_members_prefetch())
        .filter(memberships__user=user)
        .first()
    )


def project_get_for_user(*, user, project_id: int) -> Project:
    """Return the project if the user is a member or a coordinator.

    Raise Http404 when it is missing or not the user's to see, so existence
    never leaks.
    """
    if not user.is_authenticated:
        raise Http404("No such project.")
    project = (
        Project.objects.select_related("lab")
        .prefetch_related(_members_prefetch())
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
    """Return the invitation to its invitee, or to a member of the inviting project.

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
    if not Membership.objects.filter(
        user=user, project_id=invitation.project_id
    ).exists():
        raise Http404("No such invitation.")
    return invitation


def invitations_for_user(*, user, project: Project | None) -> tuple[list, list]:
    """Return (pending invitations to the user, pending ones from their project)."""
    incoming = list(
        Invitation.objects.filter(invitee=user, status=Invitation.Status.PENDING)
        .select_related("inviter", "project")
        .prefetch_related(
            Prefetch(
                "project__memberships",
                queryset=Membership.objects.select_related("user"),
            )
        )
    )
    outgoing = []
    if project is not None:
        outgoing = list(
            Invitation.objects.filter(
                project=project, status=Invitation.Status.PENDING
            ).select_related("invitee", "inviter")
        )
    return incoming, outgoing


@dataclass(frozen=True)
class SlotState:
    state: str  # "free" | "taken" | "closed" | "past"
    available: bool  # bookable right now by a student


def lab_state(
    lab: Lab, *, has_project: bool, booking_open: bool, now: datetime
) -> SlotState:
    """Return the slot's state for the board and `/ws/labs/` frames."""
    if lab.start <= now:
        return SlotState("past", False)
    if has_project:
        return SlotState("taken", False)
    if not lab.is_open:
        return SlotState("closed", False)
    return SlotState("free", booking_open and lab.is_before_cutoff(now))


def lab_is_bookable(lab: Lab, *, window: BookingWindow | None = None, now=None) -> bool:
    now = now or timezone.now()
    window = window or BookingWindow.get()
    has_project = Project.objects.filter(lab=lab).exists()
    return lab_state(
        lab, has_project=has_project, booking_open=window.is_booking_open(now), now=now
    ).available


def bookable_labs(*, now=None) -> QuerySet:
    """Free, open slots past the cut-off (the booking window is not checked)."""
    now = now or timezone.now()
    cutoff = now + timedelta(minutes=settings.PAIRUP_BOOKING_CUTOFF_MINUTES)
    return Lab.objects.filter(is_open=True, start__gt=cutoff, project__isnull=True)


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
    labs = labs.prefetch_related(
        Prefetch(
            "project__memberships", queryset=Membership.objects.select_related("user")
        )
    )
    return list(labs.order_by("start", "room"))


def lab_get(*, lab_id: int) -> Lab:
    """Return one slot with its project and members preloaded (for a board row).

    Raise Http404 when it does not exist. Every signed-in user may see a slot.
    """
    lab = (
        Lab.objects.select_related("project")
        .prefetch_related(
            Prefetch(
                "project__memberships",
                queryset=Membership.objects.select_related("user"),
            )
        )
        .filter(pk=lab_id)
        .first()
    )
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


def student_search(*, q: str) -> list:
    """Find students by name or number; free "looking" students first, then
    other "looking" ones, then by last name.

    Each result has `has_project` annotated. Fewer than two characters find
    nothing.
    """
    q = q.strip()
    if len(q) < SEARCH_MIN_CHARS:
        return []
    return list(
        User.objects.students()
        .filter(User.name_query(q))
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
            "-free_and_looking",
            "-looking_for_partner",
            "last_name",
            "first_name",
            "username",
        )[:SEARCH_LIMIT]
    )


def schedule_list(*, user) -> list[Lab]:
    """Booked slots by time: the user's own always, everyone's once published.

    Coordinators see every booking.
    """
    labs = (
        Lab.objects.filter(project__isnull=False)
        .select_related("project")
        .prefetch_related(
            Prefetch(
                "project__memberships",
                queryset=Membership.objects.select_related("user"),
            )
        )
        .order_by("start", "room")
    )
    if not (user.is_coordinator or BookingWindow.get().schedule_published):
        labs = labs.filter(project__memberships__user=user)
    return list(labs)


def coordinator_overview() -> dict:
    """Counts and lists for the coordinator's page, in a fixed number of queries."""
    team_size = settings.PAIRUP_TEAM_SIZE
    students = User.objects.students()
    projects = Project.objects.annotate(size=Count("memberships"))
    free_students = list(
        students.filter(membership__isnull=True).order_by(
            "last_name", "first_name", "username"
        )
    )
    unbooked = list(
        Project.objects.filter(lab__isnull=True)
        .prefetch_related(_members_prefetch())
        .order_by("pk")
    )
    counts = {
        "students": students.count(),
        "in_full_teams": Membership.objects.filter(
            user__in=students, project__in=projects.filter(size__gte=team_size)
        ).count(),
        "in_solo_projects": Membership.objects.filter(
            user__in=students, project__in=projects.filter(size=1)
        ).count(),
        "without_project": len(free_students),
        "teams_with_slot": Project.objects.filter(lab__isnull=False).count(),
        "teams_without_slot": len(unbooked),
        "free_slots": Lab.objects.filter(
            project__isnull=True, is_open=True, start__gt=timezone.now()
        ).count(),
    }
    return {
        "counts": counts,
        "free_students": free_students,
        "unbooked_projects": unbooked,
    }


def allocation_list() -> list[Project]:
    """Every team with its slot and members preloaded: booked ones by start
    time, then unbooked ones by team number (for exports)."""
    return list(
        Project.objects.select_related("lab")
        .prefetch_related(_members_prefetch())
        .order_by(F("lab__start").asc(nulls_last=True), "lab__room", "pk")
    )


def allocation_rows() -> tuple[list[str], list[list]]:
    """Return the header and rows of the allocations CSV.

    One row per team: team, description, each member's number and display
    name (up to PAIRUP_TEAM_SIZE), then the slot's room, local date, start
    and end in TIME_ZONE (blank when the team has no slot).
    """
    size = settings.PAIRUP_TEAM_SIZE
    tz_name = settings.TIME_ZONE
    header = ["team", "description"]
    for n in range(1, size + 1):
        header += [f"member {n} number", f"member {n} name"]
    header += ["room", "date", f"start ({tz_name})", f"end ({tz_name})"]
    rows = []
    for project in allocation_list():
        row = [project.pk, project.description]
        members = project.member_list()[:size]
        for member in members:
            row += [member.username, member.get_full_name() or member.display_name]
        row += ["", ""] * (size - len(members))
        if project.lab is None:
            row += ["", "", "", ""]
        else:
            start = timezone.localtime(project.lab.start)
            end = timezone.localtime(project.lab.end)
            row += [
                project.lab.room,
                f"{start:%Y-%m-%d}",
                f"{start:%H:%M}",
                f"{end:%H:%M}",
            ]
        rows.append(row)
    return header, rows


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
