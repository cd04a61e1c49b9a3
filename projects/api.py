"""JSON API of teams and lab slots: the same services and rules as the pages.

Each endpoint finds what it acts on through a selector (missing, or not the
user's to see: 404), calls one service with `via=API`, and returns a schema.
The services' refusals become 409 (a rule) or 400 (the input) in
`pairup/api.py`.
"""

from datetime import date, datetime
from typing import Literal

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from accounts.permissions import require_coordinator
from pairup.api_errors import (
    MAX_ID,
    ApiError,
    QueryFilters,
    Text,
    error_responses,
)
from pairup.dates import FIRST_DAY, LAST_DAY, local
from projects import (
    ballot_services,
    board_cache,
    coordinator_tools,
    exports,
    selectors,
    services,
)
from projects.ballot_api import after_a_due_run
from projects.models import BookingRecord, BookingWindow, Invitation, Lab, Project

router = Router(tags=["projects"])
coordinator_router = Router(tags=["coordinator"])

VIA = BookingRecord.Via.API
NO_PROJECT = "You have no project yet: create one first."
CSV_RESPONSE = {
    "responses": {
        "200": {
            "description": "CSV with a UTF-8 BOM",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


def _my_project(user) -> Project:
    project = selectors.project_for_user(user=user)
    if project is None:
        raise ApiError(409, "no_project", NO_PROJECT)
    return project


def _require_student(user) -> None:
    if not user.is_student:
        raise ApiError(403, "forbidden", "Only students may do this.")


def _check_id(pk: int) -> int:
    """Ids past what a database column holds are simply not found."""
    if not 0 < pk <= MAX_ID:
        raise Http404
    return pk


# Schemas ------------------------------------------------------------------


class MemberOut(Schema):
    username: str
    display_name: str


class LabBrief(Schema):
    id: int
    room: str
    start: datetime
    end: datetime

    @staticmethod
    def resolve_start(lab):
        return local(lab.start)

    @staticmethod
    def resolve_end(lab):
        return local(lab.end)


class LabOut(Schema):
    id: int
    room: str
    start: datetime
    end: datetime
    state: str = Field(description='"free", "taken", "closed" or "past"')
    available: bool = Field(description="bookable right now")
    mine: bool
    team: str | None = Field(
        description="the team's name, to its members and coordinators, and to "
        "everyone once the schedule is published"
    )
    description: str | None = Field(
        description="the team's project, to whoever may see its name"
    )


class LabPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[LabOut]


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    members: list[MemberOut]
    lab: LabBrief | None
    created_at: datetime

    @staticmethod
    def resolve_name(project):
        return project.team_name

    @staticmethod
    def resolve_members(project):
        return project.member_list()

    @staticmethod
    def resolve_created_at(project):
        return local(project.created_at)


class CoordinatorProjectOut(ProjectOut):
    full: bool

    @staticmethod
    def resolve_full(project):
        return len(project.member_list()) >= _team_size()


class ProjectIn(Schema):
    description: Text
    lab: int | None = Field(None, description="a bookable slot's id")
    partner: Text = Field(
        "",
        description="a student number to invite (a 400 when PAIRUP_TEAM_SIZE is 1)",
    )


class ProjectPatch(Schema):
    description: Text


class InvitationOut(Schema):
    id: int
    status: str
    project_id: int
    description: str
    inviter: MemberOut
    invitee: MemberOut
    created_at: datetime

    @staticmethod
    def resolve_project_id(invitation):
        # A dissolved team's (cancelled) invitation keeps only its number.
        return invitation.project_id or invitation.project_number

    @staticmethod
    def resolve_description(invitation):
        return invitation.project.description if invitation.project else ""

    @staticmethod
    def resolve_created_at(invitation):
        return local(invitation.created_at)


class InvitationsOut(Schema):
    incoming: list[InvitationOut]
    outgoing: list[InvitationOut]


class InvitationIn(Schema):
    partner: Text = Field(description="the student number to invite")


class StudentOut(Schema):
    username: str
    display_name: str
    first_name: str
    last_name: str
    free: bool
    looking_for_partner: bool = Field(
        description="always false when PAIRUP_TEAM_SIZE is 1 (teams of one: "
        "nobody looks for a partner, and the page hides the flag)"
    )

    @staticmethod
    def resolve_free(user):
        return not user.has_project

    @staticmethod
    def resolve_looking_for_partner(user):
        # The stored flag is kept for a larger team size (the profile hides
        # it, PATCH /me refuses to change it); it means nothing in teams of one.
        return user.looking_for_partner and _team_size() > 1


class CoordinatorStudentOut(Schema):
    username: str
    display_name: str
    first_name: str
    last_name: str
    email: str
    project_id: int | None
    looking_for_partner: bool
    please_assign_me: bool

    @staticmethod
    def resolve_project_id(user):
        membership = getattr(user, "membership", None)
        return membership.project_id if membership else None


class ScheduleEntryOut(Schema):
    lab: LabBrief
    team: str
    description: str


class SummaryOut(Schema):
    students: int
    in_full_teams: int
    in_solo_projects: int
    without_project: int
    teams_with_slot: int
    teams_without_slot: int
    free_slots: int


class LabFilters(QueryFilters):
    day: date | None = Field(
        None,
        ge=FIRST_DAY,
        le=LAST_DAY,
        description="a local date (YYYY-MM-DD)",
    )
    room: Text = ""
    bookable: bool | None = Field(None, description="only slots bookable now")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10**9)


class SearchFilters(QueryFilters):
    q: Text = Field("", description="at least 2 characters")


class ProjectFilters(QueryFilters):
    booked: bool | None = Field(None, description="with a slot, or without")
    full: bool | None = Field(None, description="full teams, or not")


class StudentFilters(QueryFilters):
    q: Text = Field("", description="a name or number fragment")
    free: bool | None = Field(None, description="without a project, or with one")
    looking: bool | None = Field(None, description="looking for a partner")
    assign_me: bool | None = Field(None, description="asked to be assigned")


def _team_size() -> int:
    return settings.PAIRUP_TEAM_SIZE


# Labs -----------------------------------------------------------------------


@router.get("/labs", response={200: LabPage, **error_responses(400, 401)})
def lab_list(request, filters: Query[LabFilters]):
    """Upcoming slots by time and room, as the lab board shows them."""
    user = request.auth
    now = timezone.now()
    # The first GET after a ballot's closing time runs it if nothing has.
    window = selectors.window_facts(ballot_services.current_window(now))
    viewer = selectors.viewer_get(user=user)
    day = filters.day.isoformat() if filters.day else None
    room = filters.room.strip()
    ts = now.timestamp()
    items = []
    for slot in board_cache.upcoming(now=now):
        if (day and slot["day"] != day) or (room and slot["room"] != room):
            continue
        view = selectors.lab_view(slot, viewer, window, ts)
        if filters.bookable is not None and view["available"] != filters.bookable:
            continue
        items.append(
            {
                "id": slot["id"],
                "room": slot["room"],
                "start": slot["start"],
                "end": slot["end"],
                "state": view["state"],
                "available": view["available"],
                "mine": view["mine"],
                "team": view["team"],
                "description": view["description"],
            }
        )
    return {
        "count": len(items),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": items[filters.offset : filters.offset + filters.limit],
    }


@router.post(
    "/labs/{lab_id}/book",
    response={200: ProjectOut, **error_responses(401, 403, 404, 409)},
)
def lab_book(request, lab_id: int):
    """Book this slot for my project, or move my project to it."""
    lab = selectors.lab_get(lab_id=_check_id(lab_id))
    project = _my_project(request.auth)
    services.lab_book(user=request.auth, project=project, lab=lab, via=VIA)
    return selectors.project_for_user(user=request.auth)


@router.delete(
    "/me/project/lab",
    response={200: ProjectOut, **error_responses(401, 403, 409)},
)
def lab_release(request):
    """Release my project's slot."""
    project = _my_project(request.auth)
    services.lab_release(user=request.auth, project=project, via=VIA)
    return selectors.project_for_user(user=request.auth)


# My project -------------------------------------------------------------------


@router.get("/me/project", response={200: ProjectOut, **error_responses(401, 404)})
def project_get(request):
    project = selectors.project_for_user(user=request.auth)
    if project is None:
        raise ApiError(404, "not_found", NO_PROJECT)
    if project.lab_id is None:
        # Only a team without a slot takes part in a ballot: a closed one
        # that nothing ran yet runs now and may give it one.
        project, _window = after_a_due_run(
            user=request.auth,
            project=project,
            window=BookingWindow.get(),
            now=timezone.now(),
        )
    return project


@router.post(
    "/me/project",
    response={201: ProjectOut, **error_responses(400, 401, 403, 409)},
)
def project_create(request, payload: ProjectIn):
    """Create my project, optionally booking a slot and inviting a partner.

    Any error: nothing is created.
    """
    lab = None
    if payload.lab is not None:
        lab = (
            Lab.objects.filter(pk=payload.lab).first()
            if 0 < payload.lab <= MAX_ID
            else None
        )
        if lab is None:
            raise ApiError(
                400, "invalid", "No such slot.", errors={"lab": ["No such slot."]}
            )
    services.project_create(
        user=request.auth,
        description=payload.description,
        lab=lab,
        partner_number=payload.partner,
        via=VIA,
    )
    return Status(201, selectors.project_for_user(user=request.auth))


@router.patch(
    "/me/project",
    response={200: ProjectOut, **error_responses(400, 401, 403, 409)},
)
def project_update(request, payload: ProjectPatch):
    """Change my project's description."""
    project = _my_project(request.auth)
    services.project_update(
        user=request.auth, project=project, description=payload.description
    )
    return selectors.project_for_user(user=request.auth)


@router.delete(
    "/me/project",
    response={204: None, **error_responses(401, 403, 409)},
)
def project_dissolve(request):
    """Dissolve my project: its members are free, its slot is released."""
    project = _my_project(request.auth)
    services.project_dissolve(user=request.auth, project=project, via=VIA)
    return Status(204, None)


# Invitations --------------------------------------------------------------------


@router.get("/me/invitations", response={200: InvitationsOut, **error_responses(401)})
def invitation_list(request):
    """Pending invitations to me, and from my project."""
    project = selectors.project_for_user(user=request.auth)
    incoming, outgoing = selectors.invitations_for_user(
        user=request.auth, project=project
    )
    return {"incoming": incoming, "outgoing": outgoing}


@router.post(
    "/me/project/invitations",
    response={201: InvitationOut, **error_responses(400, 401, 403, 409)},
)
def invitation_send(request, payload: InvitationIn):
    """Invite a free student (by student number) to my project."""
    project = _my_project(request.auth)
    invitation = services.invitation_send(
        user=request.auth, project=project, invitee_number=payload.partner
    )
    return Status(201, _invitation(invitation.pk))


def _invitation(pk: int) -> Invitation:
    return Invitation.objects.select_related("project", "inviter", "invitee").get(pk=pk)


@router.post(
    "/invitations/{invitation_id}/accept",
    response={200: ProjectOut, **error_responses(401, 403, 404, 409)},
)
def invitation_accept(request, invitation_id: int):
    """Join the inviting team (I must be free, the team must have room)."""
    invitation = selectors.invitation_get_for_user(
        user=request.auth, invitation_id=_check_id(invitation_id), as_invitee=True
    )
    services.invitation_accept(user=request.auth, invitation=invitation)
    return selectors.project_for_user(user=request.auth)


@router.post(
    "/invitations/{invitation_id}/decline",
    response={200: InvitationOut, **error_responses(401, 403, 404, 409)},
)
def invitation_decline(request, invitation_id: int):
    invitation = selectors.invitation_get_for_user(
        user=request.auth, invitation_id=_check_id(invitation_id), as_invitee=True
    )
    services.invitation_decline(user=request.auth, invitation=invitation)
    return _invitation(invitation.pk)


@router.post(
    "/invitations/{invitation_id}/cancel",
    response={200: InvitationOut, **error_responses(401, 403, 404, 409)},
)
def invitation_cancel(request, invitation_id: int):
    """Withdraw an invitation my project sent."""
    invitation = selectors.invitation_get_for_user(
        user=request.auth, invitation_id=_check_id(invitation_id), as_invitee=False
    )
    services.invitation_cancel(user=request.auth, invitation=invitation)
    return _invitation(invitation.pk)


# Students and the schedule ----------------------------------------------------


@router.get(
    "/students",
    response={200: list[StudentOut], **error_responses(400, 401, 403)},
)
def student_search(request, filters: Query[SearchFilters]):
    """Find students by name or number, "looking for a partner" first (50 at most;
    by name alone in teams of one, as the page)."""
    _require_student(request.auth)
    return selectors.student_search(q=filters.q, looking_first=_team_size() > 1)


@router.get("/schedule", response={200: list[ScheduleEntryOut], **error_responses(401)})
def schedule(request):
    """Who presents when: my own team, and everyone's once it is published."""
    window = ballot_services.current_window()
    return [
        {
            "lab": lab,
            "team": lab.project.team_name,
            "description": lab.project.description,
        }
        for lab in selectors.schedule_list(user=request.auth, window=window)
    ]


# Coordinators ---------------------------------------------------------------


@coordinator_router.get(
    "/summary", response={200: SummaryOut, **error_responses(401, 403)}
)
def coordinator_summary(request):
    """The unit at a glance, as on the coordinator's page."""
    require_coordinator(request.auth)
    ballot_services.current_window()  # a ballot past its closing runs first
    return selectors.coordinator_counts()


@coordinator_router.get(
    "/projects",
    response={200: list[CoordinatorProjectOut], **error_responses(400, 401, 403)},
)
def coordinator_projects(request, filters: Query[ProjectFilters]):
    """Every team with its members and slot."""
    require_coordinator(request.auth)
    ballot_services.current_window()  # a ballot past its closing runs first
    size = _team_size()
    projects = selectors.allocation_list()
    if filters.booked is not None:
        projects = [p for p in projects if (p.lab_id is not None) == filters.booked]
    if filters.full is not None:
        projects = [
            p for p in projects if (len(p.member_list()) >= size) == filters.full
        ]
    return projects


@coordinator_router.get(
    "/students",
    response={200: list[CoordinatorStudentOut], **error_responses(400, 401, 403)},
)
def coordinator_students(request, filters: Query[StudentFilters]):
    """Every student, with their flags and project."""
    require_coordinator(request.auth)
    ballot_services.current_window()  # a ballot past its closing runs first
    return selectors.student_list(**filters.dict())


@coordinator_router.get(
    "/students.csv",
    response=error_responses(403),
    openapi_extra=CSV_RESPONSE,
)
def coordinator_students_csv(request):
    """Students without a project, with their flags, as CSV (the coordinator
    page's file)."""
    require_coordinator(request.auth)
    ballot_services.current_window()  # a ballot past its closing runs first
    return exports.students_without_project().response()


@coordinator_router.get(
    "/projects.csv",
    response=error_responses(403),
    openapi_extra=CSV_RESPONSE,
)
def coordinator_projects_csv(request):
    """Teams without a slot, with their members, as CSV (the coordinator
    page's file)."""
    require_coordinator(request.auth)
    ballot_services.current_window()  # a ballot past its closing runs first
    return exports.teams_without_slot().response()


@coordinator_router.get(
    "/allocations.csv",
    response=error_responses(403),
    openapi_extra=CSV_RESPONSE,
)
def coordinator_allocations_csv(request):
    """Every team with its members and slot, as CSV (`export_allocations`'
    file)."""
    require_coordinator(request.auth)
    ballot_services.current_window()  # a ballot past its closing runs first
    return exports.allocations().response()


# Coordinators' tools ----------------------------------------------------------

PLAN_FIELD = Field(
    "",
    description="the `plan` of a dry run: with it, a unit that changed since "
    "is refused (409 `plan_changed`) instead of applied",
)
DRY_RUN_FIELD = Field(False, description="say what would happen; change nothing")


class ToolIn(Schema):
    """A coordinator tool's body: it acts on many students, so a field it
    doesn't know (a misspelt `dry_run`) is a 400, never ignored."""

    model_config = ConfigDict(extra="forbid")


class PersonOut(Schema):
    username: str
    name: str


class PairingIn(ToolIn):
    scope: Literal["flagged", "all"] = Field(
        "flagged",
        description='"flagged": students who asked ("please assign me", then '
        '"looking for a partner"); "all": every free student, those who asked '
        "first",
    )
    dry_run: bool = DRY_RUN_FIELD
    plan: Text = PLAN_FIELD


class PairedTeamOut(Schema):
    id: int | None = Field(description="the new team (null in a dry run)")
    members: list[PersonOut]


class NotPairedOut(Schema):
    student: PersonOut
    reason: str


class PairingOut(Schema):
    dry_run: bool
    scope: str
    plan: str
    teams: list[PairedTeamOut]
    not_paired: list[NotPairedOut]
    not_asked: int = Field(
        description='free students the "flagged" scope leaves alone (they '
        "asked for nothing)"
    )


class PlacementIn(ToolIn):
    day: date | None = Field(
        None,
        ge=FIRST_DAY,
        le=LAST_DAY,
        description="only slots on this local date (YYYY-MM-DD)",
    )
    room: Text = Field("", description="only slots in this room")
    dry_run: bool = DRY_RUN_FIELD
    plan: Text = PLAN_FIELD


class TeamRefOut(Schema):
    id: int
    name: str


class PlacedOut(Schema):
    team: TeamRefOut
    lab: LabBrief


class NotPlacedOut(Schema):
    team: TeamRefOut
    reason: str


class PlacementOut(Schema):
    dry_run: bool
    plan: str
    placed: list[PlacedOut]
    not_placed: list[NotPlacedOut]


class AnnouncementIn(ToolIn):
    segment: Literal["everyone", "without_project", "without_slot", "slot"] = Field(
        description="who is told: every student, students without a project, "
        'teams without a slot, or ("slot") teams presenting on `day` and/or in '
        "`room`"
    )
    day: date | None = Field(None, ge=FIRST_DAY, le=LAST_DAY)
    room: Text = ""
    message: Text = Field(
        "", description="1 to 900 characters (not needed for a dry run)"
    )
    dry_run: bool = DRY_RUN_FIELD


class AnnouncementOut(Schema):
    dry_run: bool
    id: int | None = Field(description="the announcement (null in a dry run)")
    audience: str
    students: int = Field(description="students told in the page")
    by_email: int = Field(description="of them, those who get it by email too")


def _person(person) -> dict:
    return {"username": person.username, "name": person.name}


def _team_ref(team) -> dict:
    return {"id": team.id, "name": team.name}


@coordinator_router.post(
    "/pairings",
    response={200: PairingOut, **error_responses(400, 401, 403, 409)},
)
def coordinator_pairings(request, payload: PairingIn):
    """Pair the leftovers: free students who share a flag with each other
    first, in teams of PAIRUP_TEAM_SIZE; an odd one out is listed. With
    `dry_run`, only say who would be paired. 409 `nothing_to_do` when there
    is no team to make, `plan_changed` when `plan` no longer matches."""
    require_coordinator(request.auth)
    if payload.dry_run:
        outcome = coordinator_tools.pairing_plan(scope=payload.scope)
        made = [(None, team) for team in outcome.teams]
        not_paired = outcome.left_out
    else:
        outcome = coordinator_tools.pairings_apply(
            actor=request.auth, scope=payload.scope, via=VIA, expected=payload.plan
        )
        made = [(project.pk, team) for project, team in outcome.made]
        not_paired = outcome.not_paired
    return {
        "dry_run": payload.dry_run,
        "scope": payload.scope,
        "plan": outcome.key,
        "teams": [
            {"id": project_id, "members": [_person(p) for p in team]}
            for project_id, team in made
        ],
        "not_paired": [
            {"student": _person(person), "reason": reason}
            for person, reason in not_paired
        ],
        "not_asked": outcome.not_asked,
    }


@coordinator_router.post(
    "/placements",
    response={200: PlacementOut, **error_responses(400, 401, 403, 409)},
)
def coordinator_placements(request, payload: PlacementIn):
    """Place the unbooked: each team without a slot, by number, gets the
    earliest free open slot past the cut-off (by time, then room), on `day`
    and in `room` if given. With `dry_run`, only say who would go where.
    409 `nothing_to_do` when no team would get a slot, `plan_changed` when
    `plan` no longer matches."""
    require_coordinator(request.auth)
    room = payload.room.strip()
    if payload.dry_run:
        outcome = coordinator_tools.placement_plan(day=payload.day, room=room)
    else:
        outcome = coordinator_tools.placements_apply(
            actor=request.auth,
            day=payload.day,
            room=room,
            via=VIA,
            expected=payload.plan,
        )
    return {
        "dry_run": payload.dry_run,
        "plan": outcome.key,
        "placed": [
            {"team": _team_ref(team), "lab": slot} for team, slot in outcome.placed
        ],
        "not_placed": [
            {"team": _team_ref(team), "reason": reason}
            for team, reason in outcome.not_placed
        ],
    }


@coordinator_router.post(
    "/announcements",
    response={
        200: AnnouncementOut,
        201: AnnouncementOut,
        **error_responses(400, 401, 403, 409),
    },
)
def coordinator_announcements(request, payload: AnnouncementIn):
    """Tell a segment of the unit: in the page, and by email for those who
    turned announcement emails on. With `dry_run`, only count who it
    reaches (200); sent, 201. 409 `no_recipients` when nobody is in the
    segment."""
    require_coordinator(request.auth)
    segment = {"segment": payload.segment, "day": payload.day, "room": payload.room}
    if payload.dry_run:
        audience = coordinator_tools.audience_preview(**segment)
        return {
            "dry_run": True,
            "id": None,
            "audience": audience.label,
            "students": audience.students,
            "by_email": audience.by_email,
        }
    sent = coordinator_tools.announcement_post(
        actor=request.auth, message=payload.message, **segment
    )
    return Status(
        201,
        {
            "dry_run": False,
            "id": sent.pk,
            "audience": sent.audience,
            "students": sent.recipients,
            "by_email": sent.by_email,
        },
    )
