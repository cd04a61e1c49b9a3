"""Write side of chat. Every change to rooms, messages and mutes goes here."""

import logging
import math
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.permissions import require_coordinator
from accounts.selectors import user_is_coordinator
from accounts.validators import validate_name_characters
from chat import broadcast
from chat.models import LOBBY_SLUG, TEAM_SLUG_PREFIX, Message, Mute, Room
from chat.selectors import message_frame
from pairup.ratelimit import Window
from pairup.text import is_blank, unstorable_reason

logger = logging.getLogger(__name__)

ROOM_NAME_MAX = 40
MESSAGE_MAX = 1000
ROOM_CLOSED = "This room was closed by a coordinator."
ROOM_GONE = "This room no longer exists."
MODERATORS_ONLY = "Only coordinators moderate the chat."
NOT_STORED = "That message could not be stored: try again in a moment."
# Opening a room's page marks it joined at most this often (one UPDATE).
JOIN_MARK_INTERVAL = timedelta(hours=1)


def room_slug_for(name: str) -> str:
    """Return the slug for a room name, or raise ValidationError."""
    name = name.strip()
    if not name:
        raise ValidationError("Give the room a name.", code="required")
    if len(name) > ROOM_NAME_MAX:
        raise ValidationError(
            f"Keep the name to {ROOM_NAME_MAX} characters or fewer.", code="max_length"
        )
    validate_name_characters(name)
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


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{math.ceil(minutes / 60)} hours"


def _per(seconds: int) -> str:
    names = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
    return f"per {names[seconds]}" if seconds in names else f"per {_duration(seconds)}"


def _count_room_open(user) -> None:
    """Count one room opened by `user`; raise ValidationError (rate_limited)
    when that is over PAIRUP_ROOM_OPEN_RATE. Coordinators are not limited."""
    rate = settings.PAIRUP_ROOM_OPEN_RATE
    if rate is None or user is None or user_is_coordinator(user):
        return
    retry_after = Window(f"chat:room-open:{user.pk}", *rate).hit()
    if retry_after is not None:
        _uncount_room_open(user)  # a refusal opens nothing
        limit, seconds = rate
        raise ValidationError(
            f"You have opened as many rooms as you may ({limit} {_per(seconds)}). "
            f"Try again in {_duration(retry_after)}, or join a room that is "
            f"already open.",
            code="rate_limited",
            params={"retry_after": retry_after},
        )


def _uncount_room_open(user) -> None:
    rate = settings.PAIRUP_ROOM_OPEN_RATE
    if rate is None or user is None or user_is_coordinator(user):
        return
    Window(f"chat:room-open:{user.pk}", *rate).unhit()


@transaction.atomic
def room_open(*, name: str, user=None) -> tuple[Room, bool]:
    """Open a public room by name, or return the one with the same slug.

    Return (room, created). Creating a room counts against the user's
    PAIRUP_ROOM_OPEN_RATE (user=None: not counted, for commands); going to
    a room that exists is free. Raise ValidationError: a bad name, the
    room is closed (code closed), or too many rooms opened (rate_limited,
    params["retry_after"] in seconds).
    """
    slug = room_slug_for(name)
    room = Room.objects.filter(slug=slug).first()
    if room is None:
        _count_room_open(user)
        created = False
        try:
            room = Room(slug=slug, name=name.strip())
            room.full_clean(validate_unique=False)  # the database's to say
            with transaction.atomic():
                room.save()
            created = True
        except IntegrityError:  # opened by someone else meanwhile
            room = Room.objects.get(slug=slug)
        finally:
            if not created:  # counted only when a room is made
                _uncount_room_open(user)
        if created:
            return room, True
    if room.closed:
        raise ValidationError(ROOM_CLOSED, code="closed")
    return room, False


def room_mark_joined(*, room: Room) -> None:
    """Note that someone opened the room's page (at most once an hour).

    One conditional UPDATE, atomic on its own; nothing at all (not even a
    savepoint) while the mark is fresh, so the page pays no query for it.
    """
    now = timezone.now()
    if room.last_joined_at > now - JOIN_MARK_INTERVAL:
        return
    Room.objects.filter(
        pk=room.pk, last_joined_at__lte=now - JOIN_MARK_INTERVAL
    ).update(last_joined_at=now)
    room.last_joined_at = now


