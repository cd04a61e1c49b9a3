"""Read side of chat: rooms, history, mutes, and the room access check."""

import re

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from chat.models import Message, Mute, Room
from projects.models import members_prefetch
from projects.selectors import project_for_user, project_get_for_user

HISTORY_LIMIT = 50
TEAM_SLUG = re.compile(r"team-([1-9][0-9]{0,17})")


class RoomClosed(Http404):
    """The public room exists, but a coordinator closed it."""


def room_get_for_user(*, user, slug: str) -> Room:
    """Return the room if the user may enter it.

    Public rooms admit every signed-in active user while they are open; a
    team room only its members and coordinators. Raise Http404 otherwise
    (existence never leaks), RoomClosed (an Http404) for a closed room.
    """
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such room.")
    match = TEAM_SLUG.fullmatch(slug)
    if match is None:
        room = Room.objects.filter(slug=slug, project__isnull=True).first()
        if room is None:
            raise Http404("No such room.")
        if room.closed:
            raise RoomClosed("This room was closed by a coordinator.")
        return room
    project = project_get_for_user(user=user, project_id=int(match[1]))
    room = Room.objects.filter(project=project).first()
    if room is None:
        # A project made before chat existed (the signal makes the rest).
        from chat.services import room_create_for_project

        room = room_create_for_project(project=project)
    return room


def room_list_public() -> QuerySet[Room]:
    """Open public rooms, by name."""
    return Room.objects.filter(project__isnull=True, closed=False).order_by(
        "name", "pk"
    )


def room_list_teams() -> QuerySet[Room]:
    """Team rooms by team, each with its project's members preloaded (for
    coordinators, who may see team names)."""
    return (
        Room.objects.filter(project__isnull=False)
        .select_related("project")
        .prefetch_related(members_prefetch("project"))
        .order_by("project_id")
    )


def team_room_for_user(*, user) -> Room | None:
    """Return the user's team room, or None when the user has no project."""
    project = project_for_user(user=user)
    if project is None:
        return None
    return Room.objects.filter(project=project).first() or Room(
        slug=f"team-{project.pk}", name=f"Team {project.pk}", project=project
    )


def message_history(*, room: Room, before: int | None = None) -> list[Message]:
    """Return up to 50 messages before id `before` (or the latest), oldest first.

    Preloads each message's author.
    """
    messages = Message.objects.filter(room=room).select_related("author")
    if before is not None:
        messages = messages.filter(id__lt=before)
    return list(reversed(messages.order_by("-id")[:HISTORY_LIMIT]))


def message_frame(message: Message) -> dict:
    """Return the protocol's MESSAGE object (needs `message.author` loaded)."""
    sent_at = timezone.localtime(message.sent_at).replace(microsecond=0)
    return {
        "type": "message",
        "id": message.pk,
        "author": message.author.display_name,
        "author_id": message.author_id,
        # As presence says it: pages badge staff authors, whatever the name.
        "staff": message.author.is_staff or message.author.is_superuser,
        "text": message.text,
        "sent_at": sent_at.isoformat(),
    }


def mute_active_for(*, user) -> Mute | None:
    return Mute.objects.active().filter(user=user).first()
