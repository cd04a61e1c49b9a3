"""Write side of chat. Every change to rooms, messages and mutes goes here."""

import math
import time
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.selectors import user_is_coordinator
from chat import realtime
from chat.models import TEAM_SLUG_PREFIX, Message, Mute, Room
from chat.selectors import message_frame, mute_active_for
from pairup.text import unstorable_reason

ROOM_NAME_MAX = 40
MESSAGE_MAX = 1000


def room_slug_for(name: str) -> str:
    """Return the slug for a room name, or raise ValidationError."""
    name = name.strip()
    if not name:
        raise ValidationError("Give the room a name.", code="required")
    if len(name) > ROOM_NAME_MAX:
        raise ValidationError(
            f"Keep the name to {ROOM_NAME_MAX} characters or fewer.", code="max_length"
        )
    slug = slugify(name)
    if not slug:
        raise ValidationError(
            "Use at least one Latin letter or digit in the name.", code="invalid"
        )
    if slug.startswith(TEAM_SLUG_PREFIX):
        raise ValidationError(
            'Names starting with "team" are kept for team rooms.', code="reserved"
        )
    return slug


@transaction.atomic
def room_open(*, name: str) -> tuple[Room, bool]:
    """Open a public room by name, or return the one with the same slug.

    Return (room, created).
    """
    slug = room_slug_for(name)
    room = Room.objects.filter(slug=slug).first()
    if room is not None:
        return room, False
    room = Room(slug=slug, name=name.strip())
    room.full_clean()
    try:
        with transaction.atomic():
            room.save()
    except IntegrityError:  # opened by someone else meanwhile
        return Room.objects.get(slug=slug), False
    return room, True


@transaction.atomic
def room_create_for_project(*, project) -> Room:
    """Return the team's room, creating it if it does not exist yet."""
    room, _ = Room.objects.get_or_create(
        project=project,
        defaults={"slug": f"team-{project.pk}", "name": f"Team {project.pk}"},
    )
    return room


def _rate_limit_retry_after(user_id: int) -> int | None:
    """Count one message; return seconds to wait when over PAIRUP_CHAT_RATE.

    The count lives in Django's cache (atomic add/incr), so it holds across
    tabs, rooms and processes (with Redis).
    """
    rate = settings.PAIRUP_CHAT_RATE
    if rate is None:
        return None
    limit, seconds = rate
    now = time.time()
    window = int(now // seconds)
    key = f"chat:rate:{user_id}:{seconds}:{window}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds + 1)
        used = 1
    if used <= limit:
        return None
    return max(1, math.ceil((window + 1) * seconds - now))


def muted_detail(until: datetime | None) -> str:
    if until is None:
        return "You are muted until a coordinator lifts it."
    local = timezone.localtime(until)
    return f"You are muted until {local:%d %b %Y, %H:%M} ({settings.TIME_ZONE})."


def _message_text(text) -> str:
    """Return the trimmed text, or raise ValidationError (empty, too_long,
    bad_request)."""
    if not isinstance(text, str):
        raise ValidationError("Text must be plain text.", code="bad_request")
    # Refused here, post by post: one unstorable text must never reach (and
    # fail) the writer's batch of everyone else's messages.
    reason = unstorable_reason(text)
    if reason is not None:
        raise ValidationError(f"Text {reason}.", code="bad_request")
    text = text.strip()
    if not text:
        raise ValidationError("Write something first.", code="empty")
    if len(text) > MESSAGE_MAX:
        raise ValidationError(
            f"Keep messages to {MESSAGE_MAX} characters or fewer.", code="too_long"
        )
    return text


def _check_sender(author, mute: Mute | None) -> None:
    """Raise ValidationError (muted, rate_limited) unless the author may post.

    Counts the message against the rate limit.
    """
    if mute is not None:
        raise ValidationError(
            muted_detail(mute.until), code="muted", params={"until": mute.until}
        )
    retry_after = _rate_limit_retry_after(author.pk)
    if retry_after is not None:
        raise ValidationError(
            f"You are sending too fast: wait {retry_after} s.",
            code="rate_limited",
            params={"retry_after": retry_after},
        )


@transaction.atomic
def message_post(*, author, room: Room, text: str) -> Message:
    """Store a message and broadcast it to the room after commit.

    Raise ValidationError with code empty, too_long, bad_request, muted or
    rate_limited (params["retry_after"] in seconds); nothing is stored then.
    """
    text = _message_text(text)
    _check_sender(author, mute_active_for(user=author))
    message = Message(room=room, author=author, text=text)
    message.full_clean(exclude=["room", "author"])  # both are known to exist
    message.save()
    transaction.on_commit(partial(realtime.room_send, room.pk, message_frame(message)))
    return message


@transaction.atomic
def message_post_many(*, posts: list[tuple]) -> list[Message | ValidationError]:
    """Store many `(author, room, text)` posts in one transaction.

    The same checks as message_post, post by post; return, in order, each
    stored Message or the ValidationError that refused it. After commit each
    room gets its new messages as one broadcast. One insert and one mute
    query for the lot keep a burst from queueing behind a commit per message.
    """
    author_ids = {author.pk for author, _room, _text in posts}
    mutes = {
        mute.user_id: mute
        for mute in Mute.objects.active().filter(user_id__in=author_ids)
    }
    results: list[Message | ValidationError] = []
    for author, room, text in posts:
        try:
            text = _message_text(text)
            _check_sender(author, mutes.get(author.pk))
        except ValidationError as error:
            results.append(error)
        else:
            results.append(Message(room=room, author=author, text=text))
    new = [result for result in results if isinstance(result, Message)]
    Message.objects.bulk_create(new)
    by_room: dict[int, list[dict]] = {}
    for message in new:
        by_room.setdefault(message.room_id, []).append(message_frame(message))
    for room_id, frames in by_room.items():
        transaction.on_commit(partial(realtime.room_send_many, room_id, frames))
    return results


def _require_coordinator(actor) -> None:
    if not user_is_coordinator(actor):
        raise PermissionDenied("Only coordinators moderate the chat.")


@transaction.atomic
def message_delete(*, actor, message: Message) -> None:
    """Delete a message; open pages drop it (a `deleted` frame after commit)."""
    _require_coordinator(actor)
    room_id, message_id = message.room_id, message.pk
    message.delete()
    transaction.on_commit(
        partial(realtime.room_send, room_id, {"type": "deleted", "id": message_id})
    )


@transaction.atomic
def mute_set(*, actor, user, until: datetime | None = None, reason: str = "") -> Mute:
    """Mute the user in every room until `until` (None: until lifted).

    Open sockets obey at once: every message is checked when it is posted.
    """
    _require_coordinator(actor)
    if until is not None and until <= timezone.now():
        raise ValidationError(
            {"until": "The end of a mute must be in the future."}, code="past"
        )
    mute, _ = Mute.objects.update_or_create(
        user=user,
        defaults={
            "until": until,
            "reason": reason,
            "created_by": actor,
            "created_at": timezone.now(),
        },
    )
    return mute


@transaction.atomic
def mute_lift(*, actor, user) -> bool:
    """Lift the user's mute; return whether there was one."""
    _require_coordinator(actor)
    deleted, _ = Mute.objects.filter(user=user).delete()
    return deleted > 0
