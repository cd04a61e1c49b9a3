"""Read-only admin of what was told: emails sent and failed, reminders.

Coordinators see the emails (with their error when one failed) and the
reminders; the notifications themselves, preferences, calendar events and
feeds are there for superusers. Nothing here is edited by hand: services
write all of it.
"""

from django.contrib import admin

from notifications.models import (
    CalendarFeed,
    EmailDelivery,
    EmailPreference,
    Notification,
    Reminder,
    SlotEvent,
)
from pairup.dates import STAMP, local_text


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created", "to", "subject", "status", "attempts", "sent", "error")
    list_filter = ("status", "kind", "created_at")
    list_select_related = ("user",)
    search_fields = ("to", "subject", "user__username", "last_error")
    date_hierarchy = "created_at"
    fields = (
        "to",
        "user",
        "kind",
        "subject",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "last_error",
        "body",
        "html",
        "ics",
    )
    readonly_fields = fields

    @admin.display(description="queued", ordering="created_at")
    def created(self, delivery):
        return local_text(delivery.created_at, STAMP)

    @admin.display(description="sent", ordering="sent_at")
    def sent(self, delivery):
        return local_text(delivery.sent_at, STAMP)

    @admin.display(description="last error")
    def error(self, delivery):
        return delivery.last_error[:80]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("due", "type", "team", "before", "opening", "status")
    list_filter = ("type", "status")
    list_select_related = ("event",)
    search_fields = ("=event__project__id", "event__room")
    fields = ("type", "event", "before", "opening", "due_at", "status", "sent_at")
    readonly_fields = fields

    @admin.display(description="due", ordering="due_at")
    def due(self, reminder):
        return local_text(reminder.due_at, STAMP)

    @admin.display(description="team")
    def team(self, reminder):
        if reminder.event is None or reminder.event.project_id is None:
            return ""
        return f"Team {reminder.event.project_id}"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "kind", "text", "read_at")
    list_filter = ("kind", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "text")
    raw_id_fields = ("user",)


@admin.register(EmailPreference)
class EmailPreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "category", "email")
    list_filter = ("category", "email")
    list_select_related = ("user",)
    search_fields = ("user__username",)


@admin.register(SlotEvent)
class SlotEventAdmin(ReadOnlyAdmin):
    list_display = ("uid", "project", "room", "start", "sequence", "cancelled")
    list_filter = ("cancelled",)
    search_fields = ("uid", "room", "=project__id")


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    list_display = ("user", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    exclude = ("nonce",)
