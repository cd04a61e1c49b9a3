"""Read side of notifications."""

from django.http import Http404

from notifications.models import Notification

PAGE_SIZE = 30


def unread_count(*, user) -> int:
    return Notification.objects.unread().filter(user=user).count()


def notification_page(*, user, before: int | None = None, size: int = PAGE_SIZE):
    """Return (the user's notifications newest first, older ones exist?).

    Keyset pagination by id (`before`): one query, however many there are.
    """
    notifications = Notification.objects.filter(user=user)
    if before is not None:
        notifications = notifications.filter(pk__lt=before)
    rows = list(notifications.order_by("-pk")[: size + 1])
    return rows[:size], len(rows) > size


def notification_get_for_user(*, user, notification_id: int) -> Notification:
    """Return the user's notification; 404 if missing or someone else's."""
    notification = Notification.objects.filter(user=user, pk=notification_id).first()
    if notification is None:
        raise Http404("No such notification.")
    return notification
