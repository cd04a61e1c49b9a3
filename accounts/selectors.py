"""Read side of accounts: who is a coordinator, and API tokens."""

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiToken, api_token_hash


def user_is_coordinator(user) -> bool:
    """Return whether `user` is a coordinator; False for a signed-out user.

    The one check for code that may meet an anonymous user (the admin's
    sign-in and sign-out pages build their menus with it), where the
    model's `is_coordinator` property does not exist.
    """
    return user is not None and user.is_authenticated and user.is_coordinator


def user_admin_may_change(*, actor, user) -> bool:
    """Return whether `actor` may change `user` in the admin (None: add one).

    Superusers may change anyone. A coordinator may add students and change
    students only: staff and superuser accounts (their own included) are
    theirs to view, never to change, so no coordinator can set a staff
    password, deactivate a staff account or grant themselves anything.
    """
    if actor.is_active and actor.is_superuser:
        return True
    if not user_is_coordinator(actor):
        return False
    return user is None or not (user.is_staff or user.is_superuser)


def api_token_get(*, key: str) -> ApiToken | None:
    """Return the live token with this key (its user preloaded), or None.

    Expired tokens and tokens of deactivated users count as none.
    """
    if not key:
        return None
    return (
        ApiToken.objects.active(timezone.now())
        .select_related("user")
        .filter(key_hash=api_token_hash(key), user__is_active=True)
        .first()
    )


def api_tokens_for_user(*, user) -> QuerySet:
    """The user's live tokens, newest first."""
    return ApiToken.objects.active(timezone.now()).filter(user=user)
