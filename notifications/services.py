"""Write side of notifications: telling users, reading, preferences.

`notify` is the one way in: the services of the other apps call it inside
their transaction with who is to be told about what, and it runs once that
transaction commits (an action that rolls back tells nobody). It stores a
notification per user (the bell and `/notifications/`, always), the email
of each user whose preferences want one, queues those emails for the
worker (a slow mail server never slows a page), and tells the user's open
pages over `/ws/me/`.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.permissions import require_coordinator
from accounts.revocation import user_group
from notifications import mail
from notifications.kinds import (
    EMAIL_ON_BY_DEFAULT,
    TEXT_MAX,
    category_of,
    render_text,
)
from notifications.models import (
    Category,
    EmailDelivery,
    EmailPreference,
    Kind,
    Notification,
    Reminder,
)
from pairup.layer import publish

User = get_user_model()
logger = logging.getLogger(__name__)

MESSAGE_MAX = 1000 - 100  # room for the announcer's name in `text`


def actor_name(actor) -> str:
    """How a notification names who acted: coordinators say so."""
    if actor is None:
        return "A coordinator"
    if actor.is_coordinator:
        return f"{actor.display_name} (coordinator)"
    return actor.display_name


def notify(
    *,
    kind: str,
    users: Iterable,
    actor=None,
    link: str = "",
    event: dict | None = None,
    **params,
) -> None:
    """Tell `users` (users or ids) about `kind` once the transaction commits.

    The actor is never told about their own action. `params` fill the
    kind's text (see kinds.py; `actor` is filled in here); `link` is a path
    on this site; `event` (ics.event_data) adds an .ics file to the emails.
    """
    actor_id = getattr(actor, "pk", None)
    user_ids = sorted({getattr(u, "pk", u) for u in users} - {actor_id, None})
    if not user_ids:
        return
    if actor is not None:
        params.setdefault("actor", actor_name(actor))

    # A named function, not a partial: Django logs a robust callback's
    # failure by its __qualname__.
    def deliver_notifications():
        deliver(kind=kind, user_ids=user_ids, link=link, event=event, params=params)

    transaction.on_commit(deliver_notifications, robust=True)


def deliver(
    *, kind: str, user_ids: list[int], link: str, params: dict, event=None
) -> list[Notification]:
    """Store the notifications and emails now, queue the emails, and tell
    the open pages once committed. A constant number of queries, however
    many users."""
    text = render_text(kind, params)
    now = timezone.now()
    with transaction.atomic():
        users = list(User.objects.filter(pk__in=user_ids, is_active=True))
        notifications = Notification.objects.bulk_create(
            [
                Notification(user=user, kind=kind, text=text, link=link, created_at=now)
                for user in users
            ]
        )
        wanted = email_wanted(users, category_of(kind))
        mail.queue(
            [n for n in notifications if n.user.pk in wanted and n.user.email],
            event=event,
        )
        counts = unread_counts([user.pk for user in users])
        transaction.on_commit(partial(_tell_pages, notifications, counts))
    return notifications


def email_wanted(users, category: str) -> set[int]:
    """Return the ids of the users who want email for the category."""
    chosen = dict(
        EmailPreference.objects.filter(
            user__in=[user.pk for user in users], category=category
        ).values_list("user_id", "email")
    )
    default = category in EMAIL_ON_BY_DEFAULT
    return {user.pk for user in users if chosen.get(user.pk, default)}


def unread_counts(user_ids: list[int]) -> dict[int, int]:
    rows = (
        Notification.objects.unread()
        .filter(user_id__in=user_ids)
        .values("user_id")
        .annotate(count=Count("pk"))
        .values_list("user_id", "count")
    )
    return dict.fromkeys(user_ids, 0) | dict(rows)


def frame_item(notification: Notification) -> dict:
    """A notification as the API and the socket give it."""
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "text": notification.text,
        "link": notification.link,
        "created_at": timezone.localtime(notification.created_at).isoformat(),
        "read": notification.read_at is not None,
    }


def _tell_pages(notifications: list[Notification], counts: dict[int, int]) -> None:
    for notification in notifications:
        publish(
            user_group(notification.user_id),
            {
                "type": "notification.new",
                "unread": counts.get(notification.user_id, 0),
                "notification": frame_item(notification),
            },
        )


# Reading ------------------------------------------------------------------


@transaction.atomic
def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all, or those of `ids` that are
    theirs); return how many are still unread."""
    unread = Notification.objects.unread().filter(user=user)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    unread.update(read_at=timezone.now())
    left = Notification.objects.unread().filter(user=user).count()
    transaction.on_commit(
        partial(
            publish, user_group(user.pk), {"type": "notification.read", "unread": left}
        )
    )
    return left


# Preferences --------------------------------------------------------------


@transaction.atomic
def preferences_update(*, user, email: dict[str, bool]) -> None:
    """Set the user's email choice for each category given."""
    for category, wanted in email.items():
        if category not in Category.values:
            raise ValidationError(f"Unknown category {category!r}.", code="invalid")
        EmailPreference.objects.update_or_create(
            user=user, category=category, defaults={"email": bool(wanted)}
        )


def preferences_for(user) -> dict[str, bool]:
    """Return the user's email choice for every category (one query)."""
    chosen = dict(
        EmailPreference.objects.filter(user=user).values_list("category", "email")
    )
    return {
        category: chosen.get(category, category in EMAIL_ON_BY_DEFAULT)
        for category in Category.values
    }


# Announcements ------------------------------------------------------------


@transaction.atomic
def announcement_send(*, actor, message: str, users=None, link: str = "") -> int:
    """Tell students (all of them, or `users`) a coordinator's message.

    Return how many are told. Coordinators only; 1 to 900 characters
    (fewer for an announcer whose name is longer than 84 characters).
    """
    require_coordinator(actor, message="Only coordinators can send announcements.")
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Write the announcement."})
    # The stored text is "<name> (coordinator): <message>", and a display
    # name may be longer than the room MESSAGE_MAX leaves it.
    limit = min(MESSAGE_MAX, TEXT_MAX - len(f"{actor_name(actor)}: "))
    if len(message) > limit:
        raise ValidationError(
            {"message": f"Keep it to {limit} characters (it has {len(message)})."}
        )
    if users is None:
        users = User.objects.students().values_list("pk", flat=True)
    recipients = [getattr(u, "pk", u) for u in users if getattr(u, "pk", u) != actor.pk]
    notify(
        kind=Kind.ANNOUNCEMENT,
        users=recipients,
        actor=actor,
        link=link,
        message=message,
    )
    return len(set(recipients))


# Housekeeping -------------------------------------------------------------

KEEP_DAYS = 90


def prune(*, now=None) -> int:
    """Delete notifications and emails older than 90 days, and finished
    reminders; return how many notifications went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=KEEP_DAYS)
    deleted, _ = Notification.objects.filter(created_at__lt=cutoff).delete()
    EmailDelivery.objects.filter(created_at__lt=cutoff).exclude(
        status__in=[EmailDelivery.Status.PENDING, EmailDelivery.Status.SENDING]
    ).delete()
    Reminder.objects.filter(due_at__lt=cutoff).exclude(
        status=Reminder.Status.SCHEDULED
    ).delete()
    return deleted