@transaction.atomic
def room_update(*, actor, room: Room, name: str, closed: bool) -> Room:
    """Rename a room or close (reopen) it; coordinators only.

    Closing takes the room off the list, refuses new joins and closes its
    open sockets (4404) after commit. A team room can't be closed: it goes
    with its team.
    """
    require_coordinator(actor, message=MODERATORS_ONLY)
    name = name.strip()
    if not name or len(name) > ROOM_NAME_MAX:
        raise ValidationError(
            {"name": f"Give the room a name of 1 to {ROOM_NAME_MAX} characters."},
            code="invalid",
        )
    try:
        validate_name_characters(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from None
    if closed and room.is_team_room:
        raise ValidationError(
            "A team room goes with its team: it can't be closed.", code="team_room"
        )
    newly_closed = closed and not room.closed
    room.name, room.closed = name, closed
    room.save(update_fields=["name", "closed"])
    if newly_closed:
        transaction.on_commit(partial(broadcast.room_close, room.pk), robust=True)
    return room


@transaction.atomic
def room_delete(*, actor, room: Room) -> None:
    """Delete a room with its messages; coordinators only.

    Its open sockets are closed (4404) after commit by chat.signals.
    """
    require_coordinator(actor, message=MODERATORS_ONLY)
    room.delete()


@transaction.atomic
def rooms_prune(*, days: int, dry_run: bool = False) -> list[Room]:
    """Delete public rooms with no messages that nobody joined for `days`.

    Never the lobby, never a team room. Return the rooms deleted (or, with
    dry_run, those that would be).
    """
    cutoff = timezone.now() - timedelta(days=days)
    stale = (
        Room.objects.filter(
            project__isnull=True,
            last_joined_at__lt=cutoff,
            messages__isnull=True,
        )
        .exclude(slug=LOBBY_SLUG)
        .order_by("slug")
    )
    rooms = list(stale)
    if rooms and not dry_run:
        # The same conditions again, so a room joined meanwhile stays (and
        # isn't reported as deleted).
        listed = [room.pk for room in rooms]
        stale.filter(pk__in=listed).delete()
        kept = set(Room.objects.filter(pk__in=listed).values_list("pk", flat=True))
        rooms = [room for room in rooms if room.pk not in kept]
    return rooms


@transaction.atomic
def room_create_for_project(*, project) -> Room:
    """Return the team's room, creating it if it does not exist yet."""
    room, _ = Room.objects.get_or_create(
        project=project,
        defaults={"slug": f"team-{project.pk}", "name": f"Team {project.pk}"},
    )
    return room


def _rate_limit_retry_after(user_id: int) -> int | None:
    """Count one message; return seconds to wait when over PAIRUP_CHAT_RATE."""
    rate = settings.PAIRUP_CHAT_RATE
    if rate is None:
        return None
    return Window(f"chat:rate:{user_id}", *rate).hit()


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
    if is_blank(text):  # a zero-width space alone shows as an empty bubble
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


def message_post(*, author, room: Room, text: str) -> Message:
    """Store a message and broadcast it to the room after commit.

    Raise ValidationError with code empty, too_long, bad_request, muted,
    rate_limited (params["retry_after"] in seconds) or unavailable; nothing
    is stored then.
    """
    [result] = message_post_many(posts=[(author, room, text)])
    if isinstance(result, ValidationError):
        raise result
    return result


def message_post_many(*, posts: list[tuple]) -> list[Message | ValidationError]:
    """Store many `(author, room, text)` posts; return, in order, each stored
    Message or the ValidationError that refused it.

    Each post is checked once (text, mute, the rate limit, which counts it),
    then the accepted ones are inserted in one transaction, and each room
    gets its new messages as one broadcast after commit. If that insert
    fails (a room deleted meanwhile), each post is inserted on its own,
    without being checked or counted again: one bad post never costs the
    others theirs, and nothing is stored twice. One insert and one mute
    query for the lot keep a burst from queueing behind a commit per message.
    """
    author_ids = {author.pk for author, _room, _text in posts}
    mutes = {
        mute.user_id: mute
        for mute in Mute.objects.active().filter(user_id__in=author_ids)
    }
    closed = dict(
        Room.objects.filter(pk__in={room.pk for _a, room, _t in posts}).values_list(
            "pk", "closed"
        )
    )
    results: list[Message | ValidationError] = []
    for author, room, text in posts:
        try:
            if room.pk not in closed:
                raise ValidationError(ROOM_GONE, code="bad_request")
            if closed[room.pk]:
                raise ValidationError(ROOM_CLOSED, code="bad_request")
            text = _message_text(text)
            _check_sender(author, mutes.get(author.pk))
        except ValidationError as error:
            results.append(error)
        else:
            results.append(Message(room=room, author=author, text=text))
    accepted = [n for n, result in enumerate(results) if isinstance(result, Message)]
    try:
        _insert([results[n] for n in accepted])
    except DatabaseError:
        logger.warning("storing %d messages at once failed", len(accepted))
        for n in accepted:
            try:
                _insert([results[n]])
            except DatabaseError:
                logger.exception("storing a message failed")
                results[n] = ValidationError(NOT_STORED, code="unavailable")
    return results


@transaction.atomic
def _insert(messages: list[Message]) -> None:
    """Insert checked messages; broadcast each room's after commit."""
    Message.objects.bulk_create(messages)
    by_room: dict[int, list[dict]] = {}
    for message in messages:
        by_room.setdefault(message.room_id, []).append(message_frame(message))
    for room_id, frames in by_room.items():
        transaction.on_commit(
            partial(broadcast.messages_stored, room_id, frames), robust=True
        )


@transaction.atomic
def message_delete(*, actor, message: Message) -> None:
    """Delete a message; open pages drop it (a `deleted` frame after commit)."""
    require_coordinator(actor, message=MODERATORS_ONLY)
    room_id, message_id = message.room_id, message.pk
    message.delete()
    transaction.on_commit(
        partial(broadcast.message_deleted, room_id, message_id), robust=True
    )


@transaction.atomic
def mute_set(*, actor, user, until: datetime | None = None, reason: str = "") -> Mute:
    """Mute the user in every room until `until` (None: until lifted).

    Open sockets obey at once: every message is checked when it is posted.
    """
    require_coordinator(actor, message=MODERATORS_ONLY)
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
    require_coordinator(actor, message=MODERATORS_ONLY)
    deleted, _ = Mute.objects.filter(user=user).delete()
    return deleted > 0
