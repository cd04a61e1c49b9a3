from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from pairup.dates import validate_unit_day
from pairup.models import TimeStampedModel


def members_prefetch(to_project: str = "") -> models.Prefetch:
    """A project's memberships with their users, in joining order: one query
    for all of them. `to_project` is the path from the model queried to the
    project ("project" from a slot, an invitation or a chat room).

    Querysets use it through `with_members()`; built nowhere else.
    """
    return models.Prefetch(
        f"{to_project}__memberships" if to_project else "memberships",
        queryset=Membership.objects.select_related("user").order_by("joined_at", "pk"),
    )


class LabQuerySet(models.QuerySet):
    def upcoming(self, now=None):
        return self.filter(start__gt=now or timezone.now())

    def with_members(self):
        """Each slot's team (select it too) with its members preloaded."""
        return self.prefetch_related(members_prefetch("project"))


class Lab(models.Model):
    """A lab slot: one room, one time, at most one project presenting."""

    room = models.CharField(max_length=40)
    start = models.DateTimeField(db_index=True, validators=[validate_unit_day])
    end = models.DateTimeField(validators=[validate_unit_day])
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
        """Each project's members preloaded, in joining order."""
        return self.prefetch_related(members_prefetch())


def team_label(project_id: int, names: list[str]) -> str:
    """A team's name: "Team 7: Ana, Ben", its members in joining order."""
    return f"Team {project_id}: {', '.join(names)}" if names else f"Team {project_id}"


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
        return team_label(self.pk, [user.display_name for user in self.member_list()])


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

    # A dissolved team's invitations outlive it, cancelled (rule 5): a stale
    # page's Accept then says why instead of a 404. `project_number` keeps
    # the team's number, the only part of its name they go on showing.
    project = models.ForeignKey(
        Project,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
    )
    project_number = models.PositiveBigIntegerField(
        "team", null=True, blank=True, editable=False
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
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(project__isnull=False),
                name="pending_invitation_has_a_project",
            ),
        ]

    def __str__(self):
        return f"{self.team} invites {self.invitee.username} ({self.status})"

    def save(self, *args, **kwargs):
        if self.project_id is not None:
            self.project_number = self.project_id
        super().save(*args, **kwargs)

    @property
    def team(self) -> str:
        """The team's name as far as the invitee saw it: its number."""
        return f"Team {self.project_id or self.project_number}"


class BookingWindow(models.Model):
    """The single row that opens and closes booking and team changes."""

    class Mode(models.TextChoices):
        FIRST_COME = "first_come", "First come"
        BALLOT = "ballot", "Ballot, then first come"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    booking_open = models.BooleanField("booking open", default=True)
    mode = models.CharField(
        "booking mode", max_length=10, choices=Mode.choices, default=Mode.FIRST_COME
    )
    ballot_closes_at = models.DateTimeField(
        "ballot closes at", null=True, blank=True, validators=[validate_unit_day]
    )
    opens_at = models.DateTimeField(
        "opens at", null=True, blank=True, validators=[validate_unit_day]
    )
    closes_at = models.DateTimeField(
        "closes at", null=True, blank=True, validators=[validate_unit_day]
    )
    team_changes_open = models.BooleanField("team changes open", default=True)
    schedule_published = models.BooleanField("schedule published", default=False)
    # The ballot's tie-break seed (drawn once, kept with every run) and when
    # the ballot closing at `ballot_closes_at` was allocated (the run itself
    # is a BallotRun; this spares pages a query).
    ballot_seed = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    ballot_ran_at = models.DateTimeField(null=True, blank=True, editable=False)
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
            # A ballot closes, then first come opens for what it left.
            models.CheckConstraint(
                condition=Q(mode="first_come")
                | Q(
                    ballot_closes_at__isnull=False,
                    opens_at__isnull=False,
                    opens_at__gt=F("ballot_closes_at"),
                ),
                name="booking_window_ballot_closes_before_opening",
            ),
        ]

    def __str__(self):
        return "Booking window"

    def clean(self):
        if self.mode != self.Mode.BALLOT:
            return
        errors = {}
        if self.ballot_closes_at is None:
            errors["ballot_closes_at"] = (
                "A ballot needs a closing time: teams rank slots until then."
            )
        if self.opens_at is None:
            errors["opens_at"] = (
                "With a ballot, set when first come booking opens for the slots "
                "it leaves (after the ballot closes)."
            )
        elif self.ballot_closes_at and self.opens_at <= self.ballot_closes_at:
            closes = timezone.localtime(self.ballot_closes_at)
            errors["opens_at"] = (
                "First come booking must open after the ballot closes "
                f"({closes:%a %d %b %Y, %H:%M})."
            )
        if errors:
            raise ValidationError(errors)

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
        BALLOT = "ballot", "Ballot"

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


