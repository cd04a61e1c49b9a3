"""The ballot, live: each member's pages hear of their team's ranking and
result over the per-user channel (`/ws/me/`, open on every signed-in page).

A ranking concerns two people, so its frames go to the team's members'
own groups (`accounts.revocation.user_group`), not through the board's
group, which every open board in every process reads. `/ws/me/` forwards
`page.frame` events as they are; the bell's script hands them to the page
(`pairup:me` events), where `projects/static/projects/ballot.js` listens
on the board and the dashboard.
"""

from django.db import transaction

from accounts.revocation import user_group
from pairup.layer import publish

PAGE_FRAME = "page.frame"


def send(user_ids, frame: dict) -> None:
    """Send the frame to these users' open pages now (call after commit)."""
    for user_id in user_ids:
        publish(user_group(user_id), {"type": PAGE_FRAME, "frame": frame})


def send_on_commit(user_ids, frame_of) -> None:
    """Send `frame_of()`'s frame to the users once the transaction commits
    (a rolled-back change tells nobody; the frame is built after commit, so
    it says what was committed)."""
    user_ids = list(user_ids)
    if not user_ids:
        return

    def send_ballot_frames():
        send(user_ids, frame_of())

    transaction.on_commit(send_ballot_frames, robust=True)


def team_gone_on_commit(user_ids) -> None:
    """Tell the former members' pages that their team, and so its ranking,
    is gone (dissolved)."""
    send_on_commit(user_ids, lambda: {"type": "ballot", "project": None})
