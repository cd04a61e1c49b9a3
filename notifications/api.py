"""JSON API of notifications: list them, mark them read."""

from datetime import datetime

from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from notifications import services
from notifications.mail import absolute
from notifications.models import Notification
from pairup.api_errors import MAX_ID, QueryFilters, error_responses

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    text: str
    link: str = Field(description="where it acts: a URL on this site, or empty")
    created_at: datetime
    read: bool

    @staticmethod
    def resolve_link(notification):
        return absolute(notification.link) if notification.link else ""

    @staticmethod
    def resolve_created_at(notification):
        return timezone.localtime(notification.created_at)

    @staticmethod
    def resolve_read(notification):
        return notification.read_at is not None


class NotificationPage(Schema):
    count: int
    unread: int
    limit: int
    offset: int
    items: list[NotificationOut]


class NotificationFilters(QueryFilters):
    unread: bool | None = Field(None, description="only unread (true) or read (false)")
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10**9)


class ReadIn(Schema):
    ids: list[int] | None = Field(
        None,
        max_length=1000,
        description="the notifications to mark read; omit to mark all",
    )


class ReadOut(Schema):
    unread: int


@router.get(
    "/me/notifications",
    response={200: NotificationPage, **error_responses(400, 401)},
)
def notification_list(request, filters: Query[NotificationFilters]):
    """My notifications, newest first (kept for 90 days)."""
    mine = Notification.objects.filter(user=request.auth)
    unread = mine.unread().count()
    chosen = mine
    if filters.unread is not None:
        chosen = mine.filter(read_at__isnull=filters.unread)
    count = unread if filters.unread else chosen.count()
    items = chosen.order_by("-pk")[filters.offset : filters.offset + filters.limit]
    return {
        "count": count,
        "unread": unread,
        "limit": filters.limit,
        "offset": filters.offset,
        "items": list(items),
    }


@router.post(
    "/me/notifications/read",
    response={200: ReadOut, **error_responses(400, 401, 403)},
)
def notifications_read(request, payload: ReadIn):
    """Mark my notifications read: those of `ids` (others' are ignored), or
    all of them (`{}`). Returns how many are still unread."""
    ids = None
    if payload.ids is not None:
        ids = [pk for pk in payload.ids if 0 < pk <= MAX_ID]
    return {"unread": services.notifications_mark_read(user=request.auth, ids=ids)}
