"""How often set-password links may be asked for and mailed.

Sign-in failures are django-axes' business; these limits keep the two link
pages (password reset, roster registration) from being used to flood an
inbox or to hammer the mail server. An account over its limit is skipped
silently, so the pages still say the same thing whether a number or address
exists.
"""

from django.core.cache import cache

LINK_REQUESTS_PER_ADDRESS = 10
LINK_REQUEST_WINDOW = 15 * 60
LINK_MAILS_PER_ACCOUNT = 3
LINK_MAIL_WINDOW = 60 * 60


def _over_limit(key: str, *, limit: int, seconds: int) -> bool:
    """Count one hit on `key`; True once its window holds more than `limit`."""
    cache.add(key, 0, seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add() and incr()
        cache.add(key, 1, seconds)
        count = 1
    return count > limit


def link_request_allowed(request) -> bool:
    address = request.META.get("REMOTE_ADDR", "")
    return not _over_limit(
        f"pairup:link-requests:{address}",
        limit=LINK_REQUESTS_PER_ADDRESS,
        seconds=LINK_REQUEST_WINDOW,
    )


def link_mail_allowed(user_id: int) -> bool:
    return not _over_limit(
        f"pairup:link-mails:{user_id}",
        limit=LINK_MAILS_PER_ACCOUNT,
        seconds=LINK_MAIL_WINDOW,
    )
