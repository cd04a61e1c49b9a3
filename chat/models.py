from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.validators import validate_name_characters

TEAM_SLUG_PREFIX = "team"
LOBBY_SLUG = "lobby"


class Room(models.Model):
    """A chat room: public (no project) or a team's own room (`team-<id>`)."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=40, validators=[validate_name_characters])
    # A team room goes with its team: deleting the project deletes the room
    # and its history by cascade, so projects never needs to know about chat.
    project = models.OneToOneField(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chat_room",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When someone last opened the room's page (kept to the hour): rooms
    # with no messages that nobody joined for a term are pruned.
    last_joined_at = models.DateTimeField(default=timezone.now)
    # Closed by a coordinator: off the room list, no new joins, open
    # sockets closed; its name can't be opened again while it is closed.
    closed = models.BooleanField(
        default=False,
        help_text="A closed room refuses new joins and leaves the room list; "
        "the people in it are disconnected.",
    )

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("chat:room_detail", kwargs={"slug": self.slug})

    @property
    def is_team_room(self) -> bool:
        return self.project_id is not None


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    text = models.TextField(max_length=1000)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["room", "id"], name="chat_message_room_id_idx")]

    def __str__(self):
        preview = self.text if len(self.text) <= 40 else f"{self.text[:39]}…"
        return f"#{self.pk} in {self.room_id}: {preview}"


class MuteQuerySet(models.QuerySet):
    def active(self, now=None):
        """Mutes without an end, or whose end is still ahead."""
        now = now or timezone.now()
        return self.filter(Q(until__isnull=True) | Q(until__gt=now))


class Mute(models.Model):
    """A global mute: the user may read but not post, until lifted or `until`."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_mute"
    )
    until = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty to mute until lifted."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MuteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.user.username} muted"

    def is_active(self, now=None) -> bool:
        return self.until is None or self.until > (now or timezone.now())
