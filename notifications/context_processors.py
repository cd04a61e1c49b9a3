from django.utils.functional import cached_property

from notifications.selectors import unread_count


class UnreadCount:
    """The signed-in user's unread count, counted on first use only (one
    query, on the index of user and read_at), then kept for the request."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def value(self) -> int:
        return unread_count(user=self.user)

    def __int__(self):
        return self.value

    def __bool__(self):
        return bool(self.value)

    def __str__(self):
        return str(self.value)


def bell(request):
    """Give every signed-in page the navbar bell's unread count."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": UnreadCount(user)}
