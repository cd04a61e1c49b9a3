"""Read side of the ballot: its state, a team's ranking and result, the
coordinator's overview.

A ballot is the booking window in mode "ballot": until `ballot_closes_at`
teams rank up to PAIRUP_BALLOT_CHOICES slots; then one allocation
(`projects.allocation`) books what it can, and first come booking opens at
`opens_at` for the rest. What a team sees of it (`ballot_view`) is one dict
for the board's panel, the dashboard, the API and the `/ws/me/` frames.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from pairup.dates import local_text, slot_label
from projects import selectors
from projects.models import (
    Ballot,
    BallotChoice,
    BallotRun,
    BookingWindow,
    Lab,
    Project,
)
from projects.rows import day_heading

Mode = BookingWindow.Mode

# The ballot's states: "off" (booking is first come), "open" (teams rank),
# "paused" (the booking switch is off before the ballot closes), "due" (it
# closed and the allocation has not run yet), "ran".
OFF, OPEN, PAUSED, DUE, RAN = "off", "open", "paused", "due", "ran"


def ballot_state(window: BookingWindow, now=None) -> str:
    """Return the ballot's state (see above) at `now`; no query."""
    now = now or timezone.now()
    if window.mode != Mode.BALLOT or window.ballot_closes_at is None:
        return OFF
    if window.ballot_ran_at is not None:
        return RAN
    if now >= window.ballot_closes_at:
        return DUE
    if not window.booking_open:
        return PAUSED
    return OPEN


