"""Write side of the ballot: saving a team's ranking, and running the
allocation (a dry run, or the run that books the slots, once per ballot).

The run happens at `ballot_closes_at` by the clock: a task deferred to that
moment (`projects.tasks.run_ballot`, queued when the window is saved), the
worker's clock every half minute (a lost task still runs it), and the first
page or booking after the moment; or earlier when a coordinator presses
"Run the ballot now". Whoever gets there first runs it; the others find it
done. It is guarded twice: the run locks the booking window's row (SQLite's
immediate transactions queue the same way), and the applied run's row is
unique per closing time (`ballot_runs_once_per_closing_time`), inserted
before anything is booked, so a second run fails before it books anything.
"""

import logging
import secrets
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import require_coordinator
from notifications.models import Kind
from notifications.services import notify
from pairup.dates import local_text
from projects import ballot_live, ballot_selectors, realtime, services
from projects.allocation import allocate
from projects.ballot_selectors import DUE
from projects.models import (
    Ballot,
    BallotChoice,
    BallotRun,
    BookingRecord,
    BookingWindow,
    Lab,
    Membership,
    Project,
)
from projects.selectors import bookable_labs

logger = logging.getLogger(__name__)
Trigger = BallotRun.Trigger
Via = BookingRecord.Via


# Ranking --------------------------------------------------------------------


def _slot_error(message: str, code: str) -> ValidationError:
    return ValidationError({"slots": ValidationError(message, code=code)})


def _check_ranking(lab_ids: list[int], *, now) -> list[Lab]:
    """Return the ranked slots in order, or raise: at most the limit, each
    once, each an open, free, upcoming slot (past the booking cut-off)."""
    limit = settings.PAIRUP_BALLOT_CHOICES
    if len(lab_ids) > limit:
        raise _slot_error(
            f"Rank at most {limit} slots (this ranking has {len(lab_ids)}).",
            "too_many",
        )
    seen = set()
    for lab_id in lab_ids:
        if lab_id in seen:
            raise _slot_error(
                "Rank each slot once: a slot appears twice in this ranking.",
                "duplicate_slot",
            )
        seen.add(lab_id)
    labs = Lab.objects.in_bulk(lab_ids)
    missing = [str(pk) for pk in lab_ids if pk not in labs]
    if missing:
        raise _slot_error(f"No such slot: {', '.join(missing)}.", "unknown_slot")
    taken = set(
        Project.objects.filter(lab_id__in=lab_ids).values_list("lab_id", flat=True)
    )
    for lab_id in lab_ids:
        lab = labs[lab_id]
        refusal = ballot_selectors.slot_rankable_refusal(
            lab, taken=lab_id in taken, now=now
        )
        if refusal is not None:
            raise _slot_error(f"{lab} can't be ranked: {_REASONS[refusal]}", refusal)
    return [labs[lab_id] for lab_id in lab_ids]


_REASONS = {
    "slot_past": "it has already started.",
    "slot_taken": "another team holds it.",
    "slot_closed": "it is not open for booking.",
    "slot_cutoff": "it starts too soon.",
    "booking_closed": "booking is closed.",
}


@transaction.atomic
def ballot_save(*, user, project: Project, lab_ids, now=None) -> Ballot:
    """Save the team's ranking (slot ids, best first), replacing the last one.

    Any member may save it while the ballot is open; the last save wins and
    the team's members see it at once (their `/ws/me/`). Refused with a
    ValidationError (nothing changes) when the ballot isn't open, the team
    already has a slot, or the ranking breaks a rule (`_check_ranking`).
    """
    now = now or timezone.now()
    if (
        not user.is_coordinator
        and not Membership.objects.filter(user=user, project=project).exists()
    ):
        raise ValidationError(
            "You are not a member of this project.", code="not_member"
        )
    refusal = ballot_selectors.ranking_refusal(BookingWindow.get(), now)
    if refusal is not None:
        code, message = refusal
        raise ValidationError(message, code=code)
    project = services.lock_project(project)
    if project.lab_id is not None:
        raise ValidationError(
            "Your team already has a slot, so it takes no part in the ballot.",
            code="has_slot",
        )
    labs = _check_ranking([int(pk) for pk in lab_ids], now=now)
    ballot, _ = Ballot.objects.update_or_create(
        project=project, defaults={"saved_by": user, "saved_at": now}
    )
    ballot.choices.all().delete()
    BallotChoice.objects.bulk_create(
        BallotChoice(ballot=ballot, lab=lab, rank=rank)
        for rank, lab in enumerate(labs, start=1)
    )
    _send_views_on_commit([project.pk])
    _tell_coordinator_pages_on_commit()
    return ballot


def _tell_coordinator_pages_on_commit() -> None:
    """The coordinator pages' ballot section (teams that ranked, the last
    dry run, the result) changed: they fetch it again after commit."""
    transaction.on_commit(realtime.broadcast_ballot, robust=True)