class Ballot(models.Model):
    """A team's ranking of slots for the ballot, best first.

    Any member saves the whole list; the last save wins. It belongs to the
    team: a dissolved team's ballot goes with it, a team that gains a member
    keeps it, and a student who joins brings none (design.md, issue 18).
    """

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="ballot"
    )
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project"]

    def __str__(self):
        return f"Ballot of Team {self.project_id}"


class BallotChoice(models.Model):
    """One slot in a team's ranking; rank 1 is the first choice."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="choices")
    # A slot deleted by a coordinator leaves the rankings it was in.
    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["ballot", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["ballot", "lab"], name="ballot_ranks_a_slot_once"
            ),
            models.UniqueConstraint(
                fields=["ballot", "rank"], name="ballot_one_slot_per_rank"
            ),
            models.CheckConstraint(
                condition=Q(rank__gte=1), name="ballot_rank_from_one"
            ),
        ]

    def __str__(self):
        return f"Team {self.ballot.project_id}: {self.rank}. slot {self.lab_id}"


class BallotRun(models.Model):
    """One allocation of a ballot: a dry run (shown, nothing booked) or the
    run that booked the slots, once per ballot (its closing time).

    It keeps its seed and its input (every team's ranking and the slots that
    could be allocated), so it can be solved again to the same result.
    """

    class Trigger(models.TextChoices):
        CLOCK = "clock", "The clock, at the closing time"
        COORDINATOR = "coordinator", "A coordinator"
        COMMAND = "command", "A command"
        REQUEST = "request", "A page, after the closing time"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    closes_at = models.DateTimeField("ballot closing time")
    dry_run = models.BooleanField(default=True)
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField("by", max_length=150, blank=True)
    seed = models.PositiveBigIntegerField()
    teams = models.PositiveIntegerField("teams without a slot", default=0)
    ranked = models.PositiveIntegerField("teams that ranked", default=0)
    slots = models.PositiveIntegerField("slots to allocate", default=0)
    placed = models.PositiveIntegerField(default=0)
    first_choices = models.PositiveIntegerField("first choices", default=0)
    top_three = models.PositiveIntegerField("top 3", default=0)
    solve_ms = models.PositiveIntegerField("solver time (ms)", default=0)
    # {"slots": [lab ids], "teams": {project id: [lab ids, best first]}}
    ballots = models.JSONField(default=dict)
    # [[project id, lab id, rank], ...]; skipped: placements that could not
    # be booked (a team dissolved or a slot taken while it ran).
    allocation = models.JSONField(default=list)
    skipped = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["closes_at"],
                condition=Q(dry_run=False),
                name="ballot_runs_once_per_closing_time",
            ),
        ]

    def __str__(self):
        kind = "Dry run" if self.dry_run else "Run"
        return f"{kind} of the ballot closing {timezone.localtime(self.closes_at):%Y-%m-%d %H:%M}"

    @property
    def unplaced(self) -> int:
        """Teams that ranked slots but got none."""
        return self.ranked - self.placed

    @property
    def unranked(self) -> int:
        """Teams without a slot that ranked nothing."""
        return self.teams - self.ranked
