"""JSON API of the ballot: a team's ranking, through the same services and
rules as the board (`GET`/`PUT /api/v1/me/project/ballot`)."""

from datetime import datetime
from typing import Annotated

from django.utils import timezone
from ninja import Router, Schema
from pydantic import Field

from pairup.api_errors import MAX_ID, ApiError, error_responses
from projects import ballot_selectors, ballot_services, selectors
from projects.ballot_selectors import DUE
from projects.models import BookingWindow, Project

router = Router(tags=["ballot"])

NO_PROJECT = "You have no project yet: create one first."


class BallotChoiceOut(Schema):
    id: int
    room: str
    start: datetime
    end: datetime
    rank: int = Field(description="1 = first choice")


class BallotResultOut(Schema):
    placed: bool
    lab: BallotChoiceOut | None = Field(description="the slot the ballot gave")
    rank: int | None = Field(description="the rank the team gave that slot")
    text: str


class BallotOut(Schema):
    project: int = Field(description="my team's id")
    state: str = Field(
        description='"open": teams rank; "paused": booking is switched off; '
        '"due": closed, allocation running; "ran": allocated; "off": booking '
        "is first come"
    )
    closes_at: datetime | None = Field(description="when the ballot closes")
    opens_at: datetime | None = Field(
        description="when first come booking opens for what is left"
    )
    limit: int = Field(description="the most slots a team may rank")
    has_slot: bool = Field(description="the team has a slot: it takes no part")
    slots: list[int] = Field(description="the ranking: slot ids, best first")
    choices: list[BallotChoiceOut]
    saved_by: str | None
    saved_at: datetime | None
    result: BallotResultOut | None = Field(
        description="once the ballot ran: what it gave the team"
    )
    state_text: str = Field(description="what the ballot means for the team now")
    saved_text: str = Field(description='"Last saved by Alice, ..." or nothing yet')
    closes_text: str = Field(description="the closing time in words (local time)")
    opens_text: str = Field(description="the first come opening in words")


SlotId = Annotated[int, Field(ge=1, le=MAX_ID)]


class BallotIn(Schema):
    slots: list[SlotId] = Field(
        description="slot ids, best first (up to PAIRUP_BALLOT_CHOICES; [] clears)"
    )


def after_a_due_run(
    *, user, project: Project, window: BookingWindow, now
) -> tuple[Project, BookingWindow]:
    """Return the user's project and the window, after running a ballot
    past its closing time that no worker has run yet (the first GET after
    the closing runs it, as the pages do). No query unless it is due."""
    if ballot_selectors.ballot_state(window, now) != DUE:
        return project, window
    window = ballot_services.window_after_a_due_run(window, now)
    return selectors.project_for_user(user=user), window


def _view(project, window=None, now=None) -> dict:
    return ballot_selectors.ballot_view(
        project=project,
        window=window or BookingWindow.get(),
        now=now or timezone.now(),
    )


@router.get(
    "/me/project/ballot", response={200: BallotOut, **error_responses(401, 404)}
)
def ballot_get(request):
    """My team's ranking for the ballot, and once it ran, what it gave us."""
    project = selectors.project_for_user(user=request.auth)
    if project is None:
        raise ApiError(404, "not_found", NO_PROJECT)
    now = timezone.now()
    project, window = after_a_due_run(
        user=request.auth, project=project, window=BookingWindow.get(), now=now
    )
    return _view(project, window, now)


@router.put(
    "/me/project/ballot",
    response={200: BallotOut, **error_responses(400, 401, 403, 409)},
)
def ballot_put(request, payload: BallotIn):
    """Save my team's ranking (slot ids, best first), replacing the last one.

    While the ballot is open; only open, free, upcoming slots, each once, up
    to the limit. The last save by any member wins.
    """
    project = selectors.project_for_user(user=request.auth)
    if project is None:
        raise ApiError(409, "no_project", NO_PROJECT)
    ballot_services.ballot_save(
        user=request.auth, project=project, lab_ids=payload.slots
    )
    return _view(project)
