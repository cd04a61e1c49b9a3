"""Pages of the ballot: a team ranks slots on the board (without JavaScript,
a form that posts the ordered list), and coordinators see it, set the
booking mode, dry-run it and run it now.

Thin, as the other views: parse, call one service, redirect with a message.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import coordinator_required
from projects import ballot_selectors, ballot_services, selectors, services
from projects.ballot_forms import BookingModeForm, posted_ranking
from projects.models import BallotRun, BookingWindow
from projects.views import _message_text, _safe_next

Trigger = BallotRun.Trigger


def _slots(count: int) -> str:
    return f"{count} slot{'' if count == 1 else 's'}"


@login_required
@require_POST
def ballot_rank(request):
    """Save the team's ranking as posted (the board's form, without JS)."""
    back = _safe_next(request, reverse("projects:lab_board")) + "#ballot"
    project = selectors.project_for_user(user=request.user)
    if project is None:
        messages.error(request, "Create or join a project before ranking slots.")
        return redirect(back)
    try:
        ranking = posted_ranking(request.POST)
        ballot_services.ballot_save(user=request.user, project=project, lab_ids=ranking)
    except ValidationError as error:
        messages.error(request, f"Not saved: {_message_text(error)}")
        return redirect(back)
    if ranking:
        messages.success(request, f"Your ranking was saved: {_slots(len(ranking))}.")
    else:
        messages.success(request, "Your ranking was saved: it is empty.")
    return redirect(back)


def run_text(run: BallotRun) -> str:
    kind = "Dry run" if run.dry_run else "The ballot ran"
    return (
        f"{kind}: {run.placed} of {run.ranked} teams that ranked placed, "
        f"{run.first_choices} with their first choice, {run.top_three} in "
        f"their top 3; {run.unplaced} unplaced, {run.unranked} ranked nothing."
    )


@login_required
@require_http_methods(["GET", "POST"])
@coordinator_required
def coordinator_ballot(request):
    """The ballot's page: its state and runs, and the booking mode."""
    window = BookingWindow.get()
    form = BookingModeForm(request.POST or None, instance=window)
    if request.method == "POST" and form.is_valid():
        try:
            services.booking_window_update(
                actor=request.user, window=form.instance, fields=form.changed_data
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "The booking mode was saved.")
            return redirect("projects:coordinator_ballot")
    runs = BallotRun.objects.defer("ballots", "allocation")[:10]
    return render(
        request,
        "projects/coordinator_ballot.html",
        {
            "form": form,
            "ballot": ballot_selectors.ballot_overview(),
            "runs": [ballot_selectors.run_summary(run) for run in runs],
            "on_ballot_page": True,
            "time_zone": settings.TIME_ZONE,
        },
    )


@login_required
@require_POST
@coordinator_required
def coordinator_ballot_dry_run(request):
    """Allocate on the current ballots and show the outcome; nothing booked."""
    back = _safe_next(request, reverse("projects:coordinator_ballot"))
    try:
        run = ballot_services.ballot_dry_run(
            actor=request.user, trigger=Trigger.COORDINATOR
        )
    except ValidationError as error:
        messages.error(request, _message_text(error))
    else:
        messages.success(request, run_text(run))
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
@coordinator_required
def coordinator_ballot_run(request):
    """Run the ballot now: a confirmation page, then the run."""
    if request.method == "POST":
        try:
            run = ballot_services.ballot_run(
                actor=request.user, trigger=Trigger.COORDINATOR
            )
        except ValidationError as error:
            messages.error(request, _message_text(error))
        else:
            messages.success(request, run_text(run))
        return redirect("projects:coordinator_ballot")
    ballot = ballot_selectors.ballot_overview()
    if ballot["state"] in (ballot_selectors.OFF, ballot_selectors.RAN):
        messages.info(
            request,
            "There is no ballot to run."
            if ballot["state"] == ballot_selectors.OFF
            else "The ballot has already run.",
        )
        return redirect("projects:coordinator_ballot")
    return render(
        request,
        "projects/coordinator_ballot_run.html",
        {"ballot": ballot, "now": timezone.now()},
    )
