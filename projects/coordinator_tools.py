"""The coordinator's tools: pair the leftovers, place the unbooked, tell a
segment of the unit.

Pairing and placing each have a plan and an apply. The plan (read side:
`pairing_plan`, `placement_plan`) says what would happen now and changes
nothing; its order is fixed (students by number, teams by number, slots by
time and room), so the same unit gives the same plan, and its fingerprint
(`plan.key`) names it. The apply (write side: `pairings_apply`,
`placements_apply`) computes the plan afresh, refuses with `plan_changed`
when a fingerprint was given and no longer matches (the page sends the one
it showed), and carries it out through `projects.services`, one team at a
time, each in a transaction of its own: the same rules, booking records,
team rooms, notifications and live boards as every other path. A team that
can't be made or placed any more (a student paired meanwhile, a slot taken
a moment ago) is reported with the reason and costs the others nothing.

Announcements (`announcement_post`) go to a segment (`Segment`) through
`notifications.services.announcement_send` and are kept as `Announcement`
rows for the coordinator page's list.

Everything here is for coordinators only (ValidationError "forbidden"
otherwise).
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import require_coordinator
from notifications.models import Category
from notifications.services import MESSAGE_MAX, announcement_send, email_wanted
from pairup.dates import CLOCK, local_text, slot_label
from projects import selectors, services
from projects.models import Announcement, BookingRecord, Lab, Membership, Project

User = get_user_model()
Via = BookingRecord.Via

PAIRED_DESCRIPTION = "Paired by a coordinator: describe your project"
PLAN_CHANGED = (
    "Something changed since the preview (students paired or booked "
    "meanwhile): check the new preview and apply it again."
)
ODD_ONE_OUT = "Odd one out: no other free student left to pair with."
NO_SLOT_LEFT = "No free slot left that matches."


def _key(*parts) -> str:
    """A short fingerprint of a plan's content."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _day_range(day: date) -> tuple[datetime, datetime]:
    """The local day as [start, end) in aware datetimes (DST-safe)."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()), tz)
    end = timezone.make_aware(
        datetime.combine(day + timedelta(days=1), datetime.min.time()), tz
    )
    return start, end


# Pairing ------------------------------------------------------------------


class Scope(models.TextChoices):
    FLAGGED = (
        "flagged",
        "Students who asked: “please assign me”, then “looking for a partner”",
    )
    ALL = "all", "Every free student (those who asked first)"


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    name: str
    flag: str  # "assign", "looking" or ""

    def __str__(self):
        return f"{self.name} ({self.username})"


@dataclass
class PairingPlan:
    scope: str
    team_size: int
    teams: list[list[Person]] = field(default_factory=list)
    left_out: list[tuple[Person, str]] = field(default_factory=list)
    # Free students the scope leaves alone (they asked for nothing).
    not_asked: int = 0

    @property
    def key(self) -> str:
        return _key(
            self.scope,
            [[p.id for p in team] for team in self.teams],
            [p.id for p, _ in self.left_out],
        )

    @property
    def nothing_reason(self) -> str:
        """Why there is no team to make (when there is none)."""
        return _nothing_to_pair(self)


@dataclass
class PairingResult:
    scope: str
    key: str  # the plan that was carried out
    made: list[tuple[Project, list[Person]]] = field(default_factory=list)
    not_paired: list[tuple[Person, str]] = field(default_factory=list)
    not_asked: int = 0


def _chunks(people: list, size: int) -> list[list]:
    return [people[i : i + size] for i in range(0, len(people), size)]


def pairing_plan(*, scope: str = Scope.FLAGGED) -> PairingPlan:
    """Who would be paired with whom now (changes nothing; two queries).

    Free students by student number, in groups that share a flag: "please
    assign me" with each other first, then "looking for a partner", then
    (scope ALL) everyone else. Each group fills teams of PAIRUP_TEAM_SIZE;
    what is left of the groups fills teams together, in the same order. A
    last, smaller group of two or more becomes a team that isn't full (room
    for more, by invitation or the admin); a single student left over is
    listed (`left_out`), never added to a full team.
    """
    size = settings.PAIRUP_TEAM_SIZE
    rows = (
        User.objects.students()
        .filter(membership__isnull=True)
        .order_by("username")
        .values_list(
            "pk",
            "username",
            "first_name",
            "last_name",
            "preferred_name",
            "please_assign_me",
            "looking_for_partner",
        )
    )
    assign, looking, other = [], [], []
    for pk, username, first, last, preferred, assign_me, looking_flag in rows:
        name = " ".join(part for part in (first, last) if part) or username
        if preferred and preferred != first:
            name = f"{name} ({preferred})"
        if assign_me:
            assign.append(Person(pk, username, name, "assign"))
        elif looking_flag:
            looking.append(Person(pk, username, name, "looking"))
        else:
            other.append(Person(pk, username, name, ""))
    groups = [assign, looking]
    plan = PairingPlan(scope=scope, team_size=size)
    if scope == Scope.ALL:
        groups.append(other)
    else:
        plan.not_asked = len(other)
    remainder: list[Person] = []
    for group in groups:
        whole = len(group) - len(group) % size
        plan.teams += _chunks(group[:whole], size)
        remainder += group[whole:]
    for chunk in _chunks(remainder, size):
        if len(chunk) >= min(size, 2):
            plan.teams.append(chunk)
        else:
            plan.left_out += [(person, ODD_ONE_OUT) for person in chunk]
    return plan


def pairings_apply(
    *, actor, scope: str = Scope.FLAGGED, via: str, expected: str = ""
) -> PairingResult:
    """Pair the leftovers now: `pairing_plan(scope)` carried out, one team
    per transaction, through `project_create` and `membership_add` (acting
    as the coordinator: the window doesn't bind them).

    Not one transaction for all: each team commits on its own, so a student
    who paired meanwhile costs only their own team (reported in
    `not_paired`, with the reason), and each team's notifications and board
    updates go out as it commits. Raises ValidationError `plan_changed`
    when `expected` (a previewed plan's key) no longer matches, and
    `nothing_to_do` when there is no team to make.
    """
    require_coordinator(actor)
    plan = pairing_plan(scope=scope)
    if expected and expected != plan.key:
        raise ValidationError(PLAN_CHANGED, code="plan_changed")
    if not plan.teams:
        raise ValidationError(plan.nothing_reason, code="nothing_to_do")
    result = PairingResult(
        scope=scope,
        key=plan.key,
        not_paired=list(plan.left_out),
        not_asked=plan.not_asked,
    )
    for team in plan.teams:
        try:
            project = _pair_one(actor=actor, team=team, via=via)
        except ValidationError as error:
            reason = "Not paired: " + " ".join(error.messages)
            result.not_paired += [(person, reason) for person in team]
        else:
            result.made.append((project, team))
    return result


def _nothing_to_pair(plan: PairingPlan) -> str:
    if plan.left_out:
        return "Nothing to do: only one free student is left in this group."
    if plan.scope == Scope.FLAGGED:
        return "Nothing to do: no free student asked to be assigned or is looking."
    return "Nothing to do: every student has a project."


@transaction.atomic
def _pair_one(*, actor, team: list[Person], via: str) -> Project:
    """Make one planned team, or nothing (all in one transaction)."""
    ids = [person.id for person in team]
    users = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    for person in team:
        user = users.get(person.id)
        if user is None or not user.is_student:
            raise ValidationError(
                f"{person} is no longer a student.", code="not_student"
            )
    joined = set(
        Membership.objects.filter(user_id__in=ids).values_list("user_id", flat=True)
    )
    for person in team:
        if person.id in joined:
            raise ValidationError(
                f"{person} joined a team meanwhile.", code="already_member"
            )
    first, *others = team
    project = services.project_create(
        user=users[first.id], actor=actor, description=PAIRED_DESCRIPTION, via=via
    )
    for person in others:
        services.membership_add(
            actor=actor, project=project, student=users[person.id], via=via
        )
    project.refresh_from_db()
    return project


# Placing ------------------------------------------------------------------


@dataclass(frozen=True)
class TeamBrief:
    id: int
    name: str
    size: int

    def __str__(self):
        return self.name


@dataclass(frozen=True)
class SlotBrief:
    id: int
    label: str
    room: str
    start: datetime
    end: datetime

    def __str__(self):
        return self.label


@dataclass
class PlacementPlan:
    day: date | None
    room: str
    placed: list[tuple[TeamBrief, SlotBrief]] = field(default_factory=list)
    not_placed: list[tuple[TeamBrief, str]] = field(default_factory=list)
    # Every free slot that matches, in order: the apply's candidates.
    slots: list[SlotBrief] = field(default_factory=list)

    @property
    def key(self) -> str:
        return _key(
            self.day,
            self.room,
            [(team.id, slot.id) for team, slot in self.placed],
            [team.id for team, _ in self.not_placed],
        )

    @property
    def teams(self) -> list[TeamBrief]:
        return [team for team, _ in self.placed] + [t for t, _ in self.not_placed]

    @property
    def nothing_reason(self) -> str:
        """Why no team would get a slot (when none would)."""
        if not self.not_placed:
            return "Nothing to do: every team has a slot."
        return f"Nothing to do: {self.not_placed[0][1]}"


@dataclass
class PlacementResult:
    key: str  # the plan that was carried out
    placed: list[tuple[TeamBrief, SlotBrief]] = field(default_factory=list)
    not_placed: list[tuple[TeamBrief, str]] = field(default_factory=list)


def placement_slots(*, day: date | None = None, room: str = "", now=None):
    """Free, open slots past the booking cut-off, by time then room: the
    ones a placement may use (the window doesn't matter: a coordinator
    places), filtered by local day and room."""
    labs = selectors.bookable_labs(now=now)
    if day is not None:
        start, end = _day_range(day)
        labs = labs.filter(start__gte=start, start__lt=end)
    if room:
        labs = labs.filter(room=room)
    return labs.order_by("start", "room", "pk")


def _slot_brief(lab: Lab) -> SlotBrief:
    return SlotBrief(lab.pk, slot_label(lab), lab.room, lab.start, lab.end)


def placement_plan(*, day: date | None = None, room: str = "") -> PlacementPlan:
    """Which team would get which slot now (changes nothing; three queries).

    Every team without a slot, by team number, gets the earliest free slot
    that matches (by start time, then room: slots at the same time in
    several rooms go to successive teams, so rooms fill side by side).
    """
    room = (room or "").strip()
    plan = PlacementPlan(day=day, room=room)
    unbooked = list(
        Project.objects.filter(lab__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    teams = _team_briefs(unbooked)
    plan.slots = [_slot_brief(lab) for lab in placement_slots(day=day, room=room)]
    for team, slot in zip(teams, plan.slots, strict=False):
        plan.placed.append((team, slot))
    reason = NO_SLOT_LEFT if plan.slots else _no_slot_matches(day, room)
    plan.not_placed = [(team, reason) for team in teams[len(plan.placed) :]]
    return plan


def _team_briefs(project_ids: list[int]) -> list[TeamBrief]:
    """Each team's name (its members' display names, in joining order) and
    size, in the order given (one query)."""
    members: dict[int, list[str]] = {pk: [] for pk in project_ids}
    rows = (
        Membership.objects.filter(project_id__in=project_ids)
        .order_by("joined_at", "pk")
        .values_list(
            "project_id", "user__preferred_name", "user__first_name", "user__username"
        )
    )
    for project_id, preferred, first, username in rows:
        members[project_id].append(preferred or first or username)
    return [
        TeamBrief(
            pk,
            f"Team {pk}: {', '.join(members[pk])}" if members[pk] else f"Team {pk}",
            len(members[pk]),
        )
        for pk in project_ids
    ]


def _no_slot_matches(day: date | None, room: str) -> str:
    where = []
    if day is not None:
        where.append(f"on {day:%a %d %b %Y}")
    if room:
        where.append(f"in {room}")
    matching = f" {' '.join(where)}" if where else ""
    return (
        f"No free open slot{matching} starts more than "
        f"{settings.PAIRUP_BOOKING_CUTOFF_MINUTES} minutes from now."
    )


# A slot the apply can't use any more: try the next one.
SLOT_GONE = {"slot_taken", "slot_closed", "slot_cutoff", "slot_past", "slot_gone"}


def placements_apply(
    *, actor, day: date | None = None, room: str = "", via: str, expected: str = ""
) -> PlacementResult:
    """Place the unbooked now: `placement_plan(day, room)` carried out
    through `lab_book` (acting as the coordinator), one team per
    transaction.

    A slot taken, closed or inside the cut-off by the time its team's turn
    comes is skipped for the next free one that matches; a team that booked
    meanwhile or was dissolved is reported and keeps nothing from here.
    Raises ValidationError `plan_changed` when `expected` no longer matches,
    and `nothing_to_do` when no team would get a slot.
    """
    require_coordinator(actor)
    plan = placement_plan(day=day, room=room)
    if expected and expected != plan.key:
        raise ValidationError(PLAN_CHANGED, code="plan_changed")
    if not plan.placed:
        raise ValidationError(plan.nothing_reason, code="nothing_to_do")
    result = PlacementResult(key=plan.key)
    candidates = list(plan.slots)
    for team in plan.teams:
        reason = NO_SLOT_LEFT
        while candidates:
            slot = candidates[0]
            try:
                _place_one(actor=actor, team=team, slot=slot, via=via)
            except ValidationError as error:
                code = error.error_list[0].code
                if code in SLOT_GONE:
                    candidates.pop(0)
                    continue
                reason = "Not placed: " + " ".join(error.messages)
                break
            candidates.pop(0)
            result.placed.append((team, slot))
            reason = ""
            break
        if reason:
            result.not_placed.append((team, reason))
    return result


@transaction.atomic
def _place_one(*, actor, team: TeamBrief, slot: SlotBrief, via: str) -> None:
    """Book the slot for the team, if both are still as planned."""
    project = Project.objects.select_for_update().filter(pk=team.id).first()
    if project is None:
        raise ValidationError(f"{team} was dissolved meanwhile.", code="project_gone")
    if project.lab_id is not None:
        raise ValidationError(f"{team} booked a slot meanwhile.", code="has_slot")
    lab = Lab.objects.filter(pk=slot.id).first()
    if lab is None:
        raise ValidationError("That slot no longer exists.", code="slot_gone")
    refusal = selectors.slot_refusal(
        start=lab.start.timestamp(),
        is_open=lab.is_open,
        taken=Project.objects.filter(lab=lab).exists(),
        booking_open=True,
        now=timezone.now().timestamp(),
    )
    if refusal is not None:
        raise ValidationError("That slot can't be used now.", code=refusal)
    services.lab_book(user=actor, project=project, lab=lab, via=via)


# Announcements ------------------------------------------------------------


class Segment(models.TextChoices):
    EVERYONE = "everyone", "Every student"
    WITHOUT_PROJECT = "without_project", "Students without a project"
    WITHOUT_SLOT = "without_slot", "Teams without a slot"
    SLOT = "slot", "Teams presenting on a day or in a room"


@dataclass(frozen=True)
class Audience:
    segment: str
    label: str
    students: int
    by_email: int


def _clean_segment(segment: str, day: date | None, room: str) -> tuple:
    room = (room or "").strip()
    if segment not in Segment.values:
        raise ValidationError(
            {"segment": ValidationError("Pick who to tell.", code="invalid")}
        )
    if segment == Segment.SLOT and day is None and not room:
        raise ValidationError(
            {"day": ValidationError("Pick the day, the room or both.", code="invalid")}
        )
    if segment != Segment.SLOT:
        day, room = None, ""
    return segment, day, room


def _audience_label(segment: str, day: date | None, room: str) -> str:
    if segment != Segment.SLOT:
        return Segment(segment).label
    where = []
    if day is not None:
        where.append(f"on {day:%a %d %b %Y}")
    if room:
        where.append(f"in {room}")
    return f"Teams presenting {' '.join(where)}"


def audience_students(*, segment: str, day: date | None = None, room: str = ""):
    """The students a segment reaches (a QuerySet; coordinators never)."""
    segment, day, room = _clean_segment(segment, day, room)
    students = User.objects.students()
    if segment == Segment.WITHOUT_PROJECT:
        return students.filter(membership__isnull=True)
    if segment == Segment.WITHOUT_SLOT:
        return students.filter(
            membership__isnull=False, membership__project__lab__isnull=True
        )
    if segment == Segment.SLOT:
        where = Q(membership__project__lab__isnull=False)
        if day is not None:
            start, end = _day_range(day)
            where &= Q(
                membership__project__lab__start__gte=start,
                membership__project__lab__start__lt=end,
            )
        if room:
            where &= Q(membership__project__lab__room=room)
        return students.filter(where)
    return students


def _emailed(rows: list[tuple[int, str]]) -> int:
    """How many of (id, email) want announcement emails and have an address."""
    wanted = email_wanted(
        [SimpleNamespace(pk=pk) for pk, _ in rows], Category.ANNOUNCEMENTS
    )
    return sum(1 for pk, email in rows if email and pk in wanted)


def audience_preview(
    *, segment: str, day: date | None = None, room: str = ""
) -> Audience:
    """How many students a segment reaches, and how many of them by email
    (the others turned announcement emails off, or never turned them on:
    off is the default). Two queries."""
    segment, day, room = _clean_segment(segment, day, room)
    rows = list(
        audience_students(segment=segment, day=day, room=room).values_list(
            "pk", "email"
        )
    )
    return Audience(
        segment=segment,
        label=_audience_label(segment, day, room),
        students=len(rows),
        by_email=_emailed(rows),
    )


# The same message to the same segment this soon after is a repeat (a double
# click, a second tab, two coordinators at once), not a new announcement.
REPEAT_WINDOW = timedelta(minutes=1)

ANNOUNCEMENT_LINKS = {
    Segment.EVERYONE: "home",
    Segment.WITHOUT_PROJECT: "projects:student_search",
    Segment.WITHOUT_SLOT: "projects:lab_board",
    Segment.SLOT: "projects:schedule",
}


@transaction.atomic
def announcement_post(
    *, actor, segment: str, message: str, day: date | None = None, room: str = ""
) -> Announcement:
    """Tell a segment of the unit: in the page for each student, and by email
    for those who want announcement emails; keep the announcement for the
    coordinator page's list.

    Raises ValidationError: by field for a bad segment or message,
    `no_recipients` when the segment reaches nobody.
    """
    require_coordinator(actor)
    errors = {}
    try:
        segment, day, room = _clean_segment(segment, day, room)
    except ValidationError as error:
        errors.update(error.error_dict)
    text = (message or "").strip()
    if not text:
        errors["message"] = [ValidationError("Write the announcement.")]
    elif len(text) > MESSAGE_MAX:
        errors["message"] = [
            ValidationError(
                f"Keep it to {MESSAGE_MAX} characters (it has {len(text)})."
            )
        ]
    if errors:
        raise ValidationError(errors)
    rows = list(
        audience_students(segment=segment, day=day, room=room).values_list(
            "pk", "email"
        )
    )
    label = _audience_label(segment, day, room)
    if not rows:
        raise ValidationError(
            f"Nobody to tell: no student is in “{label}”.", code="no_recipients"
        )
    # The author's row serialises their sends (PostgreSQL; SQLite's
    # immediate transactions already queue), so a double click or a second
    # tab finds the first one sent.
    list(User.objects.select_for_update().filter(pk=actor.pk).values_list("pk"))
    if (
        sent := Announcement.objects.filter(
            message=text,
            audience=label,
            created_at__gte=timezone.now() - REPEAT_WINDOW,
        ).first()
    ) is not None:
        raise ValidationError(
            f"{sent.author_name} sent this announcement to “{label}” at "
            f"{local_text(sent.created_at, CLOCK)}: it was not sent again.",
            code="duplicate",
        )
    told = announcement_send(
        actor=actor,
        message=text,
        users=[pk for pk, _ in rows],
        link=reverse(ANNOUNCEMENT_LINKS[segment]),
    )
    return Announcement.objects.create(
        author=actor,
        author_name=actor.get_full_name() or actor.username,
        message=text,
        audience=label,
        recipients=told,
        by_email=_emailed(rows),
    )


def announcement_list(*, limit: int = 20) -> list[Announcement]:
    """The latest announcements, newest first (one query)."""
    return list(Announcement.objects.all()[:limit])