def _send_views_on_commit(project_ids: list[int]) -> None:
    """Send each team's ballot view to its members' pages after commit."""
    if not project_ids:
        return

    def send_ballot_views():
        window = BookingWindow.get()
        members: dict[int, list[int]] = {}
        for project_id, user_id in Membership.objects.filter(
            project_id__in=project_ids
        ).values_list("project_id", "user_id"):
            members.setdefault(project_id, []).append(user_id)
        views = ballot_selectors.ballot_views(
            list(Project.objects.filter(pk__in=members)), window=window
        )
        for project_id, view in views.items():
            ballot_live.send(members[project_id], ballot_selectors.ballot_frame(view))

    transaction.on_commit(send_ballot_views, robust=True)


# The allocation ---------------------------------------------------------------


def _inputs(now) -> tuple[list[int], dict[int, list[int]], set[int]]:
    """Return the teams without a slot, their rankings (lab ids best first)
    and the slots that may be allocated now (free, open, past the cut-off)."""
    teams = list(
        Project.objects.filter(lab__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rankings: dict[int, list[int]] = {}
    for project_id, lab_id in (
        BallotChoice.objects.filter(ballot__project__lab__isnull=True)
        .order_by("ballot__project_id", "rank")
        .values_list("ballot__project_id", "lab_id")
    ):
        rankings.setdefault(project_id, []).append(lab_id)
    slots = set(bookable_labs(now=now).values_list("pk", flat=True))
    return teams, rankings, slots


def _seed(window: BookingWindow) -> int:
    """The ballot's tie-break seed, drawn once and kept on the window."""
    if window.ballot_seed is None:
        # Only if still unset: two dry runs at once keep one seed.
        BookingWindow.objects.filter(pk=window.pk, ballot_seed__isnull=True).update(
            ballot_seed=secrets.randbits(63)
        )
        window.ballot_seed = (
            BookingWindow.objects.filter(pk=window.pk)
            .values_list("ballot_seed", flat=True)
            .get()
        )
    return window.ballot_seed


def _require_runnable(actor, window: BookingWindow) -> None:
    if actor is not None:
        require_coordinator(actor, message="Only coordinators can run the ballot.")
    if window.mode != BookingWindow.Mode.BALLOT or window.ballot_closes_at is None:
        raise ValidationError(
            "Booking is first come: there is no ballot to run.", code="no_ballot"
        )
    if window.ballot_ran_at is not None:
        raise ValidationError(
            f"The ballot has already run ({local_text(window.ballot_ran_at)}).",
            code="ballot_ran",
        )


def _solve(run: BallotRun, now) -> dict:
    """Allocate on the current ballots; fill in the run's figures and input."""
    teams, rankings, slots = _inputs(now)
    started = time.perf_counter()
    allocation = allocate(rankings, seed=run.seed, slots=slots)
    run.solve_ms = round((time.perf_counter() - started) * 1000)
    run.teams = len(teams)
    run.ranked = len(rankings)
    run.slots = len(slots)
    run.placed = allocation.placed
    run.first_choices = allocation.first_choices
    run.top_three = allocation.top_three
    run.ballots = {
        "slots": sorted(slots),
        "teams": {str(pk): ranking for pk, ranking in rankings.items()},
    }
    run.allocation = [
        [project_id, lab_id, rank]
        for project_id, (lab_id, rank) in sorted(allocation.placements.items())
    ]
    return {"teams": teams, "rankings": rankings}


def ballot_dry_run(*, actor=None, trigger=Trigger.COORDINATOR, now=None) -> BallotRun:
    """Allocate on the current ballots and keep the outcome to show, booking
    nothing and telling nobody. It uses the ballot's seed, so on the same
    ballots it shows what the run will do."""
    now = now or timezone.now()
    with transaction.atomic():
        window = BookingWindow.get()
        _require_runnable(actor, window)
        run = BallotRun(
            closes_at=window.ballot_closes_at,
            dry_run=True,
            trigger=trigger,
            actor=actor,
            actor_username=actor.username if actor else "",
            seed=_seed(window),
        )
        _solve(run, now)
        run.save()
        _tell_coordinator_pages_on_commit()
    return run


def ballot_run(*, actor=None, trigger=Trigger.COORDINATOR, now=None) -> BallotRun:
    """Run the ballot: allocate and book, once per ballot.

    Books each placement through `services.ballot_book_many` (records with
    via "ballot", the slots to every open board, each placed team told),
    tells every other team without a slot to book first come at `opens_at`,
    and sends each team's result to its members' pages. Raise ValidationError
    when there is no ballot, or it already ran (also when another process
    ran it a moment ago).
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The window's row lock serialises runs (PostgreSQL; SQLite's
        # immediate transactions already queue); its state is read afresh.
        window = BookingWindow.objects.select_for_update().filter(pk=1).first()
        if window is None:
            window = BookingWindow.get()
        _require_runnable(actor, window)
        run = BallotRun(
            closes_at=window.ballot_closes_at,
            dry_run=False,
            trigger=trigger,
            actor=actor,
            actor_username=actor.username if actor else "",
            seed=_seed(window),
        )
        try:
            with transaction.atomic():
                run.save()  # the claim: unique per closing time
        except IntegrityError:
            raise ValidationError(
                "The ballot has already run.", code="ballot_ran"
            ) from None
        inputs = _solve(run, now)
        services.lock_projects(inputs["teams"])
        booked, skipped = services.ballot_book_many(
            placements=run.allocation, actor=actor
        )
        run.allocation = booked
        run.skipped = skipped
        run.placed = len(booked)
        run.first_choices = sum(1 for *_, rank in booked if rank == 1)
        run.top_three = sum(1 for *_, rank in booked if rank <= 3)
        run.save()
        placed = {project_id for project_id, *_ in booked}
        _tell_unplaced(
            [pk for pk in inputs["teams"] if pk not in placed],
            ranked=set(inputs["rankings"]),
            window=window,
            actor=actor,
        )
        window.ballot_ran_at = run.created_at
        BookingWindow.objects.filter(pk=window.pk).update(ballot_ran_at=run.created_at)
        _send_views_on_commit(inputs["teams"])
        _tell_coordinator_pages_on_commit()
    logger.info(
        "ballot ran (%s): %d of %d teams placed, %d first choices, %d ms to solve",
        trigger,
        run.placed,
        run.ranked,
        run.first_choices,
        run.solve_ms,
    )
    return run


def _tell_unplaced(project_ids, *, ranked: set[int], window, actor) -> None:
    """Tell each team the ballot left without a slot to book first come.

    Call once the teams are locked: a team booked since the run read them
    (a coordinator, on PostgreSQL) has a slot, and is not told it has none.
    """
    still_free = set(
        Project.objects.filter(pk__in=project_ids, lab__isnull=True).values_list(
            "pk", flat=True
        )
    )
    project_ids = [pk for pk in project_ids if pk in still_free]
    if not project_ids:
        return
    names = ballot_selectors.team_names(project_ids)
    members: dict[int, list[int]] = {}
    for project_id, user_id in Membership.objects.filter(
        project_id__in=project_ids
    ).values_list("project_id", "user_id"):
        members.setdefault(project_id, []).append(user_id)
    for project_id in project_ids:
        reason = (
            ": the slots it ranked went to other teams"
            if project_id in ranked
            else " (it ranked none)"
        )
        notify(
            kind=Kind.BALLOT_UNPLACED,
            users=members.get(project_id, []),
            actor=actor,
            link=reverse("projects:lab_board"),
            team=names[project_id],
            reason=reason,
            opens=local_text(window.opens_at) if window.opens_at else "now",
        )


def ballot_run_if_due(*, trigger=Trigger.CLOCK, now=None) -> BallotRun | None:
    """Run the ballot if its closing time has passed and it hasn't run;
    return the run, or None. For the clock, the deferred task and the first
    page after the moment: a run that another process just made is no error.
    """
    now = now or timezone.now()
    window = BookingWindow.get()
    if ballot_selectors.ballot_state(window, now) != DUE:
        return None
    try:
        return ballot_run(trigger=trigger, now=now)
    except ValidationError:
        return None  # it ran meanwhile, or the ballot was switched off


def ballot_run_when_due(*, trigger=Trigger.CLOCK, now=None) -> BallotRun | None:
    """`ballot_run_if_due` for the clock and the pages: a failure is logged,
    not raised (the clock tries again in half a minute, and booking stays
    held back until a run succeeds: `ballot_selectors.booking_refusal`)."""
    try:
        return ballot_run_if_due(trigger=trigger, now=now)
    except Exception:
        logger.exception("the ballot could not run; the clock will try again")
        return None


def window_after_a_due_run(window: BookingWindow, now=None) -> BookingWindow:
    """For pages: run the ballot if its closing time passed and nothing ran
    it yet (the worker down), and return the window as it is then. No query
    unless the ballot is due."""
    now = now or timezone.now()
    if ballot_selectors.ballot_state(window, now) != DUE:
        return window
    ballot_run_when_due(trigger=Trigger.REQUEST, now=now)
    return BookingWindow.get()


def current_window(now=None) -> BookingWindow:
    """The booking window for a page or an API GET, after running a ballot
    past its closing time that nothing ran yet: what they show is then the
    allocation, not the unit before it. One query unless the ballot is due."""
    return window_after_a_due_run(BookingWindow.get(), now)


def ballot_replay(run: BallotRun) -> list[list[int]]:
    """Solve a run's stored input again with its seed; return the allocation
    (the same as the run's, unless something could not be booked)."""
    rankings = {int(pk): ranking for pk, ranking in run.ballots["teams"].items()}
    allocation = allocate(rankings, seed=run.seed, slots=run.ballots["slots"])
    return [
        [project_id, lab_id, rank]
        for project_id, (lab_id, rank) in sorted(allocation.placements.items())
    ]
