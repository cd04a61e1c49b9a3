import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from pairup import health
from projects.ballot_selectors import DUE, ballot_state, ballot_status
from projects.ballot_services import window_after_a_due_run
from projects.models import BookingWindow
from projects.selectors import invitations_for_user, project_for_user


@require_GET
# Never from the browser's cache: Back from the board after booking there
# (in the background, with no page load) would show "none yet".
@never_cache
def home(request):
    """Show the landing page, or the signed-in user's dashboard."""
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    project = project_for_user(user=request.user)
    # What to do next depends on the window: no step the rules would refuse.
    window = BookingWindow.get()
    ballot = None
    if project is not None:
        # A team's line about the ballot. The first page after a ballot's
        # closing time runs it if nothing has; the team may have a slot then.
        if ballot_state(window) == DUE:
            window = window_after_a_due_run(window)
            project = project_for_user(user=request.user)
        ballot = ballot_status(project=project, window=window)
    incoming, outgoing = [], []  # staff are never invited
    if request.user.is_student or project is not None:
        incoming, outgoing = invitations_for_user(user=request.user, project=project)
    members = project.member_list() if project else []
    return render(
        request,
        "dashboard.html",
        {
            "project": project,
            "partners": [m for m in members if m.pk != request.user.pk],
            "has_room": project.has_room() if project else False,
            "slot_past": bool(project and project.lab and project.lab.is_past()),
            "incoming": incoming,
            # An invitation to a full team (the team size was lowered since)
            # can't be accepted: no step sends the student to it.
            "joinable": any(i.project.has_room() for i in incoming),
            "outgoing": outgoing,
            "ballot": ballot,
            "team_changes_open": window.team_changes_open,
        },
    )


@never_cache
@require_safe
def healthz(request):
    """Answer 200 when the database and Redis (if configured) answer, else
    503 naming what failed. For the proxy and monitoring: no sign-in, no
    session, no template."""
    report = health.report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


# Seconds a client is told to wait when the database is busy or away.
RETRY_AFTER = 5


def server_error(request):
    # No request context: the failure may be the database the user lookup
    # needs, and an error page must not fail in turn.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        # No free pooled connection within its timeout, or the database
        # refusing connections: the request may well work in a moment.
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    return HttpResponseServerError(loader.get_template("500.html").render())


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)
