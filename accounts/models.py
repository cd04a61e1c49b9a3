import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from accounts.validators import validate_name_characters, validate_student_number

COORDINATORS_GROUP = "Coordinators"


class PairUpUserManager(UserManager):
    def students(self):
        """Active users who are neither staff nor superusers."""
        return self.filter(is_active=True, is_staff=False, is_superuser=False)


class User(AbstractUser):
    """A student (username = student number) or a staff user."""

    # The names refuse control characters on every path that validates the
    # model (the admin's forms too), not only on the students' own forms.
    first_name = models.CharField(
        "first name", max_length=150, blank=True, validators=[validate_name_characters]
    )
    last_name = models.CharField(
        "last name", max_length=150, blank=True, validators=[validate_name_characters]
    )
    preferred_name = models.CharField(
        "preferred name",
        max_length=150,
        blank=True,
        validators=[validate_name_characters],
    )
    # Set once the student changes the preferred name on the profile, so a roster
    # import never overwrites the student's own choice.
    preferred_name_by_student = models.BooleanField(default=False, editable=False)
    looking_for_partner = models.BooleanField("looking for a partner", default=False)
    please_assign_me = models.BooleanField("please assign me", default=False)

    # The fields `display_name` is made of, first found first: a save
    # touching any of them may rename the user where they are shown.
    DISPLAY_NAME_FIELDS = ("preferred_name", "first_name", "username")

    objects = PairUpUserManager()

    _password_unusable = False

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="user_name_idx"),
        ]

    def __str__(self):
        name = self.get_full_name()
        return f"{self.username} ({name})" if name else self.username

    def save(self, *args, **kwargs):
        # A new password (changed, reset, set in the admin or a command,
        # or disabled) ends every API token, as it ends other sessions.
        # `_password` is Django's own mark of a real change: a hash upgrade
        # at sign-in clears it and keeps the tokens.
        update_fields = kwargs.get("update_fields")
        password_saved = update_fields is None or "password" in update_fields
        replaced = (
            password_saved
            and self.pk is not None
            and (self._password is not None or self._password_unusable)
        )
        super().save(*args, **kwargs)
        if password_saved:
            self._password_unusable = False
        if replaced:
            ApiToken.objects.filter(user=self).delete()

    def clean(self):
        super().clean()
        # No username yet: the form refused the one typed and said why.
        if self.username and not self.is_staff and not self.is_superuser:
            validate_student_number(self.username)

    def set_unusable_password(self):
        super().set_unusable_password()
        self._password_unusable = True

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.first_name or self.username

    @property
    def is_student(self) -> bool:
        return self.is_active and not self.is_staff and not self.is_superuser

    @property
    def is_coordinator(self) -> bool:
        """Superusers, and staff in the Coordinators group."""
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        if not self.is_staff:
            return False
        if not hasattr(self, "_is_coordinator"):
            self._is_coordinator = self.groups.filter(name=COORDINATORS_GROUP).exists()
        return self._is_coordinator

    @classmethod
    def name_query(cls, q: str) -> Q:
        """Match first, last or preferred name, or the student number."""
        return (
            Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(preferred_name__icontains=q)
            | Q(username__icontains=q)
        )


def api_token_hash(key: str) -> str:
    """Return the stored form of an API token's key (SHA-256, hex)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now=None):
        from django.utils import timezone

        return self.filter(expires_at__gt=now or timezone.now())


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its SHA-256 hash is stored."""

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the key, so the owner can tell tokens apart.
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    # The session the token was issued from, when the request that asked
    # for it was signed in as the same user (a page's own script): signing
    # out of that session revokes it. Empty: a script's token, which lives
    # until it expires or is revoked.
    session_key = models.CharField(max_length=40, blank=True, default="")

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.prefix}… ({self.user.username})"
