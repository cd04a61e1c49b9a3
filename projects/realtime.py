"""Broadcasts of slot changes to the live lab board (`/ws/labs/`).

A change event carries what every user sees alike of each slot concerned
(its "facts", `selectors.lab_facts`), and the booking window; each socket
turns it into the frames its user may see with `frames_for_viewer`, a pure
function of the event and what the socket holds (the user's project id,
coordinator or not), with no database query and no request per frame.
"""

from django.utils import timezone

from pairup.dates import local_text
from pairup.layer import publish
from projects import board_cache, selectors
from projects.models import BookingWindow, Lab

LABS_GROUP = "labs"
BALLOT_EVENT = "labs.ballot"


def window_frame(window: BookingWindow) -> dict:
    """The booking window as the page's clock needs it (a `window` frame)."""
    return {
        "type": "window",
        "bookingSwitch": window.booking_open,
        "opensAt": timezone.localtime(window.opens_at).isoformat()
        if window.opens_at
        else None,
        "closesAt": timezone.localtime(window.closes_at).isoformat()
        if window.closes_at
        else None,
        "opensText": local_text(window.opens_at),
        "closesText": local_text(window.closes_at),
        "published": window.schedule_published,
    }


def labs_event(lab_ids, *, window_changed: bool = False) -> dict:
    """Return the `labs.update` event for these slots (three queries)."""
    lab_ids = sorted({pk for pk in lab_ids if pk is not None})
    facts = selectors.lab_facts_list(lab_ids=lab_ids)
    found = {f["id"] for f in facts}
    facts += [selectors.removed_facts(pk) for pk in lab_ids if pk not in found]
    window = BookingWindow.get()
    event = {
        "type": "labs.update",
        "labs": facts,
        "window": selectors.window_facts(window),
    }
    if window_changed:
        event["window_frame"] = window_frame(window)
    return event


def frames_for_viewer(event: dict, viewer: selectors.Viewer, now: float) -> list:
    """Return the frames one socket sends for a `labs.update` event.

    A changed window first (the page's clock needs it), then one `lab` frame,
    or one `labs` frame when several slots changed together.
    """
    frames = []
    if "window_frame" in event:
        frames.append(event["window_frame"])
    window = event["window"]
    labs = [selectors.lab_view(facts, viewer, window, now) for facts in event["labs"]]
    if len(labs) == 1:
        frames.append(labs[0])
    elif labs:
        frames.append({"type": "labs", "labs": labs})
    return frames


def merge(events: list[dict]) -> list[dict]:
    """Merge events queued together into as few as keep their meaning.

    Consecutive slot events become one (each slot's latest facts, the latest
    window, the version range they cover); a viewers event stays where it
    is, so the slot frames after it are filtered with the new project.
    """
    merged: list[dict] = []
    for event in events:
        last = merged[-1] if merged else None
        if last is None or last["type"] != event["type"]:
            merged.append({**event, "labs": list(event.get("labs", []))})
            if event["type"] == "labs.update":
                merged[-1]["first_version"] = event.get("version")
            continue
        if event["type"] == BALLOT_EVENT:
            continue  # the ballot changed: once says it all
        if event["type"] == "labs.viewers":
            last["viewers"] = [*last["viewers"], *event["viewers"]]
            continue
        by_id = {facts["id"]: facts for facts in last["labs"]}
        by_id.update({facts["id"]: facts for facts in event["labs"]})
        last["labs"] = list(by_id.values())
        last["window"] = event["window"]
        last["version"] = event.get("version")
        if "window_frame" in event:
            last["window_frame"] = event["window_frame"]
    return merged


def _send(event: dict) -> None:
    """Send the event to every open board, in this process at once and in
    the others through the channel layer (`pairup/layer.py`); the process's
    `consumers.Boards` merges events that queue while it writes."""
    publish(LABS_GROUP, event)


def broadcast_labs(*, lab_ids, window_changed: bool = False) -> None:
    """Send the slots' current facts to every open board. Call on commit.

    The event moves the board's version on; this process's copy of the
    board (`board_cache`) is patched with it at once, the others' as their
    sockets receive it, or from the cache if a page asks first.
    """
    lab_ids = [pk for pk in lab_ids if pk is not None]
    if not lab_ids and not window_changed:
        return
    event = labs_event(lab_ids, window_changed=window_changed)
    event["version"] = board_cache.bump()
    board_cache.apply(event)
    board_cache.remember(event)
    _send(event)


def broadcast_all_labs() -> None:
    """Resend every upcoming slot and the window, after the window changed."""
    broadcast_labs(
        lab_ids=list(Lab.objects.upcoming().values_list("pk", flat=True)),
        window_changed=True,
    )


def broadcast_ballot() -> None:
    """Tell the coordinator pages that the ballot changed (a team ranked, a
    dry run, the run). Call on commit.

    Through the board's group, which every coordinator page's socket already
    reads; the event carries nothing, and only those sockets send a frame
    for it (the boards show nothing of a ranking).
    """
    _send({"type": BALLOT_EVENT})


def broadcast_viewers(*, user_ids, project_id: int | None) -> None:
    """Tell these users' boards their project changed (joined, left, created).

    Through the board's one group, as the slots' events: each socket reads
    its channel in order, so the slot frames of the same change, sent
    after, are filtered with the new project (a per-user group would be
    another channel-layer group per socket for every event to sweep).
    Sockets of other users send nothing.
    """
    user_ids = list(user_ids)
    if user_ids:
        _send(
            {
                "type": "labs.viewers",
                "viewers": [[user_id, project_id] for user_id in user_ids],
            },
        )
