"""Pages for teams, invitations, the lab board, the schedule and coordinators.

Views are thin: an access function or selector, a form, one service, a
redirect with a message (docs/rules.md, "Pages and outcomes").
"""

from datetime import UTC, date, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from accounts.permissions import coordinator_required
from pairup.dates import local_text, slot_label
from pairup.forms import add_service_errors
from projects import (
    ballot_selectors,
    ballot_services,
    board_cache,
    charts,
    coordinator_tools,
    exports,
    selectors,
    services,
)
from projects.coordinator_tools import Scope
from projects.forms import (
    AnnouncementForm,
    BoardFilterForm,
    InviteForm,
    PairingForm,
    PlacementForm,
    ProjectCreateForm,
    ProjectEditForm,
    RosterFilterForm,
    StudentSearchForm,
)
from projects.models import BookingRecord, BookingWindow, Project
from projects.realtime import window_frame
from projects.rows import RowRenderer, day_template

VIA_PAGE = BookingRecord.Via.PAGE
# Earlier than any slot: the printable sheets show past slots too.
EVER = datetime(2000, 1, 1, tzinfo=UTC)
NO_PROJECT = "You don't have a project yet. Create one first."
COORDINATOR_NO_PROJECT = (
    "Coordinators don't have a project; the coordinator page shows the unit's teams."
)


# Helpers ----------------------------------------------------------------


def _safe_next(request, default: str) -> str:
    """Return the posted `next` if it points to this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _message_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _not_for_staff(request, refusal: str) -> HttpResponse | None:
    """None for a student. A coordinator is sent to the coordinator page
    with a message (only students have projects); other staff get the 403
    page, as the coordinator page would give them."""
    if request.user.is_student:
        return None
    if request.user.is_coordinator:
        messages.info(request, COORDINATOR_NO_PROJECT)
        return redirect("projects:coordinator")
    raise PermissionDenied(refusal)


def _require_project(request) -> Project | HttpResponse:
    """Return the user's project, or where to go instead: a free student to
    /projects/new/ with the "create one" message (board.js, asking for JSON:
    a 409 `no_project`), a coordinator to the coordinator page
    (`_not_for_staff`)."""
    away = _not_for_staff(request, "Only students have projects.")
    if away is not None:
        return away
    project = selectors.project_for_user(user=request.user)
    if project is None:
        if _wants_json(request):
            # board.js (a release in the background) reads a redirect as
            # "signed out": answer as its other refusals, queue nothing.
            return _outcome(
                request, ok=False, text=NO_PROJECT, back="", code="no_project"
            )
        messages.info(request, NO_PROJECT)
        return redirect("projects:project_new")
    return project


# Board ------------------------------------------------------------------


def booking_state(window: BookingWindow, now) -> str:
    """Say whether booking is open, and until or from when."""
    if window.is_booking_open(now):
        if window.closes_at:
            return f"Booking is open until {local_text(window.closes_at)}."
        return "Booking is open."
    if window.booking_open and window.opens_at and now < window.opens_at:
        return f"Booking opens {local_text(window.opens_at)}."
    return "Booking is closed."


def _wants_json(request) -> bool:
    """board.js posts in the background and asks for JSON; a form doesn't."""
    return "application/json" in request.headers.get("Accept", "")


def _outcome(request, *, ok: bool, text: str, back: str, code: str = ""):
    """Answer a one-click action: JSON for board.js, else a message and a redirect."""
    if _wants_json(request):
        body = {"ok": ok, "message": text}
        if code:
            body["code"] = code
        return JsonResponse(body, status=200 if ok else 409)
    (messages.success if ok else messages.error)(request, text)
    return redirect(back)


def _error_code(error: ValidationError) -> str:
    codes = [e.code for e in getattr(error, "error_list", []) if e.code]
    return codes[0] if codes else "refused"


