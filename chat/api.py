"""JSON API of chat: a room's message history, as the socket allows it."""

import re

from django.http import Http404
from ninja import Query, Router, Schema
from pydantic import Field

from chat.selectors import message_frame, message_history, room_get_for_user
from pairup.api_errors import MAX_ID, QueryFilters, error_responses

router = Router(tags=["chat"])

SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


class MessageOut(Schema):
    type: str = "message"
    id: int
    author: str
    author_id: int
    staff: bool = Field(description="the author is a coordinator (staff)")
    text: str
    sent_at: str = Field(description="ISO 8601 in TIME_ZONE, to the second")


class HistoryOut(Schema):
    messages: list[MessageOut]


class HistoryFilters(QueryFilters):
    before: int | None = Field(
        None, ge=1, le=MAX_ID, description="only messages with a smaller id"
    )


@router.get(
    "/rooms/{slug}/messages",
    response={200: HistoryOut, **error_responses(404)},
)
def room_messages(request, slug: str, filters: Query[HistoryFilters]):
    """The 50 messages before `before` (or the latest), oldest first.

    Team rooms (`team-<project id>`) answer only their members and
    coordinators; anyone else gets 404, as for a room that doesn't exist.
    """
    if not SLUG.fullmatch(slug):
        raise Http404
    room = room_get_for_user(user=request.auth, slug=slug)
    messages = message_history(room=room, before=filters.before)
    return {"messages": [message_frame(message) for message in messages]}