def ordinal(rank: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    if 10 <= rank % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def choice_text(rank: int) -> str:
    return f"your {ordinal(rank)} choice"


def booking_refusal(window: BookingWindow, now) -> tuple[str, str] | None:
    """Why a student can't book now because of the ballot, as (code,
    message), or None. The window's own times already keep booking closed
    before `opens_at`; this says why, and holds first come back until the
    allocation has run."""
    state = ballot_state(window, now)
    if state == OFF:
        return None
    opens = local_text(window.opens_at)
    if state in (OPEN, PAUSED):
        return (
            "ballot_open",
            f"Slots are allocated by ballot: rank the slots you want on the "
            f"board until {local_text(window.ballot_closes_at)}. First come booking "
            f"for what is left opens {opens}.",
        )
    if state == DUE:
        return (
            "ballot_pending",
            "The ballot has closed and its allocation is running: try again "
            "in a minute.",
        )
    if window.opens_at and now < window.opens_at:
        return (
            "booking_closed",
            f"The ballot has been allocated. First come booking for the slots "
            f"it left opens {opens}.",
        )
    return None


def ranking_refusal(window: BookingWindow, now) -> tuple[str, str] | None:
    """Why nobody can change a ranking now, as (code, message), or None."""
    state = ballot_state(window, now)
    if state == OPEN:
        return None
    if state == OFF:
        return (
            "no_ballot",
            "Slots are booked first come: there is no ballot to rank them for.",
        )
    if state == PAUSED:
        return ("booking_closed", "Booking is closed.")
    return (
        "ballot_closed",
        f"The ballot closed {local_text(window.ballot_closes_at)}: rankings can no "
        "longer change.",
    )


def slot_rankable_refusal(lab: Lab, *, taken: bool, now) -> str | None:
    """Why a slot can't be ranked, or None: the board's rule for a bookable
    slot with booking open (free, open, starts past the cut-off)."""
    return selectors.slot_refusal(
        start=lab.start.timestamp(),
        is_open=lab.is_open,
        taken=taken,
        booking_open=True,
        now=now.timestamp(),
    )


def team_names(project_ids) -> dict[int, str]:
    """{project id: team name} in one query."""
    return selectors._team_names(project_ids)


def _choice(lab: Lab, rank: int) -> dict:
    return {
        "id": lab.pk,
        "room": lab.room,
        "start": timezone.localtime(lab.start).isoformat(),
        "end": timezone.localtime(lab.end).isoformat(),
        "label": slot_label(lab),
        "rank": rank,
    }


def applied_run(window: BookingWindow) -> BallotRun | None:
    """The run that booked the current ballot's slots, if it ran."""
    if window.ballot_closes_at is None:
        return None
    return (
        BallotRun.objects.filter(closes_at=window.ballot_closes_at, dry_run=False)
        .defer("ballots")
        .first()
    )


def team_result(
    *,
    placement,
    lab: Lab | None,
    ranked: bool,
    window: BookingWindow,
    now,
    lab_id: int | None = None,
) -> dict:
    """What the ballot gave the team: {"placed", "lab", "rank", "text"}.

    `placement` is the team's [project, lab, rank] in the run, or None;
    `lab_id`, the slot the team holds now, if any.
    """
    has_slot = lab_id is not None
    if window.opens_at and window.opens_at > now:
        book = f"book one first come from {local_text(window.opens_at)}"
    else:
        book = "book one first come on the board"
    if placement is not None and lab is not None:
        rank = placement[2]
        got = f"{slot_label(lab)} ({choice_text(rank)})"
        if lab_id == lab.pk:
            text = f"Your team got {got}."
        elif has_slot:
            text = (
                f"The ballot gave your team {got}; your team has moved to "
                "another slot since."
            )
        else:
            text = (
                f"The ballot gave your team {got}; your team released it since: {book}."
            )
        return {
            "placed": True,
            "lab": _choice(lab, rank),
            "rank": rank,
            "text": text,
        }
    if has_slot:
        # Booked before the run (a coordinator), or first come since: telling
        # it to book one would be wrong.
        text = (
            "The ballot gave your team none of the slots it ranked; it has a slot now."
            if ranked
            else "Your team has a slot, so it took no part in the ballot."
        )
        return {"placed": False, "lab": None, "rank": None, "text": text}
    if ranked:
        text = (
            "The ballot gave your team no slot: the slots you ranked went to "
            f"other teams. No slot yet: {book}."
        )
    else:
        text = f"Your team ranked no slots, so the ballot gave it none: {book}."
    return {"placed": False, "lab": None, "rank": None, "text": text}


def ballot_views(projects, *, window: BookingWindow, now=None) -> dict[int, dict]:
    """The ballot as each team sees it: its state, ranking, who saved it and
    when, and once it ran, the team's result. {project id: view}, in at most
    four queries however many teams."""
    now = now or timezone.now()
    state = ballot_state(window, now)
    ids = [project.pk for project in projects]
    choices: dict[int, list[dict]] = {pk: [] for pk in ids}
    ballots: dict[int, Ballot] = {}
    for choice in (
        BallotChoice.objects.filter(ballot__project_id__in=ids)
        .select_related("lab", "ballot__saved_by")
        .order_by("ballot__project_id", "rank")
    ):
        ranked = choices[choice.ballot.project_id]
        ranked.append(_choice(choice.lab, len(ranked) + 1))
        ballots[choice.ballot.project_id] = choice.ballot
    if unranked := [pk for pk in ids if pk not in ballots]:
        # A saved empty ranking still says who cleared it, and when.
        for ballot in Ballot.objects.filter(project_id__in=unranked).select_related(
            "saved_by"
        ):
            ballots[ballot.project_id] = ballot
    placements: dict[int, list] = {}
    labs: dict[int, Lab] = {}
    if state == RAN and (run := applied_run(window)) is not None:
        wanted = set(ids)
        placements = {entry[0]: entry for entry in run.allocation if entry[0] in wanted}
        labs = Lab.objects.in_bulk([entry[1] for entry in placements.values()])
    views = {}
    for project in projects:
        placement = placements.get(project.pk)
        result = None
        if state == RAN:
            result = team_result(
                placement=placement,
                lab=labs.get(placement[1]) if placement else None,
                ranked=bool(choices[project.pk]),
                window=window,
                now=now,
                lab_id=project.lab_id,
            )
        views[project.pk] = _view(
            project,
            window,
            state=state,
            choices=choices[project.pk],
            ballot=ballots.get(project.pk),
            result=result,
        )
    return views


def ballot_view(*, project: Project, window: BookingWindow, now=None) -> dict:
    """One team's view (see `ballot_views`)."""
    return ballot_views([project], window=window, now=now)[project.pk]


def _view(project, window, *, state, choices, ballot, result) -> dict:
    saved_by = None
    saved_at = None
    saved_text = "Nothing ranked yet."
    if ballot is not None:
        saved_by = ballot.saved_by.display_name if ballot.saved_by else "a coordinator"
        saved_at = timezone.localtime(ballot.saved_at)
        saved_text = f"Last saved by {saved_by}, {local_text(ballot.saved_at)}."
    has_slot = project.lab_id is not None
    return {
        "project": project.pk,
        "state": state,
        "state_text": state_text(state, window, has_slot=has_slot, result=result),
        "closes_at": timezone.localtime(window.ballot_closes_at)
        if window.ballot_closes_at
        else None,
        "closes_text": local_text(window.ballot_closes_at),
        "opens_at": timezone.localtime(window.opens_at) if window.opens_at else None,
        "opens_text": local_text(window.opens_at),
        "limit": settings.PAIRUP_BALLOT_CHOICES,
        "has_slot": has_slot,
        "slots": [choice["id"] for choice in choices],
        "choices": choices,
        "saved_by": saved_by,
        "saved_at": saved_at,
        "saved_text": saved_text,
        "result": result,
    }


def state_text(state: str, window: BookingWindow, *, has_slot=False, result=None):
    """What the ballot means for a team now, in a sentence or two."""
    limit = settings.PAIRUP_BALLOT_CHOICES
    closes, opens = local_text(window.ballot_closes_at), local_text(window.opens_at)
    if state == RAN:
        return result["text"] if result else "The ballot has been allocated."
    if has_slot:
        return "Your team has a slot, so it takes no part in the ballot."
    if state == OPEN:
        return (
            f"Rank up to {limit} free slots, best first, until {closes}. Then one "
            "allocation places as many teams as it can, each as high in its "
            f"ranking as it can; first come booking for the rest opens {opens}."
        )
    if state == PAUSED:
        return f"Booking is switched off: rankings can't change for now (the ballot closes {closes})."
    if state == DUE:
        return f"The ballot closed {closes}: the allocation is running."
    return ""


def ballot_frame(view: dict) -> dict:
    """The view as a `/ws/me/` frame (times as ISO text)."""
    frame = {"type": "ballot", **view}
    for key in ("closes_at", "opens_at", "saved_at"):
        frame[key] = view[key].isoformat() if view[key] else None
    return frame


def rankable_options(facts: list[dict], *, now) -> list[tuple[str, list[dict]]]:
    """The board's shown slots a team may rank now, grouped by day: the
    "Add a slot" choices (no query: the board's facts)."""
    ts = now.timestamp()
    cutoff = selectors.cutoff_seconds()
    groups: list[tuple[str, list[dict]]] = []
    for slot in facts:
        refusal = selectors.slot_refusal(
            start=slot["ts"],
            is_open=slot["open"],
            taken=slot["project"] is not None,
            booking_open=True,
            now=ts,
            cutoff=cutoff,
        )
        if refusal is not None:
            continue
        if groups and groups[-1][0] == slot["day"]:
            groups[-1][1].append(slot)
        else:
            groups.append((slot["day"], [slot]))
    return groups


def ballot_panel(*, user, project, window: BookingWindow, facts, now) -> dict | None:
    """What the board shows of the ballot, or None when booking is first
    come (then it costs no query)."""
    state = ballot_state(window, now)
    if state == OFF:
        return None
    panel = {
        "state": state,
        "closes_text": local_text(window.ballot_closes_at),
        "closes_at": window.ballot_closes_at,
        "opens_text": local_text(window.opens_at),
        "limit": settings.PAIRUP_BALLOT_CHOICES,
        "view": None,
        "options": [],
    }
    if project is None:
        return panel
    view = ballot_view(project=project, window=window, now=now)
    panel["view"] = view
    panel["frame"] = ballot_frame(view)
    panel["config"] = script_config(panel["frame"], now)
    panel["blank"] = {"id": "", "label": "", "rank": ""}
    if state == OPEN and not view["has_slot"]:
        ranked = set(view["slots"])
        panel["options"] = [
            (day, [slot for slot in slots if slot["id"] not in ranked])
            for day, slots in rankable_options(facts, now=now)
        ]
        panel["options"] = [
            (day_heading(day), slots) for day, slots in panel["options"] if slots
        ]
    return panel


def script_config(frame: dict, now) -> dict:
    """What ballot.js needs: the team's view, the API, the server's time."""
    return {
        "frame": frame,
        "api": reverse("api-v1:ballot_get"),
        "now": timezone.localtime(now).isoformat(),
    }


def ballot_status(*, project, window: BookingWindow, now=None) -> dict | None:
    """The dashboard's line about the ballot for a team, or None when
    booking is first come (then it costs no query)."""
    now = now or timezone.now()
    if project is None or ballot_state(window, now) == OFF:
        return None
    view = ballot_view(project=project, window=window, now=now)
    frame = ballot_frame(view)
    return {"view": view, "frame": frame, "config": script_config(frame, now)}


def ballot_overview(*, now=None, window: BookingWindow | None = None) -> dict:
    """The ballot on the coordinator's page: its state and times, teams that
    ranked, the last dry run, and the run that booked it (a few queries)."""
    now = now or timezone.now()
    window = window or BookingWindow.get()
    state = ballot_state(window, now)
    overview = {
        "window": window,
        "state": state,
        "mode": window.get_mode_display(),
        "limit": settings.PAIRUP_BALLOT_CHOICES,
        "closes_text": local_text(window.ballot_closes_at),
        "opens_text": local_text(window.opens_at),
        "closes_in": timeuntil(window.ballot_closes_at, now)
        if window.ballot_closes_at and window.ballot_closes_at > now
        else "",
        "dry_run": None,
        "run": None,
    }
    if state == OFF:
        return overview
    without_slot = Project.objects.filter(lab__isnull=True)
    overview["teams"] = without_slot.count()
    overview["ranked"] = (
        without_slot.filter(ballot__choices__isnull=False).distinct().count()
    )
    runs = BallotRun.objects.filter(closes_at=window.ballot_closes_at).defer(
        "ballots", "allocation"
    )
    overview["dry_run"] = run_summary(runs.filter(dry_run=True).first())
    overview["run"] = run_summary(runs.filter(dry_run=False).first())
    return overview


def run_summary(run: BallotRun | None) -> dict | None:
    """A run's figures as the coordinator reads them (shares of the teams
    that ranked)."""
    if run is None:
        return None

    def share(count: int) -> str:
        return f"{round(100 * count / run.ranked)}%" if run.ranked else "-"

    return {
        "run": run,
        "first_share": share(run.first_choices),
        "top_three_share": share(run.top_three),
        "placed_share": share(run.placed),
    }