# Projects ---------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request):
    away = _not_for_staff(request, "Only students create projects.")
    if away is not None:
        return away
    if selectors.project_for_user(user=request.user) is not None:
        messages.info(request, "You already have a project.")
        return redirect("projects:project_mine")
    window = BookingWindow.get()
    with_partner = settings.PAIRUP_TEAM_SIZE > 1
    form = ProjectCreateForm(
        request.POST or None,
        labs=selectors.bookable_labs(),
        booking_open=window.is_booking_open(),
        with_partner=with_partner,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Teams of one show no partner field; one posted anyway (a form
        # loaded before) goes to the service, which refuses it.
        partner = data.get("partner", request.POST.get("partner", ""))
        try:
            project = services.project_create(
                user=request.user,
                description=data["description"],
                lab=data["lab"],
                partner_number=partner,
                via=VIA_PAGE,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            text = "Your project was created."
            invitation = project.invitations.select_related("invitee").first()
            if invitation is not None:
                invitee = invitation.invitee
                text += (
                    f" Invitation sent to {invitee.display_name} ({invitee.username})."
                )
            messages.success(request, text)
            return redirect("projects:project_mine")
    return render(
        request,
        "projects/project_new.html",
        {
            "form": form,
            "team_changes_open": window.team_changes_open,
            "with_partner": with_partner,
        },
    )


def _mine_context(
    request, project, *, edit_form=None, invite_form=None, window=None
) -> dict:
    _, outgoing = selectors.invitations_for_user(user=request.user, project=project)
    window = window or BookingWindow.get()
    now = timezone.now()
    return {
        "project": project,
        "members": project.member_list(),
        # The page also answers /projects/mine/invite/: each form says
        # where it posts.
        "edit_form": edit_form
        or ProjectEditForm(
            initial={"description": project.description},
            action=reverse("projects:project_mine"),
        ),
        "invite_form": invite_form
        or InviteForm(action=reverse("projects:project_invite")),
        "has_room": project.has_room(),
        "outgoing": outgoing,
        "window": window,
        "booking_open": window.is_booking_open(now),
        "slot_changeable": project.lab is not None
        and project.lab.is_before_cutoff(now),
        "slot_past": project.lab is not None and project.lab.is_past(now),
        "team_size": settings.PAIRUP_TEAM_SIZE,
        "dissolve_refusal": _refusal(
            services.project_dissolve_check, user=request.user, project=project
        ),
    }


def _refusal(check, **kwargs) -> str | None:
    """What a service's check refuses now, as the page says it; None: allowed."""
    try:
        check(**kwargs)
    except ValidationError as error:
        return _message_text(error)
    return None


@login_required
@require_http_methods(["GET", "POST"])
# Never from the browser's cache: Back from the board after booking there
# would show "No slot yet." (the board books with no page load).
@never_cache
def project_mine(request):
    window = None
    if request.method == "GET":
        # The first page after a ballot's closing time runs it if nothing
        # has, so the team's slot shows (before the project is read).
        window = ballot_services.current_window()
    project = _require_project(request)
    if not isinstance(project, Project):
        return project
    form = None
    if request.method == "POST":
        form = ProjectEditForm(request.POST, action=reverse("projects:project_mine"))
        if form.is_valid():
            try:
                services.project_update(
                    user=request.user,
                    project=project,
                    description=form.cleaned_data["description"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "The description was saved.")
                return redirect("projects:project_mine")
    context = _mine_context(request, project, edit_form=form, window=window)
    return render(request, "projects/project_mine.html", context)


@login_required
@require_POST
def project_invite(request):
    """Invite a student: from the project page (a form) or from search (one click)."""
    project = _require_project(request)
    if not isinstance(project, Project):
        return project
    one_click = bool(request.POST.get("next"))
    back = _safe_next(request, reverse("projects:project_mine"))
    form = InviteForm(request.POST, action=reverse("projects:project_invite"))
    if form.is_valid():
        try:
            invitation = services.invitation_send(
                user=request.user,
                project=project,
                invitee_number=form.cleaned_data["partner"],
            )
        except ValidationError as error:
            if one_click:
                messages.error(request, _message_text(error))
                return redirect(back)
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.invitee.display_name} "
                f"({invitation.invitee.username}).",
            )
            return redirect(back)
    elif one_click:
        messages.error(request, "Choose a student to invite.")
        return redirect(back)
    context = _mine_context(request, project, invite_form=form)
    return render(request, "projects/project_mine.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_release(request):
    project = _require_project(request)
    if not isinstance(project, Project):
        return project
    back = reverse("projects:project_mine")
    if project.lab is None:
        if request.method == "POST" and _wants_json(request):
            return _outcome(
                request,
                ok=False,
                text="Your team has no slot to release.",
                back=back,
                code="no_slot",
            )
        messages.info(request, "Your team has no slot to release.")
        return redirect(back)
    if request.method == "POST":
        lab = project.lab
        try:
            services.lab_release(user=request.user, project=project, via=VIA_PAGE)
        except ValidationError as error:
            return _outcome(
                request,
                ok=False,
                text=_message_text(error),
                back=back,
                code=_error_code(error),
            )
        return _outcome(
            request, ok=True, text=f"You released {slot_label(lab)}.", back=back
        )
    # Say why now, not after the confirm button.
    refusal = _refusal(services.lab_release_check, user=request.user, project=project)
    if refusal:
        messages.error(request, refusal)
        return redirect(back)
    return render(request, "projects/project_release.html", {"project": project})


@login_required
@require_http_methods(["GET", "POST"])
def project_dissolve(request):
    project = _require_project(request)
    if not isinstance(project, Project):
        return project
    if request.method == "POST":
        try:
            services.project_dissolve(user=request.user, project=project, via=VIA_PAGE)
        except ValidationError as error:
            messages.error(request, _message_text(error))
            return redirect("projects:project_mine")
        messages.success(
            request, f"{project} was dissolved. You are free to start again."
        )
        return redirect("home")
    # Say why now, not after the confirm button.
    refusal = _refusal(
        services.project_dissolve_check, user=request.user, project=project
    )
    if refusal:
        messages.error(request, refusal)
        return redirect("projects:project_mine")
    _, outgoing = selectors.invitations_for_user(user=request.user, project=project)
    return render(
        request,
        "projects/project_dissolve.html",
        {
            "project": project,
            "members": project.member_list(),
            "outgoing": outgoing,
            # A slot that has passed is let go, not released for booking.
            "slot_past": project.lab is not None and project.lab.is_past(),
        },
    )


# Invitations ------------------------------------------------------------


def _invitation_action(request, invitation_id, *, as_invitee, service, done):
    invitation = selectors.invitation_get_for_user(
        user=request.user, invitation_id=invitation_id, as_invitee=as_invitee
    )
    try:
        service(user=request.user, invitation=invitation)
    except ValidationError as error:
        messages.error(request, _message_text(error))
    else:
        messages.success(request, done(invitation))
    return redirect(_safe_next(request, reverse("home")))


@login_required
@require_POST
def invitation_accept(request, invitation_id):
    return _invitation_action(
        request,
        invitation_id,
        as_invitee=True,
        service=services.invitation_accept,
        done=lambda inv: f"You joined {inv.project}.",
    )


@login_required
@require_POST
def invitation_decline(request, invitation_id):
    return _invitation_action(
        request,
        invitation_id,
        as_invitee=True,
        service=services.invitation_decline,
        done=lambda inv: (
            f"You declined the invitation from {inv.inviter.display_name}."
        ),
    )


@login_required
@require_POST
def invitation_cancel(request, invitation_id):
    return _invitation_action(
        request,
        invitation_id,
        as_invitee=False,
        service=services.invitation_cancel,
        done=lambda inv: f"The invitation to {inv.invitee.display_name} was cancelled.",
    )


# Students ---------------------------------------------------------------


@login_required
@require_safe
def student_search(request):
    if not request.user.is_student:
        # Finding a partner is a student's; coordinators have the admin.
        raise PermissionDenied("Only students search for partners.")
    form = StudentSearchForm(request.GET or None)
    project = selectors.project_for_user(user=request.user)
    # Teams of one: still a way to look a student up, but nobody to invite.
    with_partner = settings.PAIRUP_TEAM_SIZE > 1
    results = []
    if form.is_valid():
        results = selectors.student_search(
            q=form.cleaned_data["q"], project=project, looking_first=with_partner
        )
    return render(
        request,
        "projects/student_search.html",
        {
            "form": form,
            "results": results,
            "searched": form.is_bound,
            "limit": selectors.SEARCH_LIMIT,
            "can_invite": with_partner and project is not None and project.has_room(),
            "with_partner": with_partner,
            # Only members invite: a free student is shown the way there.
            "invite_hint": with_partner and project is None,
            "back": request.get_full_path(),
        },
    )


# Lab board --------------------------------------------------------------


def _board_filter(request, facts) -> tuple[BoardFilterForm, str | None, str]:
    """Bind the day and room filter to the rooms and days that have slots."""
    rooms = sorted({f["room"] for f in facts})
    days = sorted({date.fromisoformat(f["day"]) for f in facts})
    form = BoardFilterForm(request.GET or None, rooms=rooms, days=days)
    day, room = None, ""
    if form.is_valid():
        day, room = form.cleaned_data["day"], form.cleaned_data["room"]
    return form, day.isoformat() if day else None, room


def _shown(facts, day: str | None, room: str) -> list[dict]:
    return [
        f
        for f in facts
        if (day is None or f["day"] == day) and (not room or f["room"] == room)
    ]


def _window_config(window: BookingWindow) -> dict:
    config = window_frame(window)
    del config["type"]
    return config


def _viewer_config(viewer: selectors.Viewer, project) -> dict:
    lab = project.lab if project is not None else None
    return {
        "project": viewer.project_id,
        "lab": lab.pk if lab is not None else None,
        "label": slot_label(lab) if lab is not None else "",
        "coordinator": viewer.is_coordinator,
    }


@login_required
@require_safe
# Never from the browser's cache: Back to the board would show the slots as
# they were (a booking just made missing) under "Live", as nothing resyncs a
# page that connects for the first time.
@never_cache
def lab_board(request):
    now = timezone.now()
    # The first page after a ballot's closing time runs it if nothing has.
    window = ballot_services.current_window(now)
    facts = board_cache.upcoming(now=now)
    form, day, room = _board_filter(request, facts)
    window_facts = selectors.window_facts(window)
    project = selectors.project_slot_for_user(user=request.user)
    viewer = selectors.viewer_for(user=request.user, project=project)
    ts = now.timestamp()
    booking_open = selectors.booking_open(window_facts, ts)
    csrf_token = get_token(request)
    renderer = RowRenderer(
        csrf_token=csrf_token,
        next_url=request.get_full_path(),
        has_project=project is not None,
        has_lab=project is not None and project.lab_id is not None,
        booking_open=booking_open,
        now=ts,
        cutoff=selectors.cutoff_seconds(),
    )
    groups: list[tuple[str, list[str]]] = []
    views = []
    shown = _shown(facts, day, room)
    for slot in shown:
        view = selectors.lab_view(slot, viewer, window_facts, ts)
        views.append(view)
        html = renderer.row(slot, view)
        if groups and groups[-1][0] == slot["day"]:
            groups[-1][1].append(html)
        else:
            groups.append((slot["day"], [html]))
    config = {
        "socket": "/ws/labs/",
        "framesUrl": reverse("projects:lab_frames"),
        "bookUrl": reverse("projects:lab_board"),
        "newProjectUrl": reverse("projects:project_new"),
        "csrfToken": csrf_token,
        "now": now.isoformat(),
        "cutoffMinutes": settings.PAIRUP_BOOKING_CUTOFF_MINUTES,
        "filter": {"day": day, "room": room},
        "window": _window_config(window),
        "viewer": _viewer_config(viewer, project),
    }
    return render(
        request,
        "projects/lab_board.html",
        {
            "form": form,
            "days_html": renderer.days(groups),
            "rows": views,
            "row_template": mark_safe(renderer.template_row()),  # noqa: S308
            "day_template": day_template(),
            "project": project,
            "window": window,
            "booking_open": booking_open,
            "booking_state": booking_state(window, now),
            "config": config,
            "cutoff_minutes": settings.PAIRUP_BOOKING_CUTOFF_MINUTES,
            "ballot": ballot_selectors.ballot_panel(
                user=request.user, project=project, window=window, facts=shown, now=now
            ),
        },
    )


@login_required
@require_safe
def lab_frames(request):
    """Every shown slot's frame for this user, with the window: board.js's
    one request to resync after its socket was away."""
    now = timezone.now()
    # A resync just after a ballot's closing time runs it if nothing has
    # (before the slots are read), as the board page does.
    window = ballot_services.current_window(now)
    facts = board_cache.upcoming(now=now)
    _, day, room = _board_filter(request, facts)
    window_facts = selectors.window_facts(window)
    project = selectors.project_slot_for_user(user=request.user)
    viewer = selectors.viewer_for(user=request.user, project=project)
    ts = now.timestamp()
    return JsonResponse(
        {
            "now": now.isoformat(),
            "window": _window_config(window),
            "viewer": _viewer_config(viewer, project),
            "labs": [
                selectors.lab_view(slot, viewer, window_facts, ts)
                for slot in _shown(facts, day, room)
            ],
        }
    )


@login_required
@require_POST
def lab_book(request, lab_id):
    lab = selectors.lab_get(lab_id=lab_id)
    back = _safe_next(request, reverse("projects:lab_board"))
    project = selectors.project_slot_for_user(user=request.user)
    if project is None:
        return _outcome(
            request,
            ok=False,
            text="Create a project before booking a slot.",
            back=back,
            code="no_project",
        )
    moving = project.lab is not None
    try:
        services.lab_book(user=request.user, project=project, lab=lab, via=VIA_PAGE)
    except ValidationError as error:
        return _outcome(
            request,
            ok=False,
            text=_message_text(error),
            back=back,
            code=_error_code(error),
        )
    verb = "moved to" if moving else "booked"
    return _outcome(
        request, ok=True, text=f"Your team {verb} {slot_label(lab)}.", back=back
    )


# Schedule ---------------------------------------------------------------


def _schedule_rows(labs, *, viewer, window) -> list[dict]:
    """Each slot as this user sees it (the board's rule for team names)."""
    facts = selectors.window_facts(window)
    now = timezone.now().timestamp()
    rows = []
    for lab in labs:
        view = selectors.lab_view(selectors.lab_facts(lab), viewer, facts, now)
        rows.append(
            {
                "lab": lab,
                "mine": view["mine"],
                "team_name": view["team"] or "",
                "description": view["description"] or "",
                "taken": getattr(lab, "project", None) is not None,
            }
        )
    return rows


@login_required
@require_safe
def schedule(request):
    # The first page after a ballot's closing time runs it if nothing has.
    window = ballot_services.current_window()
    viewer = selectors.viewer_get(user=request.user)
    labs = selectors.schedule_list(user=request.user, viewer=viewer, window=window)
    rows = _schedule_rows(labs, viewer=viewer, window=window)
    sheets = sorted(
        {(timezone.localtime(lab.start).date(), lab.room) for lab in labs},
    )
    return render(
        request,
        "projects/schedule.html",
        {"rows": rows, "window": window, "sheets": sheets},
    )


@login_required
@require_safe
def schedule_print(request):
    """A printable sheet of one room on one day (every slot, taken or not)."""
    rooms, days = selectors.lab_rooms_and_days(now=EVER)
    form = BoardFilterForm(request.GET, rooms=rooms, days=days)
    if not form.is_valid() or not (
        form.cleaned_data["day"] and form.cleaned_data["room"]
    ):
        raise Http404("Pick a room and a day.")
    day, room = form.cleaned_data["day"], form.cleaned_data["room"]
    window = ballot_services.current_window()
    labs = selectors.lab_board(day=day, room=room, now=EVER)
    viewer = selectors.viewer_get(user=request.user)
    rows = _schedule_rows(labs, viewer=viewer, window=window)
    return render(
        request,
        "projects/schedule_print.html",
        {"rows": rows, "day": day, "room": room, "window": window},
    )


# Coordinator ------------------------------------------------------------


# The page: counts, pictures and the table of students (the "live" parts,
# which `coordinator_live` renders again when the unit changes), and the
# tools, each with a page of its own (preview, then apply).

COORDINATOR_SOCKET = "/ws/labs/?view=coordinator"


def _fill_choices(fill) -> tuple[list[str], list[date]]:
    """The rooms and days with slots from today on (from the heatmap's data)."""
    return sorted({cell.room for cell in fill}), sorted({cell.day for cell in fill})


def _roster_row(student, members: dict) -> dict:
    membership = getattr(student, "membership", None)
    project = membership.project if membership is not None else None
    partners = []
    if project is not None:
        partners = [
            name for number, name in members[project.pk] if number != student.username
        ]
    return {
        "student": student,
        "project": project,
        "partners": partners,
        "room": max(settings.PAIRUP_TEAM_SIZE - len(members[project.pk]), 0)
        if project is not None
        else 0,
        "slot": slot_label(project.lab) if project and project.lab else "",
    }


def _roster(request, rooms, days) -> dict:
    """One page of the table of students, with the filters (four queries)."""
    form = RosterFilterForm(
        request.GET or None, rooms=rooms, days=days, auto_id="roster-%s"
    )
    students = selectors.roster_students(**form.filters())
    page = Paginator(students, form.page_size).get_page(request.GET.get("page"))
    project_ids = {
        student.membership.project_id
        for student in page
        if getattr(student, "membership", None) is not None
    }
    members = selectors.team_members(project_ids=project_ids)
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "roster_form": form,
        "roster_page": page,
        "roster_rows": [_roster_row(student, members) for student in page],
        "roster_query": query.urlencode(),
    }


def _live_context(request) -> dict:
    # The page asks again just after the ballot closes (coordinator.js):
    # with no worker to run it, this request does, as a student's page would.
    now = timezone.now()
    window = ballot_services.current_window(now)
    counts = selectors.coordinator_counts()
    fill = charts.slot_fill_data()
    rooms, days = _fill_choices(fill)
    progress = charts.progress_data(counts=counts)
    page_url = reverse("projects:coordinator")
    if request.GET:
        page_url += "?" + request.GET.urlencode()
    return {
        "counts": counts,
        "charts": [
            charts.pairing_chart(progress),
            charts.booking_chart(progress),
            charts.slot_fill_chart(fill),
        ],
        "rooms": rooms,
        "days": days,
        **_roster(request, rooms, days),
        "ballot": ballot_selectors.ballot_overview(now=now, window=window),
        # The ballot's buttons come back to the page, also from the fragment.
        "ballot_next": page_url,
    }


@login_required
@require_safe
@coordinator_required
def coordinator(request):
    context = _live_context(request)
    rooms, days = context["rooms"], context["days"]
    live_url = reverse("projects:coordinator_live")
    if context["roster_query"] or request.GET.get("page"):
        live_url += "?" + request.GET.urlencode()
    context.update(
        {
            # Several forms on one page: ids of their own.
            "pairing_form": PairingForm(auto_id="pair-%s"),
            "placement_form": PlacementForm(rooms=rooms, days=days, auto_id="place-%s"),
            "announcement_form": AnnouncementForm(
                rooms=rooms, days=days, auto_id="announce-%s"
            ),
            "announcements": coordinator_tools.announcement_list(),
            "live_config": {"socket": COORDINATOR_SOCKET, "liveUrl": live_url},
        }
    )
    return render(request, "projects/coordinator.html", context)


@login_required
@require_safe
@coordinator_required
def coordinator_live(request):
    """The page's live parts again (counts, pictures, the ballot, the table
    with the same filters and page): the page's one request after its socket
    says the unit or the ballot changed."""
    return render(request, "projects/_coordinator_live.html", _live_context(request))


PAIRING_RESULT = "coordinator_pairing_result"
PLACEMENT_RESULT = "coordinator_placement_result"


def _tool_refused(request, error: ValidationError, back: str):
    """A plan that changed, or nothing to do: say so and show the new preview."""
    level = messages.warning if _error_code(error) == "plan_changed" else messages.info
    level(request, _message_text(error))
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
@coordinator_required
def coordinator_pairings(request):
    """Pair the leftovers: the preview (GET), then apply it (POST)."""
    form = PairingForm(request.POST if request.method == "POST" else request.GET)
    scope = form.cleaned_data["scope"] if form.is_valid() else Scope.FLAGGED
    back = f"{reverse('projects:coordinator_pairings')}?scope={scope}"
    if request.method == "POST" and form.is_valid():
        try:
            result = coordinator_tools.pairings_apply(
                actor=request.user,
                scope=scope,
                via=VIA_PAGE,
                expected=request.POST.get("plan", ""),
            )
        except ValidationError as error:
            return _tool_refused(request, error, back)
        request.session[PAIRING_RESULT] = {
            "made": [
                {
                    "id": project.pk,
                    "members": [str(person) for person in team],
                }
                for project, team in result.made
            ],
            "not_paired": [
                {"person": str(person), "reason": reason}
                for person, reason in result.not_paired
            ],
        }
        paired = sum(len(team) for _, team in result.made)
        messages.success(
            request,
            f"Paired {paired} student(s) in {len(result.made)} new team(s); "
            f"{len(result.not_paired)} not paired.",
        )
        return redirect(back)
    return render(
        request,
        "projects/coordinator_pairings.html",
        {
            "form": PairingForm(initial={"scope": scope}),
            "plan": coordinator_tools.pairing_plan(scope=scope),
            "result": request.session.pop(PAIRING_RESULT, None),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@coordinator_required
def coordinator_placements(request):
    """Place the unbooked: the preview (GET), then apply it (POST)."""
    rooms, days = _fill_choices(charts.slot_fill_data())
    data = request.POST if request.method == "POST" else request.GET
    form = PlacementForm(data, rooms=rooms, days=days)
    day, room = None, ""
    if form.is_valid():
        day, room = form.cleaned_data["day"], form.cleaned_data["room"]
    query = urlencode({"day": day.isoformat() if day else "", "room": room})
    back = f"{reverse('projects:coordinator_placements')}?{query}"
    if request.method == "POST" and form.is_valid():
        try:
            result = coordinator_tools.placements_apply(
                actor=request.user,
                day=day,
                room=room,
                via=VIA_PAGE,
                expected=request.POST.get("plan", ""),
            )
        except ValidationError as error:
            return _tool_refused(request, error, back)
        request.session[PLACEMENT_RESULT] = {
            "placed": [
                {"team": team.name, "id": team.id, "slot": slot.label}
                for team, slot in result.placed
            ],
            "not_placed": [
                {"team": team.name, "id": team.id, "reason": reason}
                for team, reason in result.not_placed
            ],
        }
        messages.success(
            request,
            f"Placed {len(result.placed)} team(s); "
            f"{len(result.not_placed)} not placed.",
        )
        return redirect(back)
    return render(
        request,
        "projects/coordinator_placements.html",
        {
            "form": form,
            "plan": coordinator_tools.placement_plan(day=day, room=room),
            "result": request.session.pop(PLACEMENT_RESULT, None),
            "cutoff_minutes": settings.PAIRUP_BOOKING_CUTOFF_MINUTES,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@coordinator_required
def coordinator_announcements(request):
    """Write to a segment: "Preview" says how many it reaches; "Send" sends."""
    rooms, days = _fill_choices(charts.slot_fill_data())
    form = AnnouncementForm(request.POST or None, rooms=rooms, days=days)
    sending = request.POST.get("action") == "send"
    if not sending:
        form.fields["message"].required = False  # a preview needs no text yet
    audience = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        segment = {"segment": data["segment"], "day": data["day"], "room": data["room"]}
        try:
            if sending:
                sent = coordinator_tools.announcement_post(
                    actor=request.user, message=data["message"], **segment
                )
            else:
                audience = coordinator_tools.audience_preview(**segment)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if sending:
                messages.success(
                    request,
                    f"Sent to {sent.recipients} student(s) ({sent.audience}); "
                    f"{sent.by_email} by email.",
                )
                return redirect(f"{reverse('projects:coordinator')}#announcements")
    return render(
        request,
        "projects/coordinator_announcements.html",
        {
            "form": form,
            "audience": audience,
            "announcements": coordinator_tools.announcement_list(),
        },
    )


@login_required
@require_safe
@coordinator_required
def coordinator_students_csv(request):
    ballot_services.current_window()  # a ballot past its closing runs first
    return exports.students_without_project().response()


@login_required
@require_safe
@coordinator_required
def coordinator_teams_csv(request):
    ballot_services.current_window()  # a ballot past its closing runs first
    return exports.teams_without_slot().response()


@login_required
@require_safe
@coordinator_required
def coordinator_roster_csv(request):
    """The table of students with its filters (every page), as CSV."""
    rooms, days = _fill_choices(charts.slot_fill_data())
    form = RosterFilterForm(request.GET or None, rooms=rooms, days=days)
    ballot_services.current_window()  # a ballot past its closing runs first
    return exports.students(selectors.roster_students(**form.filters())).response()


@login_required
@require_safe
@coordinator_required
def coordinator_allocations_csv(request):
    ballot_services.current_window()  # a ballot past its closing runs first
    return exports.allocations().response()
