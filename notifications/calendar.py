"""Teams' bookings as calendar events, and each user's calendar feed.

The booking services call `slot_event_book` and `slot_event_cancel` inside
their transaction: the event keeps one UID from booking through every move
(SEQUENCE rises with each change), and its reminders move with it; an
edited description reaches it through `slot_event_refresh`. The feed
(`/calendar/<token>.ics`) lists the same events with the same UIDs. A slot
that has started is never cancelled or moved: the presentation happened, so
the feeds keep it as it was, and a team moved off it gets a new event.
"""

import secrets
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from notifications import ics, reminders
from notifications.mail import site_url
from notifications.models import CalendarFeed, SlotEvent

FEED_SALT = "pairup.notifications.calendar-feed"


def _summary(project) -> str:
    return f"{settings.PAIRUP_UNIT_NAME}: {project} presents “{project.description}”"


def slot_event_book(*, project, lab) -> dict:
    """Record that the project holds `lab` now (booked or moved) and return
    the event's REQUEST. Call inside the booking's transaction."""
    event = SlotEvent.objects.filter(project=project, cancelled=False).first()
    if event is not None and event.lab_id != lab.pk and _has_started(event):
        # Moved off a slot that has started (a coordinator did it): that
        # presentation is kept as it was, and the new slot is a new event.
        _keep_as_it_was(event, project)
        event = None
    new = event is None
    if new:
        host = urlsplit(site_url()).hostname or "pairup"
        event = SlotEvent(project=project, uid=f"{uuid.uuid4()}@{host}")
    else:
        event.sequence += 1
    event.lab = lab
    event.start, event.end, event.room = lab.start, lab.end, lab.room
    event.summary = _summary(project)
    event.save()
    reminders.schedule_for_slot(event, new=new)
    return ics.event_data(event, method=ics.REQUEST)


def _has_started(event) -> bool:
    return event.start <= timezone.now()


def _keep_as_it_was(event, project) -> None:
    """The event of a slot that has started leaves the project and stays in
    its members' feeds as it was."""
    reminders.withdraw_for_slot(event)  # none is due any more
    event.kept_for.add(*project.memberships.values_list("user_id", flat=True))
    event.project = None
    event.save(update_fields=["project", "updated_at"])


def slot_event_cancel(*, project) -> dict | None:
    """Record that the project's booking ended (released, dissolved) and
    return the event's CANCEL, or None if it had none.

    A slot that has started is not cancelled (None): the presentation
    happened, and a CANCEL would strike it out of the members' calendars.
    The event leaves the project (a new booking is a new event) and stays
    in the members' feeds as it was.
    """
    event = SlotEvent.objects.filter(project=project, cancelled=False).first()
    if event is None:
        return None
    if _has_started(event):
        _keep_as_it_was(event, project)
        return None
    event.sequence += 1
    event.cancelled = True
    event.save(update_fields=["sequence", "cancelled", "updated_at"])
    reminders.withdraw_for_slot(event)
    return ics.event_data(event, method=ics.CANCEL)


def slot_event_refresh(*, project) -> None:
    """Keep the project's live event's summary current (its description was
    edited), raising SEQUENCE when it changes so subscribed calendars take
    the new one. Call inside the edit's transaction."""
    event = SlotEvent.objects.filter(project=project, cancelled=False).first()
    if event is None:
        return
    summary = _summary(project)
    if event.summary == summary:
        return
    event.summary = summary
    event.sequence += 1
    event.save(update_fields=["summary", "sequence", "updated_at"])


def slot_event_invite(*, project) -> dict | None:
    """Return the project's live event as a REQUEST (for a member who joins
    a team that has a slot), or None.

    SEQUENCE rises: a member added back after a removal holds the event's
    CANCEL, and a calendar ignores a REQUEST no newer than it.
    """
    event = SlotEvent.objects.filter(project=project, cancelled=False).first()
    if event is None or _has_started(event):
        return None  # a newcomer after the start didn't present: no invitation
    event.sequence += 1
    event.save(update_fields=["sequence", "updated_at"])
    return ics.event_data(event, method=ics.REQUEST)


def slot_event_uninvite(*, project, member=None) -> dict | None:
    """Return a CANCEL of the project's live event for a member who leaves
    the team (the event stays for the others), or None.

    After the slot has started there is nothing to cancel (None): the
    member presented, and their feed keeps the event.
    """
    event = SlotEvent.objects.filter(project=project, cancelled=False).first()
    if event is None:
        return None
    if _has_started(event):
        if member is not None:
            event.kept_for.add(member)
        return None
    event.sequence += 1
    event.save(update_fields=["sequence", "updated_at"])
    return ics.event_data(event, method=ics.CANCEL)


# The feed -----------------------------------------------------------------


def _token(feed: CalendarFeed, *, key=None) -> str:
    digest = salted_hmac(
        FEED_SALT, f"{feed.user_id}:{feed.nonce}", secret=key, algorithm="sha256"
    ).hexdigest()[:32]
    return f"{feed.nonce}{digest}"


def feed_url(feed: CalendarFeed | None) -> str | None:
    if feed is None:
        return None
    return site_url() + reverse(
        "notifications:calendar_feed", kwargs={"token": _token(feed)}
    )


def feed_for_user(user) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user).first()


def feed_from_token(token: str) -> CalendarFeed | None:
    """Return the feed this token opens, or None (wrong, revoked, forged)."""
    nonce, digest = token[:16], token[16:]
    if len(nonce) != 16 or len(digest) != 32:
        return None
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(nonce=nonce, user__is_active=True)
        .first()
    )
    if feed is None:
        return None
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if any(constant_time_compare(_token(feed, key=key), token) for key in keys):
        return feed
    return None


@transaction.atomic
def calendar_feed_regenerate(*, user) -> CalendarFeed:
    """Give the user a new feed URL; the old one stops working."""
    feed, _ = CalendarFeed.objects.update_or_create(
        user=user,
        defaults={"nonce": secrets.token_hex(8), "created_at": timezone.now()},
    )
    return feed


@transaction.atomic
def calendar_feed_revoke(*, user) -> bool:
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    return bool(deleted)


def feed_events(user) -> list[dict]:
    """The events the user's feed lists: the team's slot for a student (and
    a slot they presented in with a team they have left), every booked slot
    for a coordinator (one query either way)."""
    events = SlotEvent.objects.filter(cancelled=False)
    if not user.is_coordinator:
        events = events.filter(
            Q(project__memberships__user=user) | Q(kept_for=user)
        ).distinct()
    return [ics.event_data(event, method="PUBLISH") for event in events]


def feed_calendar(user) -> str:
    if user.is_coordinator:
        name = f"{settings.PAIRUP_UNIT_NAME}: all presentations"
    else:
        name = f"{settings.PAIRUP_UNIT_NAME}: my presentation"
    return ics.feed(feed_events(user), name=name)
