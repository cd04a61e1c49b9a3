"""Read side of accounts: API tokens."""

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import api_token_hash


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
