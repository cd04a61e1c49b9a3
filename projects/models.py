from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from pairup.models import TimeStampedModel


class LabQuerySet(models.QuerySet):
    def upcoming(self, now=None):
        return self.filter(start__gt=now or timezone.now())


class Lab(models.Model):
    """A lab slot: one room, one time, at most one project presenting."""

    room = models.CharField(max_length=40)
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    is_open = models.BooleanField("open", default=True)

    objects = LabQuerySet.as_manager()

    class Meta:
        ordering = ["start", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "start"], name="lab_room_start_unique"
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="lab_ends_after_start"
            ),
        ]

    def __str__(self):
        local = timezone.localtime(self.start)
        return f"{self.room}, {local:%a %d %b %Y %H:%M}"

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def is_past(self, now=None) -> bool:
        return self.start <= (now or timezone.now())

    def is_before_cutoff(self, now=None) -> bool:
        """True while the slot starts more than the cut-off from now."""
        cutoff = timedelta(minutes=settings.PAIRUP_BOOKING_CUTOFF_MINUTES)
        return self.start > (now or timezone.now()) + cutoff


class ProjectQuerySet(models.QuerySet):
    def with_members(self):
        return self.prefetch_related(
            models.Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("user").order_by(
                    "joined_at", "pk"
                ),
            )
        )


class Project(TimeStampedModel):
    """A team: one to PAIRUP_TEAM_SIZE students, at most one lab slot."""

    description = models.CharField(max_length=64)
    # One-to-one: a slot holds at most one project and a project at most one
    # slot, both enforced by the database's unique index.
    lab = models.OneToOneField(
        Lab,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="project",
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(description=""), name="project_description_not_empty"
            ),
        ]

    def __str__(self):
        return f"Team {self.pk}"

    def member_list(self):
        """Members in joining order; uses the with_members() prefetch if there."""
        return [m.user for m in self.memberships.all()]

    def has_room(self) -> bool:
        """True while the team has fewer than PAIRUP_TEAM_SIZE members.

        Uses the with_members() prefetch if there; services count under a lock.
        """
        return len(self.member_list()) < settings.PAIRUP_TEAM_SIZE

    @property
    def room_slug(self) -> str:
        """The slug of the team's chat room (docs/protocol.md: `team-<project id>`)."""
        return f"team-{self.pk}"

    @property
    def team_name(self) -> str:
        names = ", ".join(user.display_name for user in self.member_list())
        return f"Team {self.pk}: {names}" if names else f"Team {self.pk}"


class Membership(models.Model):
    # One-to-one on the user: a student belongs to at most one project.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["joined_at", "pk"]

    def __str__(self):
        return f"{self.user.username} in Team {self.project_id}"


class Invitation(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="invitations"
    )
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="invitations_sent",
    )
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="invitations_received",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "invitee"],
                condition=Q(status="pending"),
                name="one_pending_invitation_per_project_invitee",
            ),
        ]

    def __str__(self):
        return f"Team {self.project_id} invites {self.invitee.username} ({self.status})"


class BookingWindow(models.Model):
    """The single row that opens and closes booking and team changes."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    booking_open = models.BooleanField("booking open", default=True)
    opens_at = models.DateTimeField("opens at", null=True, blank=True)
    closes_at = models.DateTimeField("closes at", null=True, blank=True)
    team_changes_open = models.BooleanField("team changes open", default=True)
    schedule_published = models.BooleanField("schedule published", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "booking window"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="booking_window_singleton"),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=F("opens_at")),
                name="booking_window_closes_after_opens",
            ),
        ]

    def __str__(self):
        return "Booking window"

    @classmethod
    def get(cls) -> "BookingWindow":
        window, _ = cls.objects.get_or_create(pk=1)
        return window

    def is_booking_open(self, now=None) -> bool:
        """The window's rule, `selectors.booking_open`, at `now`."""
        from projects.selectors import booking_open, window_facts

        return booking_open(window_facts(self), (now or timezone.now()).timestamp())


class BookingRecord(models.Model):
    """One booking change, kept as text so it outlives the team and the slot."""

    class Action(models.TextChoices):
        BOOK = "book", "Book"
        MOVE = "move", "Move"
        RELEASE = "release", "Release"
        DISSOLVE = "dissolve", "Dissolve"

    class Via(models.TextChoices):
        PAGE = "page", "Page"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    via = models.CharField("path", max_length=10, choices=Via.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField("by", max_length=150)
    project_number = models.PositiveBigIntegerField("team", null=True, blank=True)
    members = models.CharField("members' numbers", max_length=500, blank=True)
    from_lab = models.ForeignKey(
        Lab, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_slot = models.CharField("from slot", max_length=120, blank=True)
    to_lab = models.ForeignKey(
        Lab, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_slot = models.CharField("to slot", max_length=120, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_action_display()} by {self.actor_username} at {self.created_at:%Y-%m-%d %H:%M}"


class Announcement(models.Model):
    """A coordinator's announcement to a segment of the unit, kept for the
    coordinator page's list. What each student got is a notification
    (`notifications.Notification`, kind "announcement"); this is the sent
    item: who wrote what, to whom, and how many it reached."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_name = models.CharField("by", max_length=150)
    message = models.CharField(max_length=1000)
    audience = models.CharField("to", max_length=200)
    recipients = models.PositiveIntegerField("students told")
    by_email = models.PositiveIntegerField("emailed")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Announcement to {self.audience} at {self.created_at:%Y-%m-%d %H:%M}"
