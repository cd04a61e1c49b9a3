import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template import loader
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import ApiToken, api_token_hash
from accounts.selectors import user_admin_may_change
from accounts.throttle import link_mail_allowed

User = get_user_model()
logger = logging.getLogger(__name__)


ACCOUNT_EXISTS = "An account with this student number already exists."


def account_exists_error() -> ValidationError:
    return ValidationError(ACCOUNT_EXISTS, code="account_exists")


@transaction.atomic
def user_register(
    *,
    username: str,
    password: str,
    first_name: str,
    last_name: str,
    email: str,
    preferred_name: str = "",
) -> User:
    """Create a student account with a usable password.

    Raise ValidationError (the number's as `account_exists`) when the data
    can't make an account, also when another request took the number after
    the caller's form checked it (a double-clicked submit).
    """
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        preferred_name=preferred_name,
        preferred_name_by_student=bool(preferred_name),
    )
    user.set_password(password)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        if any(e.code == "unique" for e in error.error_dict.get("username", [])):
            raise ValidationError({"username": account_exists_error()}) from None
        raise
    try:
        user.save()
    except IntegrityError:
        # The number is the only unique column a new account can clash on.
        raise ValidationError({"username": account_exists_error()}) from None
    return user


@transaction.atomic
def profile_update(
    *,
    user: User,
    preferred_name: str,
    email: str,
    looking_for_partner: bool,
    please_assign_me: bool,
) -> User:
    """Save the student's own profile fields.

    The preferred name counts as the student's choice (kept by roster
    imports) only once the student changes it; the stored name decides, as
    a bound form may have set it on `user` already.
    """
    stored_name = (
        User.objects.filter(pk=user.pk).values_list("preferred_name", flat=True).get()
    )
    fields = {
        "preferred_name": preferred_name,
        "email": email,
        "looking_for_partner": looking_for_partner,
        "please_assign_me": please_assign_me,
    }
    for name, value in fields.items():
        setattr(user, name, value)
    if preferred_name != stored_name:
        user.preferred_name_by_student = True
    user.full_clean(exclude=["password"])
    user.save(update_fields=[*fields, "preferred_name_by_student"])
    return user


# What a coordinator may change about a student in the admin: what the unit
# needs, never permissions, groups, staff or superuser status.
COORDINATOR_USER_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "email",
    "is_active",
    "looking_for_partner",
    "please_assign_me",
)


@transaction.atomic
def user_admin_save(*, actor: User, user: User, changed: list[str]) -> User:
    """Save `user` as edited in the admin by `actor`.

    A superuser may save anything. A coordinator may add a student (not a
    staff or superuser account) and change a student's
    COORDINATOR_USER_FIELDS only; any other change raises PermissionDenied
    and nothing is saved. The account as stored decides, not the edited
    instance, so a forged form can't turn a staff account into a student
    on the way.
    """
    if actor.is_active and actor.is_superuser:
        user.save()
        return user
    creating = user.pk is None
    stored = (
        None
        if creating
        else User.objects.filter(pk=user.pk).values("is_staff", "is_superuser").first()
    )
    if not user_admin_may_change(
        actor=actor, user=None if stored is None else User(**stored)
    ):
        raise PermissionDenied("Only a superuser changes staff accounts.")
    if user.is_staff or user.is_superuser:
        raise PermissionDenied("Only a superuser grants staff or superuser status.")
    forbidden = set(changed) - set(COORDINATOR_USER_FIELDS)
    if not creating and forbidden:
        raise PermissionDenied(
            f"Coordinators may not change {', '.join(sorted(forbidden))}."
        )
    if creating:
        user.save()
    else:
        user.save(update_fields=list(changed))
    return user


def site_link_context() -> dict[str, str]:
    """Return `protocol`, `domain` and `site_name` for links in mail.

    From PAIRUP_SITE_URL, never from a request: its Host header is the
    client's to choose, and a reset link must not point at another site.
    """
    site = urlsplit(settings.PAIRUP_SITE_URL)
    return {"protocol": site.scheme, "domain": site.netloc, "site_name": site.netloc}


def password_link_send(*, username: str) -> None:
    """Mail a set-password link to the student with this number, if any.

    Send nothing when no active student has the number or an email address:
    callers say the same thing either way, so no page tells which numbers
    exist. The mail is the one "Set or reset your password" sends.
    """
    user = User.objects.students().filter(username=username).exclude(email="").first()
    if user is None or not link_mail_allowed(user.pk):
        return
    context = {
        "email": user.email,
        **site_link_context(),
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
    }
    subject = loader.render_to_string(
        "registration/password_reset_subject.txt", context
    )
    body = loader.render_to_string("registration/password_reset_email.html", context)
    message = EmailMultiAlternatives(
        "".join(subject.splitlines()), body, None, [user.email]
    )
    try:
        message.send()
    except Exception:
        # As Django's reset form does: a mail server failure must not turn
        # into an error page that only existing numbers would get.
        logger.exception("Failed to send the set-password link to user %s", user.pk)


# API tokens ---------------------------------------------------------------

API_TOKEN_PREFIX = "pu_"  # noqa: S105 (a marker, not a secret)


@transaction.atomic
def api_token_create(*, user: User, session_key: str = "") -> tuple[ApiToken, str]:
    """Issue a bearer token for the user; return it with its key.

    `session_key`: the signed-in session of the same user the request came
    from, if any; signing out of it revokes the token. Only the key's
    SHA-256 hash is stored, so the key is shown this once. The user's
    expired tokens are deleted on the way.
    """
    now = timezone.now()
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    key = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        key_hash=api_token_hash(key),
        prefix=key[:10],
        expires_at=now + timedelta(hours=settings.PAIRUP_API_TOKEN_HOURS),
        session_key=session_key or "",
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Delete one of the user's tokens; False when there was no such token."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


@transaction.atomic
def api_tokens_revoke_for_session(*, user: User, session_key: str | None) -> int:
    """Delete the user's tokens issued from this session; return how many.

    Called on sign-out. Tokens issued without a session (scripts) stay
    until they expire or are revoked.
    """
    if not session_key:
        return 0
    deleted, _ = ApiToken.objects.filter(user=user, session_key=session_key).delete()
    return deleted
