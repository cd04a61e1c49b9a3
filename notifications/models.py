"""What users are told, how it reached them, and what is still to be told.

A `Notification` is the in-page message (the bell, `/notifications/`); an
`EmailDelivery` is one email of it, with everything needed to send it again
and what happened when it was sent. A `SlotEvent` is a team's booking as
calendars know it (one UID through moves, a rising SEQUENCE), and a
`Reminder` is a message due at a given time (before a slot, before booking
opens), claimed once by whichever worker gets to it first.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Category(models.TextChoices):
    """What a user turns email on or off for (the profile lists these)."""

    INVITATIONS = "invitations", "Invitations: received, accepted, declined, withdrawn"
    BOOKINGS = "bookings", "Your team's lab slot: booked, moved, released"
    TEAM = "team", "Your team: dissolved, members added or removed"
    REMINDERS = (
        "reminders",
        "Reminders: before your slot, and when booking opens while you have none",
    )
    ANNOUNCEMENTS = "announcements", "Announcements from coordinators"


class Kind(models.TextChoices):
    INVITATION_RECEIVED = "invitation_received", "Invitation received"
    INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
    INVITATION_DECLINED = "invitation_declined", "Invitation declined"
    INVITATION_CANCELLED = "invitation_cancelled", "Invitation withdrawn"
    SLOT_BOOKED = "slot_booked", "Slot booked"
    SLOT_MOVED = "slot_moved", "Slot moved"
    SLOT_RELEASED = "slot_released", "Slot released"
    TEAM_DISSOLVED = "team_dissolved", "Team dissolved"
    MEMBER_ADDED = "member_added", "Added to a team"
    MEMBER_REMOVED = "member_removed", "Removed from a team"
    TEAMMATE_ADDED = "teammate_added", "A member joined your team"
    TEAMMATE_REMOVED = "teammate_removed", "A member left your team"
    SLOT_REMINDER = "slot_reminder", "Reminder before your slot"
    BOOKING_OPENS = "booking_opens", "Booking opens"
    ANNOUNCEMENT = "announcement", "Announcement"
    BALLOT_PLACED = "ballot_placed", "The ballot gave your team a slot"
    BALLOT_UNPLACED = "ballot_unplaced", "The ballot gave your team no slot"


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One message to one user, shown in the page (always) and kept 90 days."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    text = models.CharField(max_length=1000)
    # A path on this site: where the notification acts (the invitation, the
    # board, the team room).
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [
            # The bell's count, on every signed-in page.
            models.Index(fields=["user", "read_at"], name="notification_unread_idx"),
            # The list, newest first, a page at a time.
            models.Index(fields=["user", "-id"], name="notification_list_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailPreference(models.Model):
    """A user's choice of email for one category (absent: the default)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="email_preferences",
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    email = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "category"], name="one_email_preference_per_category"
            ),
        ]

    def __str__(self):
        return f"{self.user_id} {self.category}: {'on' if self.email else 'off'}"


class EmailDelivery(models.Model):
    """One email of a notification: what was sent to whom, and how it went."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    notification = models.ForeignKey(
        Notification,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="email_deliveries",
    )
    to = models.CharField("to", max_length=254)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    subject = models.CharField(max_length=255)
    body = models.TextField("plain text")
    html = models.TextField("HTML")
    ics = models.TextField(".ics attachment", blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField("next attempt", null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField("last error", blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "email delivery"
        verbose_name_plural = "email deliveries"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
        ]

    def __str__(self):
        return f"{self.subject} to {self.to} ({self.status})"


class SlotEvent(models.Model):
    """A team's booking as calendars know it.

    One UID from booking through every move until the slot is released or
    the team dissolved (then it is cancelled with a higher SEQUENCE); a new
    booking after that is a new event. Times and room are a copy, so a
    cancellation still says what is cancelled.

    A slot that has started is never cancelled: the presentation happened.
    Released or dissolved after its start, the event leaves its project
    (`project` None) and stays in the feeds of the members then, `kept_for`,
    as it happened; so does a member removed after the start.
    """

    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lab = models.ForeignKey(
        "projects.Lab",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uid = models.CharField("UID", max_length=200, unique=True)
    sequence = models.PositiveIntegerField(default=0)
    start = models.DateTimeField()
    end = models.DateTimeField()
    room = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    cancelled = models.BooleanField(default=False)
    kept_for = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Members who left the team, or whose team was dissolved, "
        "after the slot started: their calendar feed keeps it.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(cancelled=False),
                name="one_live_slot_event_per_project",
            ),
        ]

    def __str__(self):
        return self.uid


class Reminder(models.Model):
    """A message due at `due_at`, sent once by whichever worker claims it."""

    class Type(models.TextChoices):
        SLOT = "slot", "Before a slot"
        BOOKING_OPENS = "booking_opens", "Booking opens"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Withdrawn"
        SKIPPED = "skipped", "Skipped (too late or no longer true)"

    type = models.CharField(max_length=20, choices=Type.choices)
    event = models.ForeignKey(
        SlotEvent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminders",
    )
    before = models.DurationField(null=True, blank=True)
    # Booking opens: when (one reminder per opening).
    opening = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SCHEDULED
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="reminder_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["opening"],
                condition=Q(type="booking_opens"),
                name="one_reminder_per_booking_opening",
            ),
        ]

    def __str__(self):
        return (
            f"{self.get_type_display()} at {self.due_at:%Y-%m-%d %H:%M} ({self.status})"
        )


class CalendarFeed(models.Model):
    """A user's calendar feed: the public half of its secret URL.

    The URL's token is this nonce and an HMAC of it with SECRET_KEY, so the
    database alone holds nothing that opens a feed (as with a hash), yet the
    server can show the URL again. Regenerating changes the nonce;
    revoking deletes the row.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="calendar_feed",
    )
    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Calendar feed of {self.user_id}"
