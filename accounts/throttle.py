"""Limits counted in Django's cache: set-password links, and failed sign-ins
per address.

Sign-in failures per (number, address) are django-axes' business. The link
limits keep the two link pages (password reset, roster registration) from
being used to flood an inbox or to hammer the mail server; an account over
its limit is skipped silently, so the pages still say the same thing whether
a number or address exists. The per-address sign-in limit stops one address
from trying number after number: every try costs a password hash (0.23 s of
a core), which axes' per-pair lock never stops.
"""

import math
import time

from django.conf import settings
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


# Failed sign-ins per address, across student numbers -------------------


def _login_window(request) -> tuple[str, float]:
    """Return the address's counter key for this fixed window, and the
    seconds left in the window (windows are aligned to the clock)."""
    seconds = settings.PAIRUP_LOGIN_COOLOFF_MINUTES * 60
    now = time.time()
    window = int(now // seconds)
    address = request.META.get("REMOTE_ADDR", "")
    return f"pairup:login-failures:{address}:{window}", (window + 1) * seconds - now


def login_failure_record(request) -> None:
    """Count one failed sign-in from the request's address."""
    key, _left = _login_window(request)
    _over_limit(
        key,
        limit=settings.PAIRUP_LOGIN_ADDRESS_LIMIT,
        seconds=settings.PAIRUP_LOGIN_COOLOFF_MINUTES * 60,
    )


def login_address_retry_after(request) -> int | None:
    """Return the seconds to wait when the request's address has used up its
    failed sign-ins for this window, else None. Counts nothing: call it
    before any password is hashed."""
    key, left = _login_window(request)
    if cache.get(key, 0) < settings.PAIRUP_LOGIN_ADDRESS_LIMIT:
        return None
    return max(1, math.ceil(left))


def login_address_message(retry_after: int) -> str:
    minutes = math.ceil(retry_after / 60)
    return (
        "Too many failed sign-ins came from your network. Please wait "
        f"{minutes} minute{'s' if minutes != 1 else ''} and try again."
    )
